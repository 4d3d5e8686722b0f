from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import ngettext

from crm import services, signin, tokens
from crm.models import ApiKey, Notification, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    fieldsets = [
        *BaseUserAdmin.fieldsets[:1],
        ("Role", {"fields": ["role"]}),
        *BaseUserAdmin.fieldsets[1:],
        ("Settings", {"fields": ["time_zone", "remind_minutes", "morning_agenda"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "role", "password1", "password2"]}),
    ]

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            tokens.sign_out_everywhere(obj)

    actions = ["unlock_sign_in"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: leads, notes and events keep their people

    @admin.action(description="Unlock sign-in (forget failed sign-in attempts)")
    def unlock_sign_in(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            signin.clear(user.get_username())
        n = len(queryset)
        users = ngettext("%(n)s user", "%(n)s users", n) % {"n": n}
        self.message_user(request, f"Unlocked sign-in for {users}.")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "account_id", "scope_shown", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["acts_as"]
    search_fields = ["name", "account_id"]
    readonly_fields = ["account_id", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "scope", "acts_as", *readonly_fields]
    autocomplete_fields = ["acts_as"]
    actions = ["revoke"]

    @admin.display(description="Scope", ordering="scope")
    def scope_shown(self, key: ApiKey) -> str:
        label = key.get_scope_display()
        return f"{label}: {key.acts_as.username}" if key.acts_as else label

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = services.api_key_create(
            name=obj.name, created_by=request.user, scope=obj.scope, acts_as=obj.acts_as
        )
        obj.pk = key.pk
        obj.account_id = key.account_id
        self.message_user(
            request,
            f"The new API key is {raw} — copy it now: it is shown only once.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset) -> None:
        for key in queryset:
            services.api_key_revoke(api_key=key)
        n = queryset.count()
        self.message_user(
            request, ngettext("Revoked %(n)s API key.", "Revoked %(n)s API keys.", n) % {"n": n}
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: events keep the key that made them


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read only: notifications are written by the domain with the changes they tell of."""

    list_display = ["created_at", "recipient", "kind", "text", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["recipient"]
    search_fields = ["text", "recipient__username"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


admin.site.site_header = "Lead CRM administration"
admin.site.site_title = "Lead CRM admin"
admin.site.index_title = "Users, lists, custom fields and API keys"


# The admin's sign-in form refuses a locked account or address as the web app's does.
admin.site.login_form = signin.AdminSignInForm
