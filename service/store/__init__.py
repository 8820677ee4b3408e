"""Persistence: database engine and Alembic migrations, tables, the label store, label files, the pool
of scored headlines and the job store."""
