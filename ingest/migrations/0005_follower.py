"""Uploads only append; the follower keeps the counters (issue: one follower).

- Exposure blocks get an insertion id and a block id unique per device.
- The counters become one row per minute (hits, devices, live time) and one per
  cell, with no shards: only the follower writes them. They are emptied here
  and rebuilt by the follower from the hits and blocks, with the new meaning.
- On PostgreSQL, hits and blocks carry the id of the transaction that wrote
  them (commit_xid), which makes the follower's tail commit-safe (ingest.tail).
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

_COPY_COLUMNS = (
    "block_id, device_id, start_ns, end_ns, lat, lon, loc_err_m, frames, "
    "l1_threshold, l2_threshold, n_hits, received_at"
)


def copy_blocks(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        f"INSERT INTO ingest_exposureblockv2 ({_COPY_COLUMNS}) "
        f"SELECT {_COPY_COLUMNS} FROM ingest_exposureblock ORDER BY received_at, block_id"
    )


def clear_counters(apps: Any, schema_editor: Any) -> None:
    for name in ("ActiveCell", "DeviceMinute"):
        apps.get_model("ingest", name).objects.all().delete()


def add_commit_xid(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in ("ingest_hit", "ingest_exposureblock"):
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN commit_xid bigint NOT NULL "
            "DEFAULT pg_current_xact_id()::text::bigint"
        )
        # Rows are appended in roughly commit_xid order, so a BRIN index finds a
        # range of them at a fraction of a B-tree's cost per insert (bench_insert).
        schema_editor.execute(
            f"CREATE INDEX {table}_commit_xid ON {table} USING brin (commit_xid)"
        )


def drop_commit_xid(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in ("ingest_hit", "ingest_exposureblock"):
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN commit_xid")


class Migration(migrations.Migration):
    dependencies = [("ingest", "0004_shower_reconstruction")]

    operations = [
        migrations.CreateModel(
            name="ExposureBlockV2",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("block_id", models.UUIDField()),
                ("start_ns", models.BigIntegerField()),
                ("end_ns", models.BigIntegerField()),
                ("lat", models.FloatField()),
                ("lon", models.FloatField()),
                ("loc_err_m", models.FloatField(blank=True, null=True)),
                ("frames", models.BigIntegerField(blank=True, null=True)),
                ("l1_threshold", models.IntegerField(blank=True, null=True)),
                ("l2_threshold", models.IntegerField(blank=True, null=True)),
                ("n_hits", models.BigIntegerField(blank=True, null=True)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
                (
                    "device",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="exposures_v2",
                        to="ingest.device",
                    ),
                ),
            ],
        ),
        migrations.RunPython(copy_blocks, migrations.RunPython.noop),
        migrations.DeleteModel(name="ExposureBlock"),
        migrations.RenameModel(old_name="ExposureBlockV2", new_name="ExposureBlock"),
        migrations.AlterField(
            model_name="exposureblock",
            name="device",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="exposures",
                to="ingest.device",
            ),
        ),
        migrations.AddConstraint(
            model_name="exposureblock",
            constraint=models.UniqueConstraint(
                fields=("device", "block_id"), name="exposure_device_block"
            ),
        ),
        migrations.AddIndex(
            model_name="exposureblock",
            index=models.Index(fields=["end_ns"], name="exposure_end"),
        ),
        migrations.RunPython(clear_counters, migrations.RunPython.noop),
        migrations.DeleteModel(name="HitMinute"),
        migrations.DeleteModel(name="ActiveMinute"),
        migrations.DeleteModel(name="LiveDay"),
        migrations.CreateModel(
            name="Minute",
            fields=[
                (
                    "minute",
                    models.BigIntegerField(
                        help_text="epoch minutes", primary_key=True, serialize=False
                    ),
                ),
                (
                    "hits",
                    models.BigIntegerField(
                        default=0, help_text="hits whose t_ns falls in the minute"
                    ),
                ),
                (
                    "devices",
                    models.IntegerField(
                        default=0,
                        help_text="devices with an exposure block covering the minute "
                        "or a hit in it",
                    ),
                ),
                (
                    "live_s",
                    models.FloatField(default=0, help_text="exposure seconds within the minute"),
                ),
            ],
        ),
        migrations.RemoveConstraint(model_name="activecell", name="activecell_key"),
        migrations.RemoveField(model_name="activecell", name="shard"),
        migrations.AlterField(
            model_name="activecell",
            name="cell",
            field=models.CharField(max_length=32, unique=True),
        ),
        migrations.CreateModel(
            name="ConsumerMark",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("consumer", models.CharField(max_length=300)),
                ("stream", models.CharField(max_length=20)),
                (
                    "lo",
                    models.BigIntegerField(
                        default=0, help_text="every row at a position below lo is done"
                    ),
                ),
                ("hi", models.BigIntegerField(help_text="end of the range in progress", null=True)),
                (
                    "last_id",
                    models.BigIntegerField(default=0, help_text="rows of the range up to this id done"),
                ),
                ("rows", models.BigIntegerField(default=0, help_text="rows folded in so far")),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("consumer", "stream"), name="consumer_mark_unique"
                    )
                ]
            },
        ),
        migrations.RunPython(add_commit_xid, drop_commit_xid),
    ]
