"""Entry points for the stock ``opentelemetry-instrument`` launcher.

    OTEL_PYTHON_DISTRO=otel_clinic OTEL_PYTHON_CONFIGURATOR=otel_clinic \
        opentelemetry-instrument python manage.py runserver --noreload

The launcher runs ``distro.configure()``, then configurators, then instrumentors. Our configurator calls the
same ``setup()`` an application would, so both paths build exactly one pipeline; our distro skips the stock
Django instrumentor entry point because ``setup()`` instruments Django itself with our hooks (the contrib
instrumentor is once-only, and an early bare instrumentation would drop our hooks and exclusions).
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
_OURS = {"django"}


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
