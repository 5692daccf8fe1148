"""Hits and exposure blocks partitioned by UTC day on PostgreSQL (ingest.days).

- The idempotency keys take the partition's column: (device, seq, t_ns) and
  (device, block_id, end_ns). A retry resends the same hit or block, so it
  still matches; both databases get the same keys.
- The showers' links to hits lose their foreign key: a day of hits leaves the
  database for the lake while its showers stay.
- On PostgreSQL each table is rebuilt as a partitioned one: a DEFAULT partition
  and one per day its rows hold, ids continuing from the same number. This
  copies every row once; on a big database plan the time for it.
"""

from typing import Any

from django.db import migrations, models

from ingest.days import default_name, partition_name
from vocab.units import NS_PER_DAY

# table: (partition column, primary key, unique key, the other indexes)
TABLES = {
    "ingest_hit": (
        "t_ns",
        "ingest_hit_pkey",
        ("hit_device_seq_t", "device_id, seq, t_ns"),
        [
            "CREATE INDEX hit_t_ns ON ingest_hit (t_ns)",
            "CREATE INDEX ingest_hit_device_id_9de8d345 ON ingest_hit (device_id)",
            "CREATE INDEX ingest_hit_commit_xid ON ingest_hit USING brin (commit_xid)",
        ],
    ),
    "ingest_exposureblock": (
        "end_ns",
        "ingest_exposureblockv2_pkey",
        ("exposure_device_block_end", "device_id, block_id, end_ns"),
        [
            "CREATE INDEX exposure_end ON ingest_exposureblock (end_ns)",
            "CREATE INDEX ingest_exposureblock_device_id_d82743e1 "
            "ON ingest_exposureblock (device_id)",
            "CREATE INDEX ingest_exposureblock_commit_xid "
            "ON ingest_exposureblock USING brin (commit_xid)",
            "ALTER TABLE ingest_exposureblock ADD CONSTRAINT "
            "ingest_exposureblock_device_id_d82743e1_fk_ingest_device_id FOREIGN KEY "
            "(device_id) REFERENCES ingest_device (id) DEFERRABLE INITIALLY DEFERRED",
        ],
    ),
}


def partition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, (key, pkey, (unique, columns), indexes) in TABLES.items():
        new, seq = f"{table}_by_day", f"{table}_row_id"
        run = schema_editor.execute
        run(f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS) PARTITION BY RANGE ({key})")
        run(f"CREATE SEQUENCE {seq}")
        run(f"SELECT setval('{seq}', COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)")
        run(f"ALTER TABLE {new} ALTER COLUMN id SET DEFAULT nextval('{seq}')")
        run(f"CREATE TABLE {default_name(table)} PARTITION OF {new} DEFAULT")
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT div({key}, {NS_PER_DAY}) FROM {table}")
            days = sorted(int(row[0]) for row in cursor.fetchall())
        for day in days:
            run(
                f"CREATE TABLE {partition_name(table, day)} PARTITION OF {new} "
                f"FOR VALUES FROM ({day * NS_PER_DAY}) TO ({(day + 1) * NS_PER_DAY})"
            )
        run(f"INSERT INTO {new} SELECT * FROM {table}")
        run(f"DROP TABLE {table}")
        run(f"ALTER TABLE {new} RENAME TO {table}")
        run(f"ALTER SEQUENCE {seq} OWNED BY {table}.id")
        run(f"ALTER TABLE {table} ADD CONSTRAINT {pkey} PRIMARY KEY (id, {key})")
        run(f"ALTER TABLE {table} ADD CONSTRAINT {unique} UNIQUE ({columns})")
        for sql in indexes:
            run(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0014_shower_core_counts"),
    ]

    operations = [
        migrations.CreateModel(
            name="ArchivedDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("table", models.CharField(max_length=63)),
                ("day", models.IntegerField(help_text="UTC epoch day")),
                (
                    "rows",
                    models.BigIntegerField(help_text="rows the day held, equal to the lake's"),
                ),
                ("dropped_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RemoveConstraint(
            model_name="exposureblock",
            name="exposure_device_block",
        ),
        migrations.RemoveConstraint(
            model_name="hit",
            name="hit_device_seq",
        ),
        migrations.AlterField(
            model_name="shower",
            name="hits",
            field=models.ManyToManyField(
                blank=True, db_constraint=False, related_name="showers", to="ingest.hit"
            ),
        ),
        migrations.AddConstraint(
            model_name="exposureblock",
            constraint=models.UniqueConstraint(
                fields=("device", "block_id", "end_ns"), name="exposure_device_block_end"
            ),
        ),
        migrations.AddConstraint(
            model_name="hit",
            constraint=models.UniqueConstraint(
                fields=("device", "seq", "t_ns"), name="hit_device_seq_t"
            ),
        ),
        migrations.AddConstraint(
            model_name="archivedday",
            constraint=models.UniqueConstraint(fields=("table", "day"), name="archived_day_unique"),
        ),
        # Not reversible: going back would copy every row into one table again.
        migrations.RunPython(partition, elidable=False),
    ]
