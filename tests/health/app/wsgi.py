"""The health tests' app process: the Django WSGI app served by a threaded wsgiref server on the loopback
port given as argv[1]. Run as `python -m tests.health.app.wsgi PORT`."""

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.health.app.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

import tests.health.app.telemetry  # noqa: E402,F401  (gauges registered before the first request)

application = get_wsgi_application()


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


if __name__ == "__main__":
    port = int(sys.argv[1])
    server = make_server("127.0.0.1", port, application, server_class=_Server, handler_class=_QuietHandler)
    print("ready", flush=True)
    server.serve_forever()
