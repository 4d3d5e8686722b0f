"""The lead count rollup (``leads.rollup``): its table, the triggers that keep it, and its
first fill from the leads already there."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    from leads import rollup

    rollup.install_triggers(schema_editor)
    rollup.rebuild(schema_editor.connection)


def backwards(apps, schema_editor):
    from leads import rollup

    rollup.uninstall_triggers(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0008_note_api_key'),
    ]

    operations = [
        migrations.CreateModel(
            name='LeadCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.PositiveSmallIntegerField(choices=[(0, 'Every lead'), (1, 'Owner (0: nobody)'), (2, 'Assignee'), (3, 'Owner who is also the assignee'), (4, 'Assignee of an unowned lead')])),
                ('user_id', models.IntegerField()),
                ('campaign_id', models.IntegerField()),
                ('status_id', models.CharField(max_length=50)),
                ('source_id', models.CharField(max_length=50)),
                ('n', models.BigIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('scope', 'user_id', 'campaign_id', 'status_id', 'source_id'), name='lead_count_key')],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
