"""``setup()``: build the whole pipeline once and return a handle with ``force_flush()`` and ``shutdown()``."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Literal, Mapping, Sequence

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk.trace import TracerProvider

from otel_clinic import _state, settings
from otel_clinic.config import ClinicConfig, SeverityThresholds, load_config, sdk_disabled
from otel_clinic.options import HealthOptions, PrometheusOptions, ScrubbingOptions, SentryOptions
from otel_clinic.instruments import Instruments, set_instruments
from otel_clinic.integrations.logging import LoggingSetup
from otel_clinic.providers import Providers, build_providers, stamp_new_instance
from otel_clinic.semantics.release import ReleaseInfo, set_current_release

_logger = logging.getLogger("otel_clinic")


class ClinicTelemetry:
    """What ``setup()`` returns. Safe to call ``force_flush``/``shutdown`` more than once."""

    disabled = False

    def __init__(self, config: ClinicConfig, providers: Providers, scrub_policy: Any, logging_setup: LoggingSetup) -> None:
        self.config = config
        self.providers = providers
        self.scrub_policy = scrub_policy
        self._logging = logging_setup
        self._shut_down = False
        # Contrib instrumentors this handle instrumented (and so uninstruments at shutdown).
        self.instrumented: list = []
        self.sentry_client: Any = None  # the sentry-sdk client setup() initialised, if any

    @property
    def tracer_provider(self):
        return self.providers.tracer_provider

    @property
    def meter_provider(self):
        return self.providers.meter_provider

    @property
    def logger_provider(self):
        return self.providers.logger_provider

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        ok = True
        for provider in (self.tracer_provider, self.logger_provider, self.meter_provider):
            try:
                ok = bool(provider.force_flush(timeout_millis)) and ok
            except Exception:
                ok = False
        # The SDK's batch processors do not flush their exporter: re-send what our retry buffers hold.
        for exporter in self.providers.retrying_exporters:
            try:
                ok = bool(exporter.retry.flush(timeout_millis)) and ok
            except Exception:
                ok = False
        return ok

    def after_fork_in_child(self) -> None:
        """Re-stamp ``service.instance.id``; batch threads, metric readers and lazy exporters restart by themselves."""
        stamp_new_instance(self.providers)
        if self.providers.prometheus_server is not None:
            _logger.warning(
                "otel_clinic: the in-process Prometheus endpoint (OTEL_CLINIC_PROMETHEUS_PORT) serves only the process "
                "that started it; with several workers export OTLP to the Collector instead"
            )

    def shutdown(self, timeout_millis: float | None = None) -> bool:
        """Flush and stop every signal within ``timeout_millis`` (default ``OTEL_CLINIC_SHUTDOWN_TIMEOUT``), undo
        every patch ``setup()`` made, and return True when everything was delivered in time.

        Also what the exit flush runs (interpreter exit, SIGTERM, gunicorn/uWSGI worker exit). Safe to call twice.
        """
        with _state.lock:
            if self._shut_down:
                return True
            self._shut_down = True
            if _state.handle is self:
                _state.handle = None
        budget_ms = self.config.shutdown_timeout_s * 1000 if timeout_millis is None else float(timeout_millis)
        try:
            self._logging.uninstall()
        except Exception:
            _logger.debug("logging uninstall failed", exc_info=True)
        _uninstrument(self)
        started = time.monotonic()
        ok = _bounded(lambda: self._shutdown_providers(budget_ms), budget_ms)
        self._close_sentry(budget_ms / 1000 - (time.monotonic() - started))
        if self.providers.prometheus_server is not None:
            try:
                server, _thread = self.providers.prometheus_server
                server.shutdown()
                server.server_close()
            except Exception:
                _logger.debug("Prometheus server shutdown failed", exc_info=True)
        set_instruments(None)
        return ok

    def _shutdown_providers(self, budget_ms: float) -> bool:
        """Traces and logs first (their batch queues and retry buffers), metrics last (so the drop counts of the
        other signals are in the final collection), each with what is left of the budget."""
        deadline = time.monotonic() + budget_ms / 1000
        remaining = lambda: max(0.0, (deadline - time.monotonic()) * 1000)  # noqa: E731
        ok = True
        for exporter in self.providers.retrying_exporters:
            exporter.shutdown_deadline = deadline  # the retry buffer flush at exporter shutdown stays in the bound
        for provider in (self.tracer_provider, self.logger_provider):
            try:
                provider.shutdown()
            except Exception:
                ok = False
                _logger.debug("provider shutdown failed", exc_info=True)
        for exporter in self.providers.retrying_exporters:
            try:
                exporter.shutdown(timeout_millis=remaining())  # no-op when the provider already shut it down
                ok = exporter.retry.pending_items == 0 and ok
            except Exception:
                ok = False
        try:
            ok = self.meter_provider.shutdown(timeout_millis=max(1.0, remaining())) is not False and ok
        except Exception:
            ok = False
            _logger.debug("meter provider shutdown failed", exc_info=True)
        return ok

    def _close_sentry(self, timeout_s: float) -> None:
        """Flush and close the sentry-sdk client setup() created, unless someone re-initialised Sentry since.
        Called on the caller's thread: sentry-sdk's scopes are per context, a helper thread may see another client."""
        client, self.sentry_client = self.sentry_client, None
        if client is None:
            return
        try:
            import sentry_sdk

            if sentry_sdk.get_client() is client:
                client.close(timeout=max(0.0, timeout_s))
        except Exception:
            _logger.debug("Sentry client close failed", exc_info=True)


def _bounded(work: Callable[[], bool], budget_ms: float) -> bool:
    """Run ``work`` in a helper thread and wait at most ``budget_ms`` (plus a small grace) for it: an exporter
    stuck on a dead endpoint must not hold a worker past its graceful-stop window (gunicorn kills it at
    graceful_timeout, Kubernetes at terminationGracePeriodSeconds)."""
    result: list[bool] = []

    def run() -> None:
        try:
            result.append(bool(work()))
        except Exception:
            _logger.debug("otel_clinic shutdown failed", exc_info=True)
            result.append(False)

    try:
        thread = threading.Thread(target=run, name="otel_clinic-shutdown", daemon=True)
        thread.start()
    except RuntimeError:  # interpreter finalising: no new threads; do it inline
        run()
        return result[0]
    thread.join(budget_ms / 1000 + 0.5)
    if thread.is_alive():
        _logger.warning("otel_clinic: telemetry shutdown did not finish within %.1f s; the rest is dropped",
                        budget_ms / 1000)
        return False
    return result[0]


def _uninstrument(handle: "ClinicTelemetry") -> None:
    """Undo every patch setup() made: Django (``ClinicDjangoInstrumentor``: middleware, hooks, DB/cache wrappers,
    receivers, deferred patch), the contrib instrumentors and the tenant scope (resolver, Celery signals)."""
    if handle.config.instrument_django and "django" in sys.modules:
        try:
            from otel_clinic.integrations.django.instrumentation import uninstrument_django

            uninstrument_django()
        except Exception:
            _logger.debug("Django uninstrumentation failed", exc_info=True)
    try:
        from otel_clinic import tenants

        tenants.unconfigure()
    except Exception:
        _logger.debug("tenant unconfigure failed", exc_info=True)
    for instrumentor in handle.instrumented:
        try:
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        except Exception:
            _logger.debug("uninstrument %s failed", type(instrumentor).__name__, exc_info=True)
    handle.instrumented.clear()


class DisabledTelemetry:
    """What ``setup()`` returns with ``OTEL_SDK_DISABLED=true``: nothing was installed (no providers, exporters,
    Django or library patches, logging handlers or Sentry); ``force_flush``/``shutdown`` succeed and do nothing.

    ``tracer_provider`` & co. are OpenTelemetry's global (no-op unless something else set them) providers.
    """

    disabled = True
    providers = None
    scrub_policy = None

    def __init__(self) -> None:
        self.config = ClinicConfig(traces_exporters=("none",), metrics_exporters=("none",), logs_exporters=("none",),
                                   log_format="none", logs_bridge=False, instrument_django=False, instrumentations=())

    @property
    def tracer_provider(self):
        return trace.get_tracer_provider()

    @property
    def meter_provider(self):
        return metrics.get_meter_provider()

    @property
    def logger_provider(self):
        from opentelemetry._logs import get_logger_provider

        return get_logger_provider()

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        return True

    def after_fork_in_child(self) -> None:
        pass

    def shutdown(self, timeout_millis: float | None = None) -> bool:
        with _state.lock:
            if _state.handle is self:
                _state.handle = None
        return True


def _split_options(flat: dict[str, Any], legacy: dict[str, Any], **groups: Any) -> tuple[
        dict[str, Any], Any, dict[str, Any] | None, dict[str, Any], dict[str, Any]]:
    """setup()'s arguments as table keywords: ``(config overrides, scrub policy, sentry_sdk options, health
    settings, scrub settings)``. Group fields become ``group.field`` keys (so errors name them that way)."""
    from otel_clinic.options import flatten

    keyed = dict(flat)
    for group, value in groups.items():
        keyed.update(flatten(group, value))
    # Pre-group spellings: the sentry_options / scrub_policy objects, and the flat config field names
    # (sentry_dsn, prometheus_port, ...; unknown names are reported by load_config).
    legacy_policy, legacy_sentry = legacy.pop("scrub_policy", None), legacy.pop("sentry_options", None)
    keyed.update(legacy)
    scrub_policy = getattr(groups["scrubbing"], "policy", None) or legacy_policy
    sentry_options = getattr(groups["sentry"], "sdk_options", None) or legacy_sentry
    # health.* and scrubbing.* settings are loaded by HealthSettings and ScrubPolicy, their switches by load_config.
    routed: dict[str, dict[str, Any]] = {"health": {}, "scrubbing": {}}
    overrides: dict[str, Any] = {}
    for key, value in keyed.items():
        group, _, name = key.partition(".")
        if group in routed and name not in ("metrics", "enabled"):
            routed[group][name] = value
        else:
            overrides[key] = value
    return overrides, scrub_policy, dict(sentry_options) if sentry_options else None, routed["health"], \
        routed["scrubbing"]


def _set_health_options(options: dict[str, Any]) -> None:
    """Hand HealthOptions' check settings to the health package (imported only when there are some)."""
    if options or "otel_clinic.health.config" in sys.modules:  # also clears a previous setup()'s options
        from otel_clinic.health.config import set_setup_options

        set_setup_options(options)


