"""Reports over stored sessions: pure functions, SQL rows -> pydantic models (models.py).

Each report reads the rollups the writer keeps at ingest (storage/rollups.py) when they
cover the question (the session's rollups are complete and no time range is asked), else
the events table through its promoted columns and indexes; either way the aggregation
happens in SQL. One module per report kind; `export/` streams whole sessions.
"""
