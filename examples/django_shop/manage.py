"""Django's command-line utility for the example shop.

Its tests run from the repository root with ``python examples/django_shop/manage.py test``
(or ``python manage.py test`` here): settings.TEST_RUNNER finds them from any directory.
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
