"""Phone numbers in E.164, parsed and validated with ``phonenumbers``."""

from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "US"


class InvalidPhoneNumber(ValueError):
    pass


# Every SMS and call parses its From and To, every contact written its phone (~50 us
# each): the same few thousand staff, family and Twilio numbers, so a worker keeps what
# it parsed. A refusal is not kept.
@lru_cache(maxsize=4096)
def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """Normalise a number as people type it ("(415) 555-2671") to "+14155552671"."""
    parsed = _parsed(raw, region)
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("Not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def has_extension(raw: str, region: str = DEFAULT_REGION) -> bool:
    """Whether the number as typed names an extension ("... ext. 12"), which E.164 drops."""
    try:
        return bool(_parsed(raw, region).extension)
    except InvalidPhoneNumber:
        return False


def _parsed(raw: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"Not a phone number: {exc}") from exc
