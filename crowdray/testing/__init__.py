"""Helpers for tests and benchmarks: throwaway servers started from installed binaries."""