def _scrub_policy(config: ClinicConfig, policy: Any, overrides: Mapping[str, Any] | None = None) -> Any:
    if not config.scrub_enabled:
        return None
    from otel_clinic.scrubbing import ScrubPolicy, set_active_policy

    policy = policy if policy is not None else ScrubPolicy.from_env(os.environ, overrides)
    # Compile the detectors now: a bad custom pattern fails setup(), and the first export (or request)
    # does not pay the compilation.
    policy.engine  # noqa: B018
    set_active_policy(policy)
    return policy


def _set_globals(providers: Providers) -> None:
    """Install our providers globally unless another SDK provider is already there (then warn loudly)."""
    current = trace.get_tracer_provider()
    if getattr(current, "_otel_clinic_owned", False):
        _logger.error(
            "otel_clinic: setup() was called again after shutdown(). OpenTelemetry's global providers can be set "
            "only once per process, so spans from the global tracer (decorators, other instrumentations) go nowhere; "
            "Django requests are still traced through the new pipeline. Call setup() once per process."
        )
        return
    if isinstance(current, TracerProvider):
        _logger.warning(
            "otel_clinic: another OpenTelemetry SDK was configured before setup() (another distro/configurator?); "
            "set OTEL_PYTHON_DISTRO=otel_clinic and OTEL_PYTHON_CONFIGURATOR=otel_clinic. Our pipeline is attached "
            "to Django directly but global providers stay as they were."
        )
        return
    providers.tracer_provider._otel_clinic_owned = True  # type: ignore[attr-defined]
    trace.set_tracer_provider(providers.tracer_provider)
    metrics.set_meter_provider(providers.meter_provider)
    set_logger_provider(providers.logger_provider)


