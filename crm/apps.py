from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Accounts and API access"

    def ready(self) -> None:
        from crm import signin, storage  # noqa: F401 - sign-in counting; collectstatic check
        from crm.api import schema  # noqa: F401 - registers the OpenAPI auth extension
