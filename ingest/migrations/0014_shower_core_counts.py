"""Whole showers: n_devices and n_hits count the whole shower, n_core_* its compact core.

Showers stored before were cores, so their core counts are their counts.
"""

from django.db import migrations, models
from django.db.models import F


def cores_were_the_showers(apps, schema_editor):  # type: ignore[no-untyped-def]
    shower = apps.get_model("ingest", "Shower")
    shower.objects.update(n_core_devices=F("n_devices"), n_core_hits=F("n_hits"))


class Migration(migrations.Migration):
    dependencies = [("ingest", "0013_device_hour_cells")]

    operations = [
        migrations.AddField(
            model_name="shower",
            name="n_core_devices",
            field=models.IntegerField(default=0, help_text="distinct phones in the compact core"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="shower",
            name="n_core_hits",
            field=models.IntegerField(default=0, help_text="hits in the compact core"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="shower",
            name="n_devices",
            field=models.IntegerField(help_text="distinct phones in the whole shower"),
        ),
        migrations.AlterField(
            model_name="shower",
            name="n_hits",
            field=models.IntegerField(help_text="hits in the whole shower"),
        ),
        migrations.RunPython(cores_were_the_showers, migrations.RunPython.noop),
    ]
