"""{{ cookiecutter.project_name }}: the ML pipeline package."""

__version__ = "0.1.0"
