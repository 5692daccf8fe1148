"""The public pages and the status API (issue 6)."""
