"""Appointments per week by status (``leads.rollup.APPOINTMENT_WEEKS``): the table, the
triggers that keep it, and its first fill from the appointments already there."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    from leads import rollup

    rollup.APPOINTMENT_WEEKS.install_triggers(schema_editor)
    rollup.APPOINTMENT_WEEKS.rebuild(schema_editor.connection)


def backwards(apps, schema_editor):
    from leads import rollup

    rollup.APPOINTMENT_WEEKS.uninstall_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0006_no_show"),
    ]

    operations = [
        migrations.CreateModel(
            name="AppointmentWeekCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("host_id", models.IntegerField()),
                ("week", models.DateField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("confirmed", "Confirmed"),
                            ("rescheduled", "Rescheduled"),
                            ("cancelled", "Cancelled"),
                            ("fulfilled", "Fulfilled"),
                            ("no_show", "No-show"),
                        ],
                        max_length=16,
                    ),
                ),
                ("n", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("host_id", "week", "status"), name="appointment_week_count_key"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
