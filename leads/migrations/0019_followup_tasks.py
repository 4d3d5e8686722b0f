"""Follow-ups become tasks: each live lead with a follow-up date and an owner (or an assignee)
gets its open follow-up task, due at that date, as lead_set's ``followup_date`` now makes."""

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone

BATCH = 2000


def followup_tasks(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Task = apps.get_model("leads", "Task")
    now = timezone.now()
    open_followups = Task.objects.filter(followup=True, done_at=None, deleted_at=None)
    rows = (
        Lead.objects.filter(followup_date__isnull=False)
        .exclude(status_id="deleted")
        .exclude(owner__isnull=True, assignee__isnull=True)
        .exclude(Exists(open_followups.filter(lead=OuterRef("pk"))))
        .values_list("pk", "followup_date", "owner_id", "assignee_id")
        .order_by("pk")
    )
    batch = []
    for pk, due, owner_id, assignee_id in rows.iterator(chunk_size=BATCH):
        batch.append(
            Task(
                title="Follow-up", due=due, lead_id=pk, assignee_id=owner_id or assignee_id,
                followup=True, created_at=now, updated_at=now,
            )  # fmt: skip
        )
        if len(batch) == BATCH:
            Task.objects.bulk_create(batch)
            batch = []
    Task.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("leads", "0018_tasks")]

    operations = [migrations.RunPython(followup_tasks, migrations.RunPython.noop)]
