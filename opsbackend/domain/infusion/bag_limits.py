"""How long a prepared bag may be stored, how cold, and how much it must hold, per drug
and bag interval. Configuration (``BAG_LIMITS``), with these defaults.

Sources: DESIGN.md's clinical table, from the blinatumomab label (check the current
label before a rule depends on a number):
- "a prepared bag without preservative keeps at most 48 h at room temperature (23-27 °C)
  and 8 days refrigerated (2-8 °C), storage time including infusion time; outside these
  limits it is discarded" (the earlier label). That is the 24 h and 48 h bags. The
  preservative-containing 72 h, 96 h and 7-day bags have their own limits on the current
  label, which DESIGN.md does not give: their storage limits are off until configured.
- "a bag holds more than it infuses (priming of the tubing); 24 h at 10 mL/h infuses
  240 mL": the label's preparation for the 24 h and 48 h bags is 270 mL, 30 mL over what
  they infuse. No allowance is known here for the other bags: their check is the bare
  rate x interval, which a bag must cover in any case.
"""

import json
from dataclasses import dataclass, fields, replace

DRUG = "blinatumomab"


@dataclass(frozen=True)
class BagLimits:
    # Storage at room temperature, including the infusion itself (None: no limit known).
    room_hours: float | None = None
    # Storage in the fridge from preparation (None: no limit known).
    fridge_days: float | None = None
    # Volume a bag needs beyond rate x interval: priming of the tubing.
    priming_ml: float = 0.0
    fridge_min_c: float = 2.0
    fridge_max_c: float = 8.0
    # Warmer than this at room temperature is an excursion (None: not checked).
    room_max_c: float | None = None


_PRESERVATIVE_FREE = BagLimits(room_hours=48, fridge_days=8, priming_ml=30, room_max_c=27)
_PRESERVATIVE = BagLimits(room_max_c=27)
DEFAULT_LIMITS = {
    (DRUG, 24): _PRESERVATIVE_FREE,
    (DRUG, 48): _PRESERVATIVE_FREE,
    (DRUG, 72): _PRESERVATIVE,
    (DRUG, 96): _PRESERVATIVE,
    (DRUG, 168): _PRESERVATIVE,
}


@dataclass(frozen=True)
class BagLimitsTable:
    limits: dict

    def for_bag(self, drug: str, interval_hours: int) -> BagLimits:
        """The limits of this drug's bags of this interval; a drug not configured gets
        only the fridge's 2-8 °C and the rate x interval volume check."""
        return self.limits.get((drug.lower(), interval_hours), BagLimits())

    @classmethod
    def from_json(cls, text: str) -> "BagLimitsTable":
        """``{"blinatumomab": {"24": {"room_hours": 48, "priming_ml": 30}}}`` over the
        defaults; a field left out keeps its default."""
        limits = dict(DEFAULT_LIMITS)
        if not text.strip():
            return cls(limits)
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc})") from exc
        names = {f.name for f in fields(BagLimits)}
        if not isinstance(given, dict):
            raise ValueError("give an object of drugs")
        for drug, intervals in given.items():
            if not isinstance(intervals, dict):
                raise ValueError(f"{drug}: give an object of bag intervals in hours")
            for interval, values in intervals.items():
                if not str(interval).isdigit() or not isinstance(values, dict):
                    raise ValueError(f"{drug}: {interval!r} is not a bag interval in hours")
                unknown = set(values) - names
                if unknown:
                    raise ValueError(f"{drug} {interval} h: unknown {sorted(unknown)}")
                if any(not isinstance(v, int | float) and v is not None
                       for v in values.values()):
                    raise ValueError(f"{drug} {interval} h: values are numbers or null")
                key = (drug.lower(), int(interval))
                limits[key] = replace(limits.get(key, BagLimits()), **values)
        return cls(limits)


DEFAULT_TABLE = BagLimitsTable(dict(DEFAULT_LIMITS))
