from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from leads.signals import leads_changed
        from webhooks.services import record_lead_changes

        leads_changed.connect(record_lead_changes, dispatch_uid="webhooks.record_lead_changes")
