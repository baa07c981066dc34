"""The HTTP serving layer: the @champion (and optional @challenger) behind FastAPI."""
