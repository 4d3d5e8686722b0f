"""The leads search's rules, pure (no queries): what text of a lead a search reads and how a
search's words are made to forgive.

A search is case- and accent-insensitive ("muller" finds "Müller", "munchen" and "MÜNCHEN"
find "München") and reads phone numbers as digits ("555-607-9806", "(555) 607 9806" and
"+1 555 607 9806" find a lead stored as ``5556079806``, and ``5556079806`` finds one stored
formatted). Both sides are folded the same way:

- a lead's side by ``lead_search_text``: its name, email, company and city folded
  (``fold``), then the digits of each of its phone numbers. On PostgreSQL the database
  computes it when a lead is written (the SQL function ``crm_lead_search`` of migration
  0023_lead_search_folded fills the column ``search_folded`` of 0024_lead_search_column,
  which a trigram index keeps), on SQLite this very function,
  registered on each connection (``leads.selectors.register_sqlite_search``), which a search
  calls for each lead it reads (SQLite has no trigram index: it reads the table, as before,
  now a few microseconds more a lead);
- a search's side by ``search_terms``: the words of the search, each folded, a phone number
  typed with separators or a country code read as one word of digits.

PostgreSQL's ``unaccent`` and ``fold`` agree on the letters people write (accents, "ß",
"æ", "ø", "ł"...); ``tests/test_lead_fields_search.py`` holds both to the same examples.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

# The columns the search reads, in the order ``crm_lead_search`` takes them: the words first,
# then the phone numbers (read as digits).
WORD_COLUMNS = ("first_name", "last_name", "email", "company", "city")
PHONE_COLUMNS = ("phone", "mobile_phone", "office_phone")
COLUMNS = WORD_COLUMNS + PHONE_COLUMNS

MAX_TERMS = 5  # words of one search; more are ignored

# Letters unaccent turns into others that Unicode's decomposition leaves alone.
_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ħ": "h",
        "Ħ": "H",
        "ı": "i",
    }
)


def _upper(text: str) -> str:
    """``text`` upper-cased one character for one, as the database's UPPER() does (Python
    turns some letters into two)."""
    return "".join(c if len(upper := c.upper()) != 1 else upper for c in text)


def _slow_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# The letters of the Latin blocks (and the combining marks, dropped) folded once, so that
# ``fold`` is one ``str.translate`` for the text people write.
_TABLE = {cp: _slow_fold(chr(cp)) for cp in range(0x80, 0x250)}
_TABLE |= dict.fromkeys(range(0x300, 0x370))  # combining diacritical marks
_TABLE |= _LETTERS
_TABLE = {cp: v for cp, v in _TABLE.items() if v != chr(cp)}


def fold(text: str) -> str:
    """``text`` without accents, upper-cased: "Müller" -> "MULLER", "Straße" -> "STRASSE"."""
    if not text.isascii():
        text = text.translate(_TABLE)
        if not text.isascii():  # beyond the Latin letters: Unicode's decomposition
            text = _slow_fold(text)
    upper = text.upper()
    return upper if len(upper) == len(text) else _upper(text)


_NOT_DIGITS = re.compile(r"[^0-9]+")


def digits(text: str) -> str:
    return text if text.isdigit() or not text else _NOT_DIGITS.sub("", text)


def lead_search_text(*values: str | None) -> str:
    """The text a search reads of one lead, from its ``COLUMNS`` values in that order: the words
    folded, then each phone number's digits, a space between each (so a search word, which
    has no space, is found in it exactly when it is in one of them)."""
    first, last, email, company, city, phone, mobile, office = values
    words = [_fold_value(v) for v in (first, last, email, company, city)]
    return " ".join((*words, digits(phone or ""), digits(mobile or ""), digits(office or "")))


@functools.lru_cache(maxsize=4096)
def _fold_cached(text: str) -> str:
    return fold(text)


def _fold_value(text: str | None) -> str:
    """One column's value folded: most are ASCII (upper-cased at once); the others repeat
    from lead to lead (first names, cities, companies), so their folds are kept."""
    if not text:
        return ""
    return text.upper() if text.isascii() else _fold_cached(text)


# A phone number as people type it: digits with spaces, dashes, dots, slashes or brackets
# between them, maybe a "+" or "(" before; at least five digits (see ``_phone_digits``).
_PHONE = re.compile(r"(?<![\w+])(?:\+|\()?\d[\d\s().\-/]*\d\)?(?![\w])")
_MIN_PHONE_DIGITS = 5


def _phone_digits(typed: str) -> str:
    """The digits of a typed phone number that a stored one contains, whatever country code or
    trunk prefix either has: the national number of an international one ("+1 555 607 9806",
    "0049 89 1234567"), without a trunk "0" ("089 1234567") or NANP's leading "1"."""
    number = digits(typed)
    international = typed.lstrip("(").startswith("+") or number.startswith("00")
    if international:
        try:
            parsed = phonenumbers.parse("+" + number.removeprefix("00"), None)
        except phonenumbers.NumberParseException:
            pass
        else:
            return phonenumbers.national_significant_number(parsed).lstrip("0") or number
    if len(number) == 11 and number.startswith("1"):
        return number[1:]
    return number.lstrip("0") or number


def search_terms(value: str) -> list[str]:
    """The folded words of a search (at most ``MAX_TERMS``), each a lead must contain; a phone
    number typed with separators is one word of its digits."""

    def as_digits(match: re.Match[str]) -> str:
        typed = match.group(0)
        if len(digits(typed)) < _MIN_PHONE_DIGITS:
            return typed
        return f" {_phone_digits(typed.strip())} "

    return [fold(term) for term in _PHONE.sub(as_digits, value).split()[:MAX_TERMS]]
