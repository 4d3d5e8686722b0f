"""The lead rules every channel shares: the web form, the CSV import, the REST API, the JSON-RPC
API and lead_set. Each channel translates its own wire format and calls these, so the same lead
comes out the same whichever way it came in (docs: README "Lead rules, every channel").

Pure functions: no queries. The status and source lists are given as ``{key: label}`` (the
assignable entries in the administrators' order, as ``leads.services.lead_choices`` loads them).

- **Full name**: ``split_full_name`` — nameparser; the first name is the given names (first and
  middle), the last name the family name and any suffix; titles and nicknames are left out.
- **Status and source**: ``resolve_choice`` — a key, or a label in any case; a channel whose
  source system names entries otherwise says so with one explicit table or flag (JSON-RPC's
  ``leadStatus`` values, lead_set's positions).
- **Tags**: ``split_tags`` and ``tag_errors`` — one set of separators; an over-long tag is
  refused, never cut.
- **Phone numbers**: ``normalize_phone`` — the separators people type are dropped.
- **Required contact fields**: ``REQUIRED_CONTACT_FIELDS``, one table for the five channels.
- **Merging two leads**: ``merge_default`` — whose value a merge keeps for a field nobody chose
  (the merge page shows it; ``leads.services.lead_merge`` applies it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from nameparser import HumanName

# --- channels and the contact fields each requires -------------------------------------------

WEB_FORM = "web_form"
CSV_IMPORT = "csv_import"
REST = "rest"
JSON_RPC = "json_rpc"
LEAD_SET = "lead_set"
CHANNELS = (WEB_FORM, CSV_IMPORT, REST, JSON_RPC, LEAD_SET)

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
_ALL = CONTACT_FIELDS
_NONE: tuple[str, ...] = ()

# The contact fields (model names) a channel refuses a lead without, on create and on update.
# REST (seed 004) documents all four as required on create/lead and again on update/lead, and
# the web form has exactly the REST API's validation (SPEC §8). JSON-RPC requires emailAddress
# on create (seed 002); an update names its lead by id or email instead. lead_set (seed 003)
# marks every parameter optional, and a CSV row may hold any of the columns. The README and
# docs/*.md show this table; tests/test_channels_agree.py holds every channel to it.
REQUIRED_CONTACT_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    WEB_FORM: {"create": _ALL, "update": _ALL},
    REST: {"create": _ALL, "update": _ALL},
    JSON_RPC: {"create": ("email",), "update": _NONE},
    LEAD_SET: {"create": _NONE, "update": _NONE},
    CSV_IMPORT: {"create": _NONE, "update": _NONE},
}


def required_contact_fields(channel: str, *, creating: bool) -> tuple[str, ...]:
    return REQUIRED_CONTACT_FIELDS[channel]["create" if creating else "update"]


def missing_contact_fields(channel: str, data: Mapping[str, object], *, creating: bool) -> list:
    """The required contact fields (model names) ``data`` leaves out or leaves blank."""
    return [
        name
        for name in required_contact_fields(channel, creating=creating)
        if not str(data.get(name) or "").strip()
    ]


# --- full names ------------------------------------------------------------------------------


def split_full_name(text: str) -> tuple[str, str]:
    """``(first name, last name)`` of a full name, by nameparser.

    The first name is the given names (first and middle), the last name the family name with
    its particles and any suffix: ``Mary Ann Lee`` -> ``Mary Ann`` / ``Lee``; ``Dr. John Q.
    Public Jr.`` -> ``John Q.`` / ``Public Jr.``; ``Doe, John`` -> ``John`` / ``Doe``; ``Juan de
    la Vega`` -> ``Juan`` / ``de la Vega``; one word is a first name. Titles (Dr., Mrs.) and
    nicknames (in quotes or brackets) are left out; a text that is nothing but a title stays
    whole, as the first name.
    """
    text = " ".join(text.split())
    if not text:
        return "", ""
    name = HumanName(text)
    first = " ".join(part for part in (name.first, name.middle) if part)
    last = " ".join(part for part in (name.last, name.suffix) if part)
    if not (first or last):
        return text, ""
    return first, last


# --- statuses and sources --------------------------------------------------------------------


def resolve_choice(
    value: str,
    options: Mapping[str, str],
    *,
    aliases: Mapping[str, str] | None = None,
    by_position: bool = False,
) -> str | None:
    """The key of the list entry ``value`` names, or None when it names none.

    ``options`` is ``{key: label}`` of the entries a lead may be given, in the administrators'
    order. Spaces around ``value`` are ignored, and in this order it may be:

    1. with ``aliases`` (``{value: key}``), one of them in any case: the JSON-RPC API's
       ``leadStatus`` values (``open``, ``qualified``...), the admin-editable mapping of seeds
       000-002;
    2. with ``by_position``, a whole number: the entry at that position, counting from 1
       (lead_set's ``status``, an integer in seed 003; out of range names none);
    3. a key, exactly, then in any case;
    4. a label in any case (the first entry in order, should two share it).
    """
    text = value.strip()
    wanted = text.casefold()
    if aliases:
        for alias, key in aliases.items():
            if alias.casefold() == wanted and key in options:
                return key
    if by_position and re.fullmatch(r"[0-9]{1,6}", text):
        keys = list(options)
        position = int(text)
        return keys[position - 1] if 1 <= position <= len(keys) else None
    if text in options:
        return text
    for key in options:
        if key.casefold() == wanted:
            return key
    for key, label in options.items():
        if label.casefold() == wanted:
            return key
    return None


# --- tags ------------------------------------------------------------------------------------

# A comma, semicolon, vertical bar or line break separates tags, in every channel; a tag name
# never holds one.
TAG_SEPARATORS = re.compile(r"[,;|\r\n]")
TAG_LENGTH = 100  # Tag.name's max_length
MAX_TAGS = 100
TAG_TOO_LONG = f"Ensure each tag has no more than {TAG_LENGTH} characters."
TOO_MANY_TAGS = f"Ensure there are no more than {MAX_TAGS} tags."


def split_tags(value: str | Iterable[str]) -> list[str]:
    """Tag names from a text (``"vip, fair;web|spring"``) or a list of texts (each split
    too): stripped, blanks left out, each name once, in the order given."""
    texts = [value] if isinstance(value, str) else list(value)
    names = (name.strip() for text in texts for name in TAG_SEPARATORS.split(text))
    return list(dict.fromkeys(name for name in names if name))


def tag_errors(names: Iterable[str]) -> list[str]:
    """Why these tag names (``split_tags``'s) can't be stored: a tag over ``TAG_LENGTH``
    characters or more than ``MAX_TAGS`` tags. An over-long tag is refused, never cut: a cut
    tag would silently become another tag."""
    names = list(names)
    errors = []
    if any(len(name) > TAG_LENGTH for name in names):
        errors.append(TAG_TOO_LONG)
    if len(names) > MAX_TAGS:
        errors.append(TOO_MANY_TAGS)
    return errors


# --- phone numbers ---------------------------------------------------------------------------

# Separators people type in a phone number (``(132) 123-1234``): not part of the number.
PHONE_SEPARATORS = r"[\s\-().]"


def normalize_phone(value: str) -> str:
    """``(132) 123-1234`` -> ``1321231234``: how every phone number is stored and searched."""
    return re.sub(PHONE_SEPARATORS, "", value)


# --- merging two leads -----------------------------------------------------------------------

MERGE_KEEP = "keep"
MERGE_OTHER = "other"
# People are only given on purpose: a merge never copies them unless chosen.
MERGE_ONLY_IF_CHOSEN = frozenset({"owner", "assignee"})


# Flags whose default says nothing (a lead is subscribed and active unless told otherwise): at
# that value they are blank to a merge, so an "Unsubscribed" of either lead survives it.
MERGE_FLAG_DEFAULTS = {"is_unsubscribed": False, "active": True}


def _blank(value: object, name: str = "") -> bool:
    if name in MERGE_FLAG_DEFAULTS and value is MERGE_FLAG_DEFAULTS[name]:
        return True
    return value is None or value == ""


def merge_default(name: str, mine: object, theirs: object) -> str:
    """Whose value a merge keeps for a field nobody chose: the kept lead's, unless it is blank
    (a flag at its default is blank) and the other's is not, so the non-empty value wins for
    every field; but people, owner and assignee, are only taken when chosen."""
    if name not in MERGE_ONLY_IF_CHOSEN and _blank(mine, name) and not _blank(theirs, name):
        return MERGE_OTHER
    return MERGE_KEEP