def setup(
    *,
    service_name: str | None = None,
    service_namespace: str | None = None,
    environment: str | None = None,
    release: str | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: Literal["grpc", "http/protobuf"] | None = None,
    traces_exporters: str | Sequence[str] | None = None,
    metrics_exporters: str | Sequence[str] | None = None,
    logs_exporters: str | Sequence[str] | None = None,
    export_dir: str | None = None,
    export_max_bytes: int | None = None,
    export_backups: int | None = None,
    metric_export_interval_ms: int | None = None,
    exemplar_filter: Literal["always_off", "always_on", "trace_based"] | None = None,
    sampler: str | None = None,
    sampler_arg: float | None = None,
    bsp_max_queue_size: int | None = None,
    bsp_max_export_batch_size: int | None = None,
    bsp_schedule_delay_ms: int | None = None,
    blrp_max_queue_size: int | None = None,
    retry_buffer_size: int | None = None,
    retry_max_age_s: float | None = None,
    shutdown_timeout_s: float | None = None,
    severity: SeverityThresholds | str | Sequence[float] | None = None,
    route_severity: Mapping[str, Any] | str | None = None,
    excluded_paths: str | Sequence[str] | None = None,
    slow_query_ms: float | None = None,
    server_address: str | None = None,
    instrument_django: bool | None = None,
    instrumentations: str | Sequence[str] | None = None,
    log_format: Literal["json", "text", "none"] | None = None,
    log_level: str | None = None,
    logs_bridge: bool | None = None,
    tenant_resolver: str | None = None,
    tenant_limit: int | None = None,
    scrubbing: ScrubbingOptions | Literal[False] | None = None,
    sentry: SentryOptions | Literal[False] | None = None,
    health: HealthOptions | Literal[False] | None = None,
    prometheus: PrometheusOptions | Literal[False] | None = None,
    extra_span_exporters: Sequence[Any] = (),
    extra_log_exporters: Sequence[Any] = (),
    extra_metric_readers: Sequence[Any] = (),
    log_stream: Any = None,
    **legacy: Any,
) -> ClinicTelemetry:
    """Build and install the whole pipeline (traces, metrics, logs, Django, Sentry) once per process.

    Call it once, early (``manage.py``/``wsgi.py``/``asgi.py``, before Django builds its handler); a second call
    returns the same handle. Every argument is optional: ``None`` keeps what the environment says (each keyword
    has a variable, e.g. ``service_name`` = ``OTEL_SERVICE_NAME``, listed with its default in the README's
    settings table, generated from :mod:`otel_clinic.settings`); a value given here wins over the environment.

    Keyword groups (see :mod:`otel_clinic.options`); ``False`` turns the group off:

    * ``scrubbing``: :class:`ScrubbingOptions` (mode, HMAC key, extra keys/patterns, or a whole ``policy``);
      ``False`` == ``OTEL_CLINIC_SCRUB=false`` (the Collector still scrubs; Sentry keeps its own switch).
    * ``sentry``: :class:`SentryOptions` (``dsn``, ``traces_sample_rate``, ``scrub``, ``sdk_options`` for
      ``sentry_sdk.init``); ``False``: no Sentry even with ``SENTRY_DSN`` set.
    * ``health``: :class:`HealthOptions` (``metrics`` and health-check settings); ``False``: no health metrics.
    * ``prometheus``: :class:`PrometheusOptions` (``enabled``, ``port``, ``host``); ``False``: off.

    Flat keywords: ``service_name``/``service_namespace``/``environment``/``release`` (resource and Sentry);
    ``otlp_endpoint``, ``otlp_protocol``, ``{traces,metrics,logs}_exporters`` (``otlp``, ``console``, ``file``,
    ``none``), ``export_dir`` (where ``file`` writes) and its rotation (``export_max_bytes``,
    ``export_backups``); ``sampler``/``sampler_arg``; queue, retry and ``shutdown_timeout_s`` bounds;
    ``severity``/``route_severity`` latency thresholds (ms), ``excluded_paths``, ``slow_query_ms``,
    ``server_address``; ``instrument_django``/``instrumentations``; ``log_format``, ``log_level``,
    ``logs_bridge``; ``tenant_resolver``/``tenant_limit``. Code-only: ``extra_span_exporters``,
    ``extra_log_exporters``, ``extra_metric_readers`` (added next to the configured ones, e.g. in-memory ones in
    tests) and ``log_stream`` (JSON stdout target).

    The pre-group spellings (``sentry_dsn=``, ``sentry_options=``, ``scrub_policy=``, ``scrub_enabled=``,
    ``prometheus_port=``, ``health_metrics=``, ...) are still accepted. A bad value raises
    :class:`~otel_clinic.errors.ConfigError` naming the variable or keyword (``setup(prometheus.port=...)``).

    With ``OTEL_SDK_DISABLED=true`` (the standard OpenTelemetry switch, e.g. for an incident or a bare-app
    benchmark) nothing is read or installed and a :class:`DisabledTelemetry` handle is returned.
    """
    flat = {name: value for name, value in locals().items() if name in _FLAT_KEYWORDS and value is not None}
    overrides, scrub_policy, sentry_options, health_overrides, scrub_overrides = _split_options(
        flat, legacy, scrubbing=scrubbing, sentry=sentry, health=health, prometheus=prometheus)
    with _state.lock:
        if _state.handle is not None:
            if overrides or health_overrides or scrub_overrides or extra_span_exporters or extra_metric_readers \
                    or extra_log_exporters:
                _logger.warning("otel_clinic.setup() was already called; the new arguments are ignored")
            return _state.handle
        if sdk_disabled():
            _state.handle = DisabledTelemetry()
            _logger.info("otel_clinic: OTEL_SDK_DISABLED=true, telemetry is off (setup() installed nothing)")
            return _state.handle  # type: ignore[return-value]
        config = load_config(overrides)
        _configure_tenants(config)  # loads OTEL_CLINIC_TENANT_RESOLVER: a bad one fails here, before any install
        _set_health_options(health_overrides)
        # New HTTP semantic conventions (http.server.request.duration in seconds, http.route); must be set
        # before any instrumentor initialises.
        os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
        set_current_release(ReleaseInfo(config.release, config.environment, config.release_source))
        policy = _scrub_policy(config, scrub_policy, scrub_overrides)
        providers = build_providers(
            config,
            scrub_policy=policy,
            extra_span_exporters=extra_span_exporters,
            extra_log_exporters=extra_log_exporters,
            extra_metric_readers=extra_metric_readers,
        )
        _set_globals(providers)
        meter = providers.meter_provider.get_meter("otel_clinic")
        set_instruments(Instruments(meter))
        _register_observables(config, meter)

        logging_setup = LoggingSetup()
        logging_setup.install(config, providers.logger_provider, policy, log_stream)
        handle = ClinicTelemetry(config, providers, policy, logging_setup)
        _state.handle = handle

    if config.instrument_django:
        _instrument_django(config, providers.tracer_provider)
    handle.instrumented.extend(_instrument_libraries(config, providers))
    _install_exit_flush()
    if config.sentry_dsn:
        try:
            from otel_clinic.integrations.sentry import init_sentry

            init_sentry(config, policy, **(sentry_options or {}))
            import sentry_sdk

            handle.sentry_client = sentry_sdk.get_client()  # closed (flushed) by shutdown()
        except Exception:
            _logger.warning("otel_clinic: Sentry initialisation failed; continuing without Sentry", exc_info=True)
    _logger.debug("otel_clinic configured: %s", config)
    return handle


