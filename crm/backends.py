"""Django's sign-in backend, with the user a session names read by a query compiled once
(``crm.compiled``): every page reads it."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from crm import selectors


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = selectors.session_user(pk) if 0 < pk < 2**63 else None
        return user if user is not None and self.user_can_authenticate(user) else None
