from django.db import migrations


def load_defaults(apps, schema_editor):
    from leads.defaults import BUILTIN_FIELDS, SOURCES, STATUSES

    Status = apps.get_model("leads", "Status")
    Source = apps.get_model("leads", "Source")
    Field = apps.get_model("leads", "Field")
    for order, (key, label, description, color) in enumerate(STATUSES):
        Status.objects.get_or_create(
            key=key,
            defaults={"label": label, "description": description, "color": color, "order": order},
        )
    for order, (key, label) in enumerate(SOURCES):
        Source.objects.get_or_create(key=key, defaults={"label": label, "order": order})
    for order, (name, label, data_type, length) in enumerate(BUILTIN_FIELDS):
        Field.objects.get_or_create(
            system_name=name,
            defaults={
                "label": label,
                "data_type": data_type,
                "data_length": length,
                "is_custom": False,
                "is_required": name == "emailAddress",
                "is_editable_in_contact_manager": name not in {"id", "accountID", "updateTimestamp"},
                "order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]
    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
