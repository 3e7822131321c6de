"""The results store's alembic migrations (rig/store_schema.py says how they are used).
A package so that they ship in the wheel; alembic reads the files, not the modules."""