# setup()'s flat keywords: the parameter table's top-level keywords (a test checks the signature matches).
_FLAT_KEYWORDS = frozenset(row.keyword for row in settings.PARAMS if row.keyword and "." not in row.keyword)


def _register_observables(config: ClinicConfig, meter) -> None:
    from otel_clinic.semantics.deployment import register_deployment_instruments

    register_deployment_instruments(meter)
    if config.health_metrics:
        try:
            from otel_clinic import health
        except ImportError:
            return
        register = getattr(health, "register_instruments", None)
        if register is not None:
            register(meter)


def _configure_tenants(config: ClinicConfig) -> None:
    from otel_clinic import tenants

    tenants.configure(config)


def _instrument_django(config: ClinicConfig, tracer_provider) -> None:
    """``ClinicDjangoInstrumentor`` owns every Django patch; ``shutdown()`` undoes them through it."""
    try:
        import django  # noqa: F401
    except ImportError:
        return
    from otel_clinic.integrations.django.instrumentation import instrument_django

    instrument_django(config, tracer_provider)


def _instrument_libraries(config: ClinicConfig, providers: Providers) -> list:
    """Optional contrib instrumentations, only when both the library and its instrumentation are installed.

    Returns the instrumentors this call instrumented (``shutdown()`` uninstruments exactly those)."""
    done: list = []
    targets = {
        "psycopg": ("opentelemetry.instrumentation.psycopg", "PsycopgInstrumentor", "psycopg"),
        "redis": ("opentelemetry.instrumentation.redis", "RedisInstrumentor", "redis"),
        "celery": ("opentelemetry.instrumentation.celery", "CeleryInstrumentor", "celery"),
    }
    import importlib
    import importlib.util

    for name in config.instrumentations:
        if name not in targets:
            continue
        module_name, class_name, library = targets[name]
        if importlib.util.find_spec(library) is None or importlib.util.find_spec(module_name) is None:
            continue
        try:
            instrumentor = getattr(importlib.import_module(module_name), class_name)()
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(tracer_provider=providers.tracer_provider, meter_provider=providers.meter_provider)
                done.append(instrumentor)
        except Exception:
            _logger.warning("otel_clinic: could not instrument %s", name, exc_info=True)
    return done


