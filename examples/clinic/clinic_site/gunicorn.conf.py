# gunicorn -c clinic_site/gunicorn.conf.py clinic_site.wsgi:application
import os

import otel_clinic

bind = os.environ.get("CLINIC_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CLINIC_WORKERS", "2"))
# Not needed (otel_clinic also re-stamps after fork through os.register_at_fork) but documents the hook.
post_fork = otel_clinic.post_fork
# Flush what the worker still holds when gunicorn stops it (SIGTERM, max_requests), bounded by a timeout.
worker_exit = otel_clinic.worker_exit
# gunicorn's own logs (gunicorn.error's "Error handling request <uri>" and its traceback, gunicorn.access's
# request lines) rewritten like Django's: route template or [path], no query string, no client address.
logger_class = "otel_clinic.integrations.gunicorn.ClinicGunicornLogger"
# Access lines are off unless asked for ("-" is stdout, next to the JSON log lines).
accesslog = os.environ.get("CLINIC_ACCESS_LOG") or None
