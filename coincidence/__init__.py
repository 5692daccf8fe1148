"""The coincidence search: a Spark job, its NumPy reference and the Parquet schemas. No Django."""