def _after_fork_in_child() -> None:
    handle = _state.handle
    if handle is not None:
        try:
            handle.after_fork_in_child()
        except Exception:
            pass


def post_fork(server: Any = None, worker: Any = None) -> None:
    """gunicorn ``post_fork`` hook (``post_fork = otel_clinic.post_fork`` in gunicorn.conf.py).

    The same work also runs automatically through ``os.register_at_fork``; calling both is harmless.
    """
    _after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# --- exit flush ---------------------------------------------------------------------------------------------
#
# Providers are built with shutdown_on_exit=False (the SDK's own atexit hooks are unbounded, 30 s per signal,
# and run in every forked child); instead one bounded flush runs at:
#   * interpreter exit (atexit): scripts, management commands, runserver (Ctrl-C, autoreload restarts), gunicorn
#     workers (a gracefully stopped worker leaves through sys.exit) and uWSGI workers (uwsgi.atexit);
#   * Celery prefork children (they leave through os._exit): worker_process_shutdown, when Celery is imported;
#   * SIGTERM when nobody handles it (the default action kills without atexit): we turn it into SystemExit(143)
#     so the atexit flush runs. gunicorn, uWSGI and Celery install their own handlers and keep them.
# Fork safety: the SDK empties the batch queues in a forked child and our retry buffers reset there, so a child
# exports only what it produced itself; a child that leaves through os._exit (multiprocessing) flushes nothing.

