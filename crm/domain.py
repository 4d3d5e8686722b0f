"""What every domain service shares: who is acting, and the errors a rule can raise.

Field-level input errors are Django ``ValidationError``s (a dict keyed by model field).
Everything else a rule refuses is a ``DomainError`` carrying a stable ``code``; each adapter
(HTML views, REST, JSON-RPC, lead_set) maps codes to its own wire format and wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.models import ApiKey, KeyScope, User
from crm.roles import Role


@dataclass(frozen=True)
class Actor:
    """Who performs a change: a signed-in user, an API key, or a user through an API key.

    An API key acting alone (JSON-RPC, lead_set) has Administrator rights over the account,
    unless its scope says otherwise (``for_key``); a read-only key changes nothing, whoever
    uses it (``leads.access`` asks ``read_only``).
    """

    user: User | None = None
    api_key: ApiKey | None = None

    @classmethod
    def for_key(cls, key: ApiKey) -> Actor:
        """The actor of a key used alone: the user it acts as, if its scope names one."""
        return cls(user=key.acts_as if key.scope == KeyScope.USER else None, api_key=key)

    @property
    def read_only(self) -> bool:
        return self.api_key is not None and self.api_key.scope == KeyScope.READ_ONLY

    @property
    def role(self) -> str:
        if self.user is not None:
            return self.user.role
        return Role.ADMINISTRATOR

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    def event_fields(self) -> dict:
        return {"actor": self.user, "api_key": self.api_key}


# A read-only API key's refusal of any change, the same on every API.
READ_ONLY_CODE = "read_only_key"
READ_ONLY_KEY = "This API key is read-only: it may read but not change anything."

YES = frozenset({"1", "true", "yes", "on"})
NO = frozenset({"0", "false", "no", "off"})


def yes_no(text: str) -> bool | None:
    """A yes/no answer as people and partner systems write it ("1", "true", "Yes", "off"...),
    or None when it is neither."""
    word = text.strip().lower()
    return True if word in YES else False if word in NO else None


_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why no database can store (or compare) this text, if so: a NUL or a lone surrogate."""
    if "\x00" in text:
        return "Null characters are not allowed."
    if _SURROGATE.search(text):
        return "Surrogate characters are not allowed."
    return None


class DomainError(Exception):
    """A rule refused the change. ``field`` names the model field the UI shows it next to."""

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class NotFound(DomainError):
    """The object does not exist, or the actor may not see it (the two are indistinguishable)."""


class Forbidden(DomainError):
    """The actor sees the object but may not do this to it."""


class RuleViolation(DomainError):
    """A business rule refuses the change (conflicting appointment, past date, ...)."""


# A value that is none of a list's entries (a status, source, role, picklist value...).
NOT_A_CHOICE = '"{}" is not a valid choice.'
