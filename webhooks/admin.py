import json

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import ngettext

from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Subscription


class SubscriptionForm(forms.ModelForm):
    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if errors := services.url_errors(url):
            raise forms.ValidationError(errors)
        return url


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["url", "api_key", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "api_key__name", "api_key__account_id"]
    list_select_related = ["api_key"]
    actions = ["deactivate"]

    def get_fields(self, request: HttpRequest, obj: Subscription | None = None) -> list[str]:
        if obj is None:
            return ["api_key", "url"]
        return ["api_key", "url", "secret", "active", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Subscription | None = None):
        if obj is None:
            return []
        return ["api_key", "url", "secret", "created_at"]

    def save_model(self, request: HttpRequest, obj: Subscription, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        subscription, _secret = services.subscription_create(api_key=obj.api_key, url=obj.url)
        obj.pk = subscription.pk
        self.message_user(
            request, "Subscribed. Its POSTs are signed with the secret shown on this page."
        )

    @admin.action(description="Deactivate the selected subscriptions")
    def deactivate(self, request: HttpRequest, queryset) -> None:
        for subscription in queryset:
            services.subscription_deactivate(subscription=subscription)
        n = len(queryset)
        self.message_user(
            request,
            ngettext("Deactivated %(n)s subscription.", "Deactivated %(n)s subscriptions.", n)
            % {"n": n},
        )


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["started_at", "duration_ms", "status_code", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "delivery_id",
        "subscription",
        "status",
        "attempts",
        "lead_count",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "subscription"]
    search_fields = ["delivery_id", "subscription__url"]
    list_select_related = ["subscription"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "delivery_id",
        "subscription",
        "status",
        "attempts",
        "lead_ids",
        "created_at",
        "next_attempt_at",
        "give_up_at",
        "locked_until",
        "delivered_at",
        "last_error",
        "sent_body",
    ]
    fields = readonly_fields
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    @admin.display(description="body")
    def sent_body(self, delivery: Delivery) -> str:
        """The body as sent, indented to read (the bytes sent are the stored, compact ones)."""
        if not delivery.body:
            return "-"
        try:
            text = json.dumps(json.loads(delivery.body), indent=2)
        except ValueError:
            text = delivery.body
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)

    @admin.display(description="leads")
    def lead_count(self, delivery: Delivery) -> int:
        return len(delivery.lead_ids)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request: HttpRequest, queryset) -> None:
        count = 0
        for delivery in queryset:
            services.delivery_redeliver(delivery=delivery)
            count += 1
        queued = ngettext(
            "Queued %(n)s delivery to be sent again.",
            "Queued %(n)s deliveries to be sent again.",
            count,
        )
        self.message_user(request, queued % {"n": count}, messages.SUCCESS)
