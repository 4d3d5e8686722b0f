"""New leads per week by source (``leads.rollup.LEAD_WEEKS``): the table, the triggers that
keep it, and its first fill from the leads already there."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    from leads import rollup

    rollup.LEAD_WEEKS.install_triggers(schema_editor)
    rollup.LEAD_WEEKS.rebuild(schema_editor.connection)


def backwards(apps, schema_editor):
    from leads import rollup

    rollup.LEAD_WEEKS.uninstall_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0020_lead_file_delete"),
    ]

    operations = [
        migrations.CreateModel(
            name="LeadWeekCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "scope",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "Every lead"),
                            (1, "Owner (0: nobody)"),
                            (2, "Assignee"),
                            (3, "Owner who is also the assignee"),
                            (4, "Assignee of an unowned lead"),
                        ]
                    ),
                ),
                ("user_id", models.IntegerField()),
                ("week", models.DateField()),
                ("source_id", models.CharField(max_length=50)),
                ("n", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scope", "user_id", "week", "source_id"), name="lead_week_count_key"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
