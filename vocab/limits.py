"""Upload limits: the server's defaults (each overridable in its settings) and what clients send.

Clients that do not ask the server keep within these defaults.
"""

from __future__ import annotations

MAX_BATCH = 1000  # items in one POST of hits or exposure blocks
MAX_BODY_BYTES = 1024 * 1024  # bytes of one upload body
MAX_AGE_S = 30 * 24 * 3600  # hits and blocks may be this old ...
MAX_FUTURE_S = 300  # ... and this far ahead of the server's clock
DB_DOWN_RETRY_AFTER_S = 30  # Retry-After when the database cannot be reached
MAX_HITS_PER_MIN = 60  # hits one device counts per minute; the rest are stored, not searched
MAX_BLOCK_S = 3600  # the longest exposure block: clients split longer data taking
INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
