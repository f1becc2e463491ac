"""Fault tests with real processes: kill -9 workers and redis-server, drop connections,
race promoters (reliability anchors R1, R7, R9, R14)."""
