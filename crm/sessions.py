"""Django's database sessions, with the session every page reads found by a query compiled
once (``crm.compiled``). ``SESSION_ENGINE = "crm.sessions"``."""

from __future__ import annotations

from datetime import datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from crm.compiled import CompiledRead
from crm.domain import unstorable

_live_session = CompiledRead(
    Session,
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
    key=str,
    now=datetime,
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        key = self.session_key
        found = [] if unstorable(key) else _live_session(key=key, now=timezone.now())
        if not found:
            self._session_key = None
            return None
        return found[0]
