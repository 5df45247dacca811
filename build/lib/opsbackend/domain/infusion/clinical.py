"""Clinical facts the rules lean on, from the product label and published practice.

Each number is a default a deployment may change; check the current label
before a rule depends on one.
"""

from dataclasses import dataclass

# Bag interval (hours) -> pump rate (mL/h) on the blinatumomab label.
LABEL_RATE_ML_PER_HOUR = {24: 10.0, 48: 5.0, 72: 1.8, 96: 1.8, 168: 0.6}
# Preservative-containing bags (72 h, 96 h, 7 days) are not recommended under 5.4 kg.
PRESERVATIVE_INTERVALS_HOURS = (72, 96, 168)
PRESERVATIVE_MIN_WEIGHT_KG = 5.4
RATE_TOLERANCE = 0.05


@dataclass(frozen=True)
class Warning:
    code: str
    message: str


def label_rate(bag_interval_hours: int) -> float:
    return LABEL_RATE_ML_PER_HOUR[bag_interval_hours]


def course_warnings(bag_interval_hours: int, rate_ml_per_hour: float, weight_kg: float):
    """What a pharmacist should look at twice; the course is still accepted."""
    warnings = []
    expected = label_rate(bag_interval_hours)
    if abs(rate_ml_per_hour - expected) > expected * RATE_TOLERANCE:
        warnings.append(
            Warning(
                "rate_mismatch",
                f"{rate_ml_per_hour} mL/h does not match the {bag_interval_hours} h bag "
                f"({expected} mL/h on the label)",
            )
        )
    preservative = bag_interval_hours in PRESERVATIVE_INTERVALS_HOURS
    if preservative and weight_kg < PRESERVATIVE_MIN_WEIGHT_KG:
        warnings.append(
            Warning(
                "preservative_under_min_weight",
                f"preservative-containing {bag_interval_hours} h bags are not recommended "
                f"under {PRESERVATIVE_MIN_WEIGHT_KG} kg (patient weighs {weight_kg} kg)",
            )
        )
    return warnings
