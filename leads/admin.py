from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import ngettext

from crm.domain import Actor, DomainError
from crm.web import json_download
from leads import privacy, services
from leads.models import (
    DELETED_STATUS,
    Campaign,
    DeletedLead,
    Field,
    Lead,
    LeadFile,
    LeadList,
    LeadNote,
    Source,
    Status,
    Tag,
)


class ChoiceListAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "description", "color", "order", "active"]
    list_editable = ["order", "active"]
    search_fields = ["key", "label"]

    def get_readonly_fields(self, request, obj=None):
        return ["key"] if obj else []  # keys are referenced by the APIs: fixed once created


@admin.register(Status)
class StatusAdmin(ChoiceListAdmin):
    list_display = [*ChoiceListAdmin.list_display, "rpc_status"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or obj.key != DELETED_STATUS

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "active"] if obj and obj.is_reserved else fields


@admin.register(Source)
class SourceAdmin(ChoiceListAdmin):
    pass


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Field)
class FieldAdmin(admin.ModelAdmin):
    list_display = ["label", "system_name", "data_type", "is_custom", "is_required", "is_active"]
    list_filter = ["is_custom", "is_active", "data_type"]
    search_fields = ["label", "system_name"]
    readonly_fields = ["system_name", "relationship", "is_custom"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_custom:
            return [f.name for f in Field._meta.concrete_fields]  # built-in: listed, not edited
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Field, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)  # system_name is not a form field
            return
        attrs = {k: v for k, v in form.cleaned_data.items() if k not in {"label", "data_type"}}
        field = services.field_create(
            label=form.cleaned_data["label"], data_type=form.cleaned_data["data_type"], **attrs
        )
        obj.pk, obj.system_name = field.pk, field.system_name

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: stored values keep their system name


class LeadNoteInline(admin.TabularInline):
    model = LeadNote
    fields = ["text", "author", "created_at", "deleted_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LeadFileInline(admin.TabularInline):
    model = LeadFile
    fields = ["name", "size", "uploaded_by", "api_key", "created_at", "deleted_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LeadAdminBase(admin.ModelAdmin):
    list_display = [
        "__str__",
        "email",
        "phone",
        "status",
        "source",
        "owner",
        "assignee",
        "created_at",
    ]
    list_select_related = ["status", "source", "owner", "assignee"]
    search_fields = ["first_name", "last_name", "email", "phone", "company", "slug"]
    readonly_fields = ["slug", "created_at", "updated_at", "status_before_delete"]
    show_full_result_count = False
    inlines = [LeadNoteInline, LeadFileInline]

    def has_add_permission(self, request) -> bool:
        return False  # leads are created through the web app and the APIs

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # edits go through the domain services (web app, APIs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # never hard-deleted

    def _run(self, request: HttpRequest, queryset, service, verb: str) -> None:
        actor = Actor(user=request.user)
        done = 0
        for lead in queryset:
            try:
                service(actor=actor, lead=lead)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{lead}: {exc.message}", messages.ERROR)
        if done:
            leads = ngettext("%(n)s lead", "%(n)s leads", done) % {"n": done}
            self.message_user(request, f"{verb} {leads}.", messages.SUCCESS)

    @admin.action(description="Export personal data of the selected leads (JSON)")
    def export_personal_data(self, request: HttpRequest, queryset):
        actor = Actor(user=request.user)
        try:
            exported = {
                lead.slug: privacy.personal_data(actor=actor, lead=lead) for lead in queryset
            }
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return None
        return json_download(exported, "personal-data.json")

    @admin.action(description="Erase personal data of the selected leads (irreversible)")
    def erase_personal_data(self, request: HttpRequest, queryset):
        if request.POST.get("confirmed") != "1":  # ask first, as Django's own delete does
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase personal data?",
                "leads": list(queryset),
                "opts": self.model._meta,
                "action": "erase_personal_data",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/leads/erase_personal_data.html", context)
        self._run(request, queryset, privacy.personal_data_erase, "Erased the personal data of")
        return None


@admin.register(Lead)
class LeadAdmin(LeadAdminBase):
    list_filter = ["status", "source", "campaign"]
    actions = ["soft_delete", "export_personal_data", "erase_personal_data"]

    def get_queryset(self, request):
        return super().get_queryset(request).alive()

    @admin.action(description="Delete the selected leads (soft delete, restorable)")
    def soft_delete(self, request: HttpRequest, queryset) -> None:
        self._run(request, queryset, services.lead_delete, "Deleted")


@admin.register(DeletedLead)
class DeletedLeadAdmin(LeadAdminBase):
    actions = ["restore", "export_personal_data", "erase_personal_data"]

    def get_queryset(self, request):
        return super().get_queryset(request).deleted()

    @admin.action(description="Restore the selected leads")
    def restore(self, request: HttpRequest, queryset) -> None:
        self._run(request, queryset, services.lead_restore, "Restored")


@admin.register(LeadList)
class LeadListAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_at"]
    search_fields = ["name"]
