"""Shared API plumbing that imports no app: problems (RFC 9457), query errors, metrics counters."""
