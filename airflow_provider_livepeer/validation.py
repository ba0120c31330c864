"""Checks of what a caller passes, made before anything is sent: ids, URLs and numbers.

Each raises a :class:`ValueError` naming the bad value and what was expected.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: The schemes of the URLs Livepeer reads a video from.
SOURCE_SCHEMES = ("http", "https", "ipfs", "ar")
_SHOWN_VALUE_CHARS = 60


def validate_livepeer_id(value: object, what: str = "Livepeer task id") -> str:
    """Check a Livepeer id before it is put in a URL path.

    :param value: the id to check.
    :param what: what the id is, for the error message.
    :returns: the id, unchanged.
    :raises ValueError: the id is not 1 to 128 characters of letters, digits, ``_`` or ``-``.
    """
    if isinstance(value, str) and _ID_PATTERN.fullmatch(value):
        return value
    shown = repr(value)
    if len(shown) > _SHOWN_VALUE_CHARS:
        shown = f"{shown[:_SHOWN_VALUE_CHARS]}... ({len(value) if isinstance(value, str) else '?'} chars)"
    expected = "1 to 128 characters of letters, digits, '_' or '-'"
    if not isinstance(value, str):
        expected = f"a string of {expected}, not {type(value).__name__}"
    raise ValueError(f"Invalid {what} {shown}: expected {expected}.")


def validate_url(value: object, what: str, schemes: tuple[str, ...] = SOURCE_SCHEMES) -> str:
    """Check a URL Livepeer is asked to read from or write to, before anything is sent.

    :param value: the URL.
    :param what: what the URL is for, for the error message.
    :param schemes: the schemes Livepeer accepts there.
    :returns: the URL without surrounding blanks.
    :raises ValueError: not a string, empty, or not of one of ``schemes``.
    """
    expected = f"a {'/'.join(schemes)} URL such as https://example.com/video.mp4"
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Invalid {what} {value!r}: expected {expected}.")
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in schemes or not (parts.netloc or parts.path.strip("/")):
        raise ValueError(f"Invalid {what} {value!r}: expected {expected}.")
    return value.strip()


def finite_number(value: object, what: str, minimum: float, unit: str = "seconds") -> float:
    """A finite number of at least ``minimum``, from a number or a numeric string (as templates render).

    :param value: the number.
    :param what: what the number is, for the error message.
    :param minimum: the smallest accepted value.
    :param unit: what the number counts, for the error message.
    :raises ValueError: anything else (a bool, a non-numeric string, NaN, infinity, too small), naming
        ``what`` and the value.
    """
    try:
        number = (
            float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        )
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < minimum:
        raise ValueError(f"Invalid {what} {value!r}: expected {unit}, a finite number >= {minimum:g}.")
    return number
