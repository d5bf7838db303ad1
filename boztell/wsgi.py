"""WSGI entry point, for gunicorn serving HTTP in the throughput topology."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "boztell.settings")
application = get_wsgi_application()
