"""Phone numbers as exports write them, to E.164, through ``phonenumbers``.

Pure. ``phonenumbers`` is the Python port of Google's libphonenumber: it knows each
country's numbering plan, so ``(415) 555-2671`` with the region ``US`` becomes
``+14155552671`` and ``+44 20 7946 0958`` becomes ``+442079460958``. A number written
without ``+`` needs a region (the mapping's ``phone_region``); one with letters
(``1-800-FLOWERS``) is refused rather than spelled out, and one that is not a valid
number of its country is refused too: a problem, never a silent guess.
"""

from __future__ import annotations

import re

__all__ = ["is_region", "looks_like_phone", "to_e164"]

_LETTER = re.compile(r"[^\W\d_]")
# Starts as a number does: +, a digit, or an opening bracket before a digit.
_PHONE_START = re.compile(r"^(?:\+|\(?\d)")
_CACHE_SIZE = 4096
_cache: dict[tuple[str, str | None], tuple[str | None, str | None]] = {}


def is_region(code: str) -> bool:
    """Tell whether ``code`` is a region phonenumbers knows (US, GB, DE...)."""
    import phonenumbers

    return code in phonenumbers.SUPPORTED_REGIONS


def looks_like_phone(text: str) -> bool:
    """Tell whether a participant entry is written as a phone number would start."""
    return _PHONE_START.match(text) is not None


def _convert(text: str, region: str | None) -> tuple[str | None, str | None]:
    import phonenumbers  # on first use: it takes 15 ms to import, and many files have no phones

    if _LETTER.search(text):
        return None, (
            f"'{text}' holds letters, so it is not a phone number; write it in digits "
            "(a name goes as 'Name <phone>')"
        )
    if not text.startswith("+") and region is None:
        return None, (
            f"'{text}' has no country code; set phone_region (such as US) in the config, "
            "or write it with + and its country code"
        )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, f"'{text}' is not a phone number; write it as +14155552671"
    if not phonenumbers.is_valid_number(number):
        where = f" in {region}" if region and not text.startswith("+") else ""
        return None, f"'{text}' is not a valid phone number{where}; check its digits"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def to_e164(text: str, region: str | None) -> tuple[str | None, str | None]:
    """Return (the number in E.164, None), or (None, what is wrong with it)."""
    key = (text, region)
    found = _cache.get(key)
    if found is None:
        found = _convert(text, region)
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[key] = found
    return found
