"""{{ cookiecutter.project_name }}: the ML pipeline package."""

import warnings

__version__ = "0.1.0"

# pyspark 4 warns, when imported, that it does not yet fully support pandas 3; MLflow imports it whenever it is
# installed (engine: spark), so every command would print the warning twice. The Spark engine exchanges data with
# pandas through Arrow, and its tests check the results against the pandas engine's (docs/spark.md).
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
