"""crowdray's shared vocabulary: the one Django-free home of what every package must agree on.

- `vocab.units`: time and length units (nanoseconds are the unit of time everywhere).
- `vocab.times`: parsing user times (ISO 8601 or UTC epoch ns) into epoch ns.
- `vocab.contracts`: the Parquet hit and shower schemas and the lake layout.
- `vocab.cells`: the ~1 km privacy cell, the finest position the public ever sees.
- `vocab.limits`: the upload limits' defaults, shared by the server and its clients.

Import rule: `vocab` imports only the standard library, numpy and pyarrow; every
other package may import it, and none defines these things itself.
"""
