"""The WSGI entry point: ``gunicorn shop.wsgi`` or ``waitress-serve shop.wsgi:application``.

Run either in ``examples/django_shop``. Loading it sets Django up in the main thread, where
``ShopConfig.ready()`` installs snapcapi's SIGTERM handler (see shop/apps.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

application = get_wsgi_application()
