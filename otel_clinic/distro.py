"""Entry points for the stock ``opentelemetry-instrument`` launcher.

    OTEL_PYTHON_DISTRO=otel_clinic OTEL_PYTHON_CONFIGURATOR=otel_clinic \
        opentelemetry-instrument python manage.py runserver --noreload

The launcher runs ``distro.configure()``, then configurators, then instrumentors. Our configurator calls the
same ``setup()`` an application would, so both paths build exactly one pipeline; our distro skips two stock
instrumentor entry points that ``setup()`` replaces:

* ``django``: ``setup()`` instruments Django itself with our hooks (the contrib instrumentor is once-only, and an
  early bare instrumentation would drop our hooks and exclusions);
* ``logging`` (opentelemetry-instrumentation-logging, our dependency for its handler class): it would attach a
  second OTel handler to the root logger, so every record would be exported twice, the copy without our template
  rewriting and scrubbing (a raw ``WSGIRequest`` repr with its query string), and its handler rejects Django's
  non-primitive ``extra`` values ("Invalid type WSGIRequest") and logs about it from inside logging ("detected
  recursive logging"). ``setup()`` installs our bridge handler and trace-id JSON stdout instead.
With ``OTEL_SDK_DISABLED=true`` the distro loads no instrumentor at all and ``setup()`` is a no-op.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.sdk._configuration import _BaseConfigurator

from otel_clinic.config import sdk_disabled

_logger = logging.getLogger("otel_clinic.distro")
_OURS = {"django", "logging"}  # instrumented (or replaced) by setup() itself


class ClinicDistro(BaseDistro):
    def _configure(self, **kwargs: Any) -> None:
        if sdk_disabled():
            return
        os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

    def load_instrumentor(self, entry_point, **kwargs: Any) -> None:
        if entry_point.name in _OURS:
            return  # setup() instruments it with our hooks
        if sdk_disabled():
            return  # OTEL_SDK_DISABLED=true: patch nothing
        super().load_instrumentor(entry_point, **kwargs)


class ClinicConfigurator(_BaseConfigurator):
    def _configure(self, **kwargs: Any) -> None:
        # kwargs (e.g. auto_instrumentation_version) are the SDK configurator's; our config comes from env.
        from otel_clinic import setup

        setup()
