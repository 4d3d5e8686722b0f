import base64
import re
import secrets
import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import EmailValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from leads.rules import TAG_LENGTH

DELETED_STATUS = "deleted"

phone_validator = RegexValidator(
    regex=r"^\+?1?[0-9]{9,15}$",
    message="Phone number must be entered in the format: '999999999'. Up to 15 digits allowed.",
)
email_validator = EmailValidator(message="Invalid email.")


def new_slug() -> str:
    """80 random bits as 16 lowercase base32 characters: URL-safe and not guessable."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


class ChoiceListQuerySet(models.QuerySet):
    def assignable(self) -> "ChoiceListQuerySet":
        """The entries a lead may be given: the active ones, never the reserved ``deleted``."""
        return self.filter(active=True).exclude(pk=DELETED_STATUS)


class ChoiceList(models.Model):
    """An admin-editable list entry whose key never changes once created."""

    key = models.SlugField(max_length=50, primary_key=True)
    label = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    color = models.CharField(
        max_length=7,
        default="#6b7280",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour such as #1d4ed8.")],
    )
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    objects = ChoiceListQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["order", "key"]

    def __str__(self) -> str:
        return self.label


class Status(ChoiceList):
    # The JSON-RPC API's ``leadStatus`` (SharpSpring: open, unqualified, qualified, contact,
    # contactWithOpp). Reads answer it for this status; a write of that value takes the first
    # status (in order) that maps to it.
    rpc_status = models.CharField(
        "JSON-RPC leadStatus",
        max_length=32,
        blank=True,
        help_text="The leadStatus value partners of the JSON-RPC API see for this status.",
    )

    class Meta(ChoiceList.Meta):
        verbose_name_plural = "statuses"

    @property
    def is_reserved(self) -> bool:
        return self.key == DELETED_STATUS


class Source(ChoiceList):
    pass


class Campaign(models.Model):
    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=150, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=TAG_LENGTH, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadQuerySet(models.QuerySet):
    def alive(self) -> "LeadQuerySet":
        return self.exclude(status_id=DELETED_STATUS)

    def deleted(self) -> "LeadQuerySet":
        return self.filter(status_id=DELETED_STATUS)


def lead_name(slug: str, first_name: str, last_name: str, email: str) -> str:
    """How pages and messages name a lead: its full name, else its email, else its slug."""
    return f"{first_name} {last_name}".strip() or email or slug


class Lead(models.Model):
    """A prospect. ``id`` and ``slug`` are immutable; deleting only sets the status ``deleted``."""

    slug = models.CharField(max_length=32, unique=True, default=new_slug, editable=False)

    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True, validators=[email_validator])
    phone = models.CharField(max_length=255, blank=True, validators=[phone_validator])
    mobile_phone = models.CharField(max_length=255, blank=True)
    office_phone = models.CharField(max_length=255, blank=True)
    phone_extension = models.CharField(max_length=255, blank=True)
    fax = models.CharField(max_length=255, blank=True)
    company = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)
    website = models.CharField(max_length=255, blank=True)
    industry = models.CharField(max_length=255, blank=True)
    persona = models.CharField(max_length=128, blank=True)
    description = models.TextField(blank=True)
    street = models.CharField(max_length=255, blank=True)
    address_2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=255, blank=True)
    zipcode = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=255, blank=True)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    location = models.CharField(max_length=255, blank=True)
    message = models.CharField(max_length=255, blank=True)

    # Status and source are indexed by the composite indexes below (status or source first),
    # and the status a deleted lead had by a partial one: every index is written by every
    # insert, and a million-lead table pays for each one it does not read.
    status = models.ForeignKey(Status, on_delete=models.PROTECT, related_name="+", db_index=False)
    status_before_delete = models.ForeignKey(
        Status,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Indexed by the composite indexes below (owner or assignee first), not on their own.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_leads",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_leads",
        db_index=False,
    )
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,  # lead_campaign_idx: only the leads that have one
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="leads")

    lead_score = models.SmallIntegerField(null=True, blank=True)
    lead_score_weighted = models.SmallIntegerField(null=True, blank=True)
    tracking_id = models.CharField(max_length=255, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    priority = models.CharField(max_length=50, blank=True)
    pool = models.CharField(max_length=100, blank=True)
    best_time = models.CharField(max_length=100, blank=True)
    gmt_offset = models.IntegerField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    ok_to_text = models.BooleanField(null=True, blank=True)
    is_unsubscribed = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    followup_date = models.DateTimeField(null=True, blank=True)
    skype = models.CharField(max_length=100, blank=True)
    sub_id = models.CharField(max_length=100, blank=True)
    sub_id2 = models.CharField(max_length=100, blank=True)

    custom_fields = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # When the lead's latest timeline event happened: kept by a database trigger on every
    # event insert, whatever the path (leads.activity), so "recent activity on my leads" starts
    # from the user's own leads instead of walking everyone's events.
    last_activity_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Lists of live leads newest first, and their deep offsets: an index-only walk.
            models.Index(
                fields=["-id"],
                name="lead_alive_id_idx",
                condition=~models.Q(status_id=DELETED_STATUS),
            ),
            models.Index(fields=["owner", "-id"], name="lead_owner_id_idx"),
            models.Index(fields=["assignee", "-id"], name="lead_assignee_id_idx"),
            models.Index(fields=["owner", "-last_activity_at"], name="lead_owner_activity_idx"),
            models.Index(
                fields=["assignee", "-last_activity_at"], name="lead_assignee_activity_idx"
            ),
            models.Index(fields=["status", "-id"], name="lead_status_id_idx"),
            models.Index(fields=["created_at"], name="lead_created_idx"),
            models.Index(fields=["updated_at"], name="lead_updated_idx"),
            models.Index(fields=["email"], name="lead_email_idx"),
            # Duplicate detection (CSV import) compares emails case-insensitively.
            models.Index(Lower("email"), name="lead_email_lower_idx"),
            models.Index(fields=["phone"], name="lead_phone_idx"),
            models.Index(fields=["last_name", "first_name"], name="lead_name_idx"),
            # Only the leads that have one: most have none, and their inserts skip it.
            models.Index(
                fields=["external_id"],
                name="lead_external_id_idx",
                condition=~models.Q(external_id=""),
            ),
            models.Index(
                fields=["campaign"],
                name="lead_campaign_idx",
                condition=models.Q(campaign__isnull=False),
            ),
            # Counts by source skip the deleted leads without reading the table, and a list
            # filtered by source (and status) walks it in the list's order.
            models.Index(fields=["source", "status", "-id"], name="lead_source_status_id_idx"),
            models.Index(
                fields=["followup_date"],
                name="lead_followup_idx",
                condition=models.Q(followup_date__isnull=False),
            ),
            # A status's deletion checks the deleted leads that would return to it.
            models.Index(
                fields=["status_before_delete"],
                name="lead_status_before_delete_idx",
                condition=models.Q(status_before_delete__isnull=False),
            ),
        ]

    # The columns a lead's name is made of (``lead_name``), for reads that need no more.
    NAME_COLUMNS = ("slug", "first_name", "last_name", "email")

    def __str__(self) -> str:
        return lead_name(self.slug, self.first_name, self.last_name, self.email)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_deleted(self) -> bool:
        return self.status_id == DELETED_STATUS


# A lead's field names -> the attributes (and columns) that hold their values.
ATTNAMES = {f.name: f.attname for f in Lead._meta.concrete_fields}
# Fields a lead's create/update may set; everything else is managed by the domain.
WRITABLE_FIELDS = frozenset(
    f.name
    for f in Lead._meta.concrete_fields
    if f.editable and f.name not in {"id", "custom_fields"}
)
# Lead fields a merge compares, in the model's order, and copies from the other lead on request.
MERGE_FIELDS = tuple(f.name for f in Lead._meta.concrete_fields if f.name in WRITABLE_FIELDS)


class LeadCount(models.Model):
    """How many leads have one combination of scope, user, campaign, status and source: the
    rollup that lists, the overview, the dashboard and the pipeline count from. Kept by
    database triggers in the same transaction as every lead write (``leads.rollup``); never
    written by Python code but ``manage.py rebuild_counts``."""

    class Scope(models.IntegerChoices):
        ALL = 0, "Every lead"
        OWNER = 1, "Owner (0: nobody)"
        ASSIGNEE = 2, "Assignee"
        OWNER_ASSIGNEE = 3, "Owner who is also the assignee"
        POOL_ASSIGNEE = 4, "Assignee of an unowned lead"

    scope = models.PositiveSmallIntegerField(choices=Scope.choices)
    user_id = models.IntegerField()  # 0: nobody (ALL scope, the unowned pool)
    campaign_id = models.IntegerField()  # 0: any campaign
    status_id = models.CharField(max_length=50)
    source_id = models.CharField(max_length=50)  # "": none
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "user_id", "campaign_id", "status_id", "source_id"],
                name="lead_count_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.user_id}: {self.n}"


class LeadWeekCount(models.Model):
    """How many live leads created in one week (its Monday, UTC) have one source, under one
    scope and user of ``LeadCount``: the dashboard's "New leads per week". Kept by database
    triggers (``leads.rollup.LEAD_WEEKS``); never written by Python code."""

    scope = models.PositiveSmallIntegerField(choices=LeadCount.Scope.choices)
    user_id = models.IntegerField()  # 0: nobody (ALL scope, the unowned pool)
    week = models.DateField()
    source_id = models.CharField(max_length=50)  # "": none
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "user_id", "week", "source_id"], name="lead_week_count_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.user_id} {self.week}: {self.n}"


class LeadNote(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A note written through a partner API (lead_set) has the API key as its author.
    api_key = models.ForeignKey(
        "crm.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.CharField(max_length=499)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="note_lead_created_idx")]

    def __str__(self) -> str:
        return self.text[:50]


class TaskQuerySet(models.QuerySet):
    def live(self) -> "TaskQuerySet":
        """Not deleted."""
        return self.filter(deleted_at__isnull=True)

    def open(self) -> "TaskQuerySet":
        """Live and not done."""
        return self.live().filter(done_at__isnull=True)


class Task(models.Model):
    """A to-do with a due time (SPEC §11): one of a lead's (its follow-up, when ``followup``:
    what lead_set's ``followup_date`` sets) or a user's own. Done when ``done_at`` is set;
    deleted softly."""

    title = models.CharField(max_length=255)
    due = models.DateTimeField()
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks",
        db_index=False,  # task_lead_due_idx begins with it
    )  # fmt: skip
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    followup = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due", "id"]
        indexes = [
            # a user's open tasks by due time: My day, overdue, reminders
            models.Index(
                fields=["assignee", "due"],
                name="task_open_due_idx",
                condition=models.Q(done_at__isnull=True, deleted_at__isnull=True),
            ),
            models.Index(fields=["lead", "due"], name="task_lead_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=models.Q(followup=True, done_at__isnull=True, deleted_at__isnull=True),
                name="task_one_open_followup",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def done(self) -> bool:
        return self.done_at is not None


class EventType(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    STATUS_CHANGED = "status_changed", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    NOTE_ADDED = "note_added", "Note added"
    NOTE_DELETED = "note_deleted", "Note deleted"
    NOTE_RESTORED = "note_restored", "Note restored"
    APPOINTMENT_CREATED = "appointment_created", "Appointment booked"
    APPOINTMENT_UPDATED = "appointment_updated", "Appointment changed"
    APPOINTMENT_DELETED = "appointment_deleted", "Appointment deleted"
    CALL_LOGGED = "call_logged", "Call logged"
    DELETED = "deleted", "Deleted"
    RESTORED = "restored", "Restored"
    MERGED = "merged", "Merged"
    FILE_ATTACHED = "file_attached", "File attached"
    FILE_DELETED = "file_deleted", "File deleted"
    FOLLOWUP_SET = "followup_set", "Follow-up set"
    TASK_CREATED = "task_created", "Task added"
    TASK_DONE = "task_done", "Task done"
    TASK_SNOOZED = "task_snoozed", "Task snoozed"
    TASK_REASSIGNED = "task_reassigned", "Task reassigned"
    TASK_DELETED = "task_deleted", "Task deleted"
    PERSONAL_DATA_ERASED = "personal_data_erased", "Personal data erased"
    EMAIL_OPENED = "emailOpened", "Email opened"
    FORM_SUBMIT = "formSubmit", "Form submitted"
    EMAIL_VISIT = "emailVisit", "Visit from an email"
    IMPORTANT_PAGE_VISIT = "importantPageVisit", "Important page visited"


class Event(models.Model):
    """One entry of a lead's activity timeline, written with the change it describes."""

    # Indexed by event_lead_created_idx (the lead first).
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=32, choices=EventType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    api_key = models.ForeignKey(
        "crm.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="event_lead_created_idx"),
            # (created_at, id): the newest events in the order the dashboard shows them, read
            # backwards from the index with no sort, however many share a creation time.
            models.Index(fields=["created_at", "id"], name="event_created_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} on lead {self.lead_id}"


class CallLog(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="calls")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    timestamp = models.DateTimeField(default=timezone.now)
    duration = models.PositiveIntegerField(default=0, help_text="Seconds.")
    result = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-timestamp"]

    def __str__(self) -> str:
        return f"Call with lead {self.lead_id} at {self.timestamp:%Y-%m-%d %H:%M}"


class LeadList(models.Model):
    name = models.CharField(max_length=150, unique=True)
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(Lead, through="ListMembership", related_name="lists")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    list = models.ForeignKey(LeadList, on_delete=models.CASCADE)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["list", "lead"], name="unique_list_membership")
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} in list {self.list_id}"


