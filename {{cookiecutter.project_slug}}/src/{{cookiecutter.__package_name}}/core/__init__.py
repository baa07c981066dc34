"""Pure logic: schemas, features, model factory and metrics (no I/O)."""
