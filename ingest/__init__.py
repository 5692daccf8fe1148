"""Devices, tokens, hits and exposure blocks: the upload API and the researchers' read API."""
