"""Allow ``python -m {{ cookiecutter.__package_name }}``."""

import sys

from {{ cookiecutter.__package_name }}.cli import main

sys.exit(main())