class LeadFile(models.Model):
    """A file attached to a lead (lead_set's ``upload_file_name`` + ``upload_file_contents``)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to="lead_files/%Y/%m/")
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    api_key = models.ForeignKey(
        "crm.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Soft delete: the lead page no longer lists it; the stored bytes stay (an administrator
    # can restore it) until the lead's personal data is erased.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class DataType(models.TextChoices):
    TEXT = "text", "Text"
    TEXTAREA = "textarea", "Text area"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    DATE = "date", "Date"
    DATETIME = "datetime", "Date and time"
    PICKLIST = "picklist", "Picklist"
    URL = "url", "URL"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"


def system_name_for(label: str) -> str:
    """``Favorite Color`` -> ``Favorite_Color_5a0dd86e6e290``: readable, unique, fixed for life."""
    base = re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_")[:200] or "Field"
    return f"{base}_{uuid.uuid4().hex[:13]}"


class Field(models.Model):
    """A lead field, with the attributes of the Field table of the JSON-RPC API.

    Built-in fields are listed with ``is_custom=False``; custom fields store their values in
    ``Lead.custom_fields`` under ``system_name``, which is generated once and never changes.
    """

    relationship = models.CharField(max_length=255, default="lead", editable=False)
    system_name = models.CharField(max_length=255, unique=True, editable=False)
    label = models.CharField(max_length=255)
    source = models.CharField(max_length=255, blank=True)
    data_type = models.CharField(max_length=16, choices=DataType.choices, default=DataType.TEXT)
    data_length = models.PositiveIntegerField(default=255)
    is_required = models.BooleanField(default=False)
    is_custom = models.BooleanField(default=True, editable=False)
    is_active = models.BooleanField(default=True)
    is_available_in_contact_manager = models.BooleanField(default=True)
    is_editable_in_contact_manager = models.BooleanField(default=True)
    is_available_in_forms = models.BooleanField(default=True)
    options = models.JSONField(
        default=list, blank=True, help_text="Picklist choices, as a JSON list of strings."
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.system_name})"


class DeletedLead(Lead):
    """Soft-deleted leads, listed apart in the admin so an administrator can restore them."""

    class Meta:
        proxy = True
        verbose_name = "deleted lead"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"


class LeadImport(models.Model):
    """An uploaded CSV file between its upload, its review (mapping and duplicate choices) and
    its run. The parsed rows live here, so any app server can take the next step."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lead_imports"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    file_name = models.CharField(max_length=255)
    encoding = models.CharField(max_length=32)
    headers = models.JSONField(default=list)
    # ``[[spreadsheet row number, [cell, ...]], ...]``: the header is row 1.
    rows = models.JSONField(default=list)
    # One target per column: a lead field, ``custom:<system name>``, or "" (ignored).
    mapping = models.JSONField(default=list)
    # ``{"<row number>": "skip" | "update" | "create"}`` for duplicate rows.
    decisions = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_user_idx")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"
