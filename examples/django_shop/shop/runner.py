"""The project's test runner: ``manage.py test`` finds the shop's tests from any directory.

Django's default runner discovers tests under the current directory, so
``python examples/django_shop/manage.py test`` run from the repository root would find none
("Ran 0 tests ... OK"). Without labels, this one discovers under the project's directory (the
one holding ``manage.py``); labels given on the command line are used as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import TestSuite

from django.test.runner import DiscoverRunner

PROJECT_DIR = Path(__file__).resolve().parent.parent


class ProjectTestRunner(DiscoverRunner):
    """A DiscoverRunner that defaults to the project's directory, not the current one."""

    def build_suite(self, test_labels: list[str] | None = None, **kwargs: Any) -> TestSuite:
        """Build the suite from the labels given, else from every test in the project."""
        return super().build_suite(test_labels or [str(PROJECT_DIR)], **kwargs)
