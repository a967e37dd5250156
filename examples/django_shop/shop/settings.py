"""Settings of the example shop: the smallest Django project that serves a checkout."""

import os

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "shop.example.com"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS = ["shop"]
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
# `manage.py test` finds shop.tests wherever it is run from (the repository root too).
TEST_RUNNER = "shop.runner.ProjectTestRunner"

# Snap: the token and ids come from the environment, as in production.
SNAP_PIXEL_ID = os.environ.get("SNAP_PIXEL_ID")
SNAP_CAPI_BASE_URL = os.environ.get("SNAP_CAPI_BASE_URL")
# Proxies you run in front of Django (a load balancer: 1); see snapcapi.web.from_wsgi.
SNAP_TRUSTED_PROXIES = int(os.environ.get("SNAP_TRUSTED_PROXIES", "0"))
