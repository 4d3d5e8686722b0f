from django.contrib import admin

from appointments.models import Appointment, CalendarFeed


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["lead", "host", "start", "end", "status", "deleted_at"]
    list_filter = ["status"]
    list_select_related = ["lead", "host"]
    date_hierarchy = "start"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # booked through the web app and the APIs, where conflicts are checked

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Users' secret calendar addresses: an administrator can revoke one (delete it); the user
    gets a new address on their next visit of the feed page."""

    list_display = ["user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
