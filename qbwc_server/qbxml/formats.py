"""Values in the forms QuickBooks stores: Windows-1252 text (checked, transliterated, or cut
on purpose) and numbers in the fixed-point forms of its AMTTYPE, PRICETYPE, QUANTYPE and
PERCENTTYPE. What cannot be stored is a `BuildError`, never a silent change. Knows no element.

    QbxmlError (core.py)
     └── BuildError   validation_failed   a value no request may carry (also a ValueError)
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import ClassVar, Literal

from anyascii import anyascii

from qbwc_server.qbxml.core import QbxmlError, QbxmlVersion

#: What to do with characters outside Windows-1252: the nearest form QuickBooks can store, a
#: BuildError (values that identify a record), or "?" (`qb_text`'s old behaviour).
NonCp1252 = Literal["transliterate", "refuse", "replace"]

#: Characters XML 1.0 cannot carry at all (control characters other than tab, LF, CR; surrogates).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Where our rule is nearer than anyascii's: arrows keep their direction ("→" is ">" there).
_NEAREST = {"→": "->", "←": "<-", "↔": "<->", "⇒": "=>", "⇐": "<=", "⇔": "<=>"}


class BuildError(QbxmlError, ValueError):
    """A request cannot be built as asked: `field` is the element path (or request) at fault and
    `limit` what it crossed (a max length, the qbXML version needed, or the rule in words).

    A ValueError too, like the service's other bad-input errors, so callers that caught the
    builders' ValueError still do.
    """

    code: ClassVar[str] = "validation_failed"

    def __init__(self, message: str, *, field: str, limit: int | QbxmlVersion | str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit


# -- text ------------------------------------------------------------------------------------


def is_storable(value: str) -> bool:
    """Whether QuickBooks stores `value` as given: XML-legal and all in Windows-1252, once
    composed (NFC: a decomposed "e" + accent is the "é" QuickBooks stores, the same text).
    """
    composed = unicodedata.normalize("NFC", value)
    return not _XML_INVALID.search(composed) and _encodable(composed)


def transliterate(value: str) -> str:
    """`value` in its nearest Windows-1252 form, character by character, never a bare "?".

    Text is composed first (NFC). Windows-1252 characters stay ("é", "€", the en dash); others
    lose the accents Windows-1252 lacks, keeping those it has ("ő" -> "o", "ǘ" -> "ü", "ﬁ" ->
    "fi"); arrows become "->" and the like; anything else is anyascii's romanisation ("ł" -> "l",
    "Москва" -> "Moskva", "😀" -> ":grinning:"). Characters without any form (zero-width,
    private use) and the control characters XML cannot carry are dropped.
    """
    return "".join(_nearest(char) for char in _XML_INVALID.sub("", unicodedata.normalize("NFC", value)))


def qb_text(value: str, max_length: int | None = None) -> str:
    """`value` with characters XML cannot carry dropped and those outside Windows-1252 as "?";
    cut to `max_length` when given: only for text where cutting is deliberate (`checked_text`
    refuses instead).
    """
    safe = _XML_INVALID.sub("", value).encode("cp1252", errors="replace").decode("cp1252")
    return safe[:max_length] if max_length is not None else safe


def checked_text(
    value: str,
    *,
    field: str,
    max_length: int | None,
    truncate: bool = False,
    non_cp1252: NonCp1252 = "transliterate",
) -> str:
    """`value` as QuickBooks will store it, or a BuildError: longer than `max_length` (counted
    after transliteration, as QuickBooks counts) unless `truncate`, or outside Windows-1252 when
    `non_cp1252="refuse"` (for values that identify a record; `is_storable` says so beforehand).
    """
    if non_cp1252 == "refuse":
        text = unicodedata.normalize("NFC", value)
        if not is_storable(text):
            bad = "".join(sorted({c for c in text if not is_storable(c)}))
            raise BuildError(
                f"{field}: QuickBooks cannot store {bad!a} (only Windows-1252 text)",
                field=field,
                limit="Windows-1252",
            )
    elif non_cp1252 == "transliterate":
        text = transliterate(value)
    else:
        text = qb_text(value)
    if max_length is not None and len(text) > max_length:
        if not truncate:
            raise BuildError(
                f"{field} is {len(text)} characters; QuickBooks stores at most {max_length}",
                field=field,
                limit=max_length,
            )
        text = text[:max_length]
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _nearest(char: str) -> str:
    if _encodable(char):
        return char
    if char in _NEAREST:
        return _NEAREST[char]
    kept = ""
    for part in unicodedata.normalize("NFKD", char):
        if not unicodedata.combining(part):
            kept += part
        elif _encodable(composed := unicodedata.normalize("NFC", kept + part)):
            kept = composed  # Windows-1252 has the letter with this accent: keep it
    return kept if kept and _encodable(kept) else anyascii(char)


# -- numbers ---------------------------------------------------------------------------------
# QuickBooks rounds money half away from zero (ROUND_HALF_UP), as accountants do and as it shows
# its own totals; Python's default (half to even) would send 0.125 as 0.12 where QuickBooks'
# arithmetic on the same figures gives 0.13. Values never go out in exponent notation.

#: Wide enough for every value the range checks let through, so quantize never traps.
_CONTEXT = Context(prec=60, rounding=ROUND_HALF_UP)
_CENT = Decimal("0.01")
_FIVE_PLACES = Decimal("0.00001")


def format_amount(value: Decimal | int, field: str = "AMTTYPE") -> str:
    """An AMTTYPE (amounts, balances): exactly two decimals, at most 13 digits before them."""
    number = _decimal(value, field, "AMTTYPE", integer_digits=13)
    rounded = number.quantize(_CENT, rounding=ROUND_HALF_UP, context=_CONTEXT)
    return _fixed(rounded, field, "AMTTYPE", integer_digits=13)


def format_price(value: Decimal | int, field: str = "PRICETYPE") -> str:
    """A PRICETYPE (rates, unit prices): at most 5 decimals and 10 digits before them."""
    return _up_to_five_places(value, field, "PRICETYPE")


def format_quantity(value: Decimal | int, field: str = "QUANTYPE") -> str:
    """A QUANTYPE: at most 5 decimals and 10 digits before them."""
    return _up_to_five_places(value, field, "QUANTYPE")


def format_percent(value: Decimal | int, field: str = "PERCENTTYPE") -> str:
    """A PERCENTTYPE, in percent (15 is 15%): at most 5 decimals and 10 digits before them."""
    return _up_to_five_places(value, field, "PERCENTTYPE")


def format_float(value: Decimal | int, field: str = "FLOATTYPE") -> str:
    """A FLOATTYPE (an exchange rate): an xsd:decimal, written out in full."""
    return format(_decimal(value, field, "FLOATTYPE", integer_digits=None), "f")


def _up_to_five_places(value: Decimal | int, field: str, type_name: str) -> str:
    number = _decimal(value, field, type_name, integer_digits=10)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -5:
        number = number.quantize(_FIVE_PLACES, rounding=ROUND_HALF_UP, context=_CONTEXT)
    return _fixed(number, field, type_name, integer_digits=10)


def _decimal(value: Decimal | int, field: str, type_name: str, *, integer_digits: int | None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{field}: a {type_name} is written from a Decimal or an int, not {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise BuildError(f"{field}: {value} is not a number", field=field, limit=type_name)
    if integer_digits is not None and number.copy_abs() >= Decimal(10) ** integer_digits:
        _too_large(number, field, type_name, integer_digits)
    return number


def _fixed(number: Decimal, field: str, type_name: str, *, integer_digits: int) -> str:
    if number.copy_abs() >= Decimal(10) ** integer_digits:  # rounding carried into one digit more
        _too_large(number, field, type_name, integer_digits)
    return format(number.copy_abs() if number.is_zero() else number, "f")  # never "-0.00"


def _too_large(number: Decimal, field: str, type_name: str, integer_digits: int) -> None:
    raise BuildError(
        f"{field}: {number:f} has more than {integer_digits} digits before the point ({type_name})",
        field=field,
        limit=type_name,
    )
