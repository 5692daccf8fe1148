"""An index for the phones taking data at one time near one place (ingest.near).

On PostgreSQL it is built on every day's partition of the exposure blocks, with
writes to the table held meanwhile: on a big database plan the time for it.
"""

from django.db import migrations, models
from django.db.models.functions import Floor


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0016_map_cells_and_teams_snapshot"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="exposureblock",
            index=models.Index(
                Floor(models.F("lat") * models.Value(100)),
                Floor(models.F("lon") * models.Value(100)),
                models.F("end_ns"),
                models.F("start_ns"),
                name="exposure_square_end",
            ),
        ),
    ]
