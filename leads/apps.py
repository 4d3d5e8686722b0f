from django.apps import AppConfig
from django.db.backends.signals import connection_created


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads.selectors import register_sqlite_search

        # SQLite computes the leads search's text with a Python function (leads.search).
        connection_created.connect(register_sqlite_search, dispatch_uid="leads_sqlite_search")