_exit_installed = False


def _exit_flush() -> None:
    handle = _state.handle
    if handle is None or getattr(handle, "disabled", False):
        return
    try:
        handle.shutdown()
    except Exception:
        pass


def _on_sigterm(signum: int, frame: Any) -> None:
    # Leave through the normal exit path (finally blocks, atexit: the bounded flush) with the usual status.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
    sys.exit(128 + signal.SIGTERM)


def _install_exit_flush() -> None:
    global _exit_installed
    with _state.lock:
        if _exit_installed:
            return
        _exit_installed = True
    atexit.register(_exit_flush)
    _connect_celery_process_shutdown()
    uwsgi = sys.modules.get("uwsgi")
    if uwsgi is not None:
        previous = getattr(uwsgi, "atexit", None)

        def _uwsgi_atexit() -> None:
            _exit_flush()
            if callable(previous):
                previous()

        uwsgi.atexit = _uwsgi_atexit
        return  # uWSGI owns its signals
    try:
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main thread / no SIGTERM on this platform
        pass


def _celery_child_exit(**kwargs: Any) -> None:
    _exit_flush()


def _connect_celery_process_shutdown() -> None:
    """Celery's prefork pool children leave through ``os._exit`` (no atexit): flush on ``worker_process_shutdown``,
    which billiard sends in the child just before. Only when Celery is already imported (a worker)."""
    if "celery" not in sys.modules:
        return
    try:
        from celery.signals import worker_process_shutdown

        worker_process_shutdown.connect(_celery_child_exit, weak=False, dispatch_uid="otel_clinic.exit_flush")
    except Exception:
        _logger.debug("could not connect Celery's worker_process_shutdown", exc_info=True)


def worker_exit(server: Any = None, worker: Any = None) -> None:
    """gunicorn ``worker_exit`` hook (``worker_exit = otel_clinic.worker_exit``): flush before the worker exits.

    The atexit flush does the same for a worker that leaves through ``sys.exit`` (every graceful stop); this
    hook also covers custom worker classes that do not.
    """
    _exit_flush()
