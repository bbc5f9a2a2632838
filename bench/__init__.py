"""The benchmark: pages and feeds under load, against a baseline of the same size."""
