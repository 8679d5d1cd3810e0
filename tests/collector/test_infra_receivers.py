"""Infrastructure metrics through the real pipeline, all on loopback:

    hostmetrics (this host) + redis receiver (a redis-server started here) + prometheus receiver scraping
    postgres_exporter (against a PostgreSQL started here)
      -> agent Collector (otelcol-agent.yaml + phi + the host/redis/postgresql overlays)
      -> gateway Collector -> Prometheus remote write, with all our rule files loaded.

Each infrastructure alert's value expression (the side compared with the threshold) must return series, so a
renamed metric or label breaks this test instead of silently never alerting. Credentials: the PostgreSQL
password reaches postgres_exporter through DATA_SOURCE_PASS_FILE, never a command line.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import secrets
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import promql_parser
import psycopg
import pytest
import redis
import requests
import yaml

from tests.ops.opspack import alert_rules, metric_names, rule_files
from tests.support import promstack
from tests.support.collector import COLLECTOR_DIR, OtlpSink, agent_env, build_collector, collector, gateway_env
from tests.support.services import postgres_server, redis_server

pytestmark = [pytest.mark.e2e, pytest.mark.services]

POSTGRES_EXPORTER = os.environ.get("OTEL_CLINIC_POSTGRES_EXPORTER_BIN", "/usr/bin/prometheus-postgres-exporter")
BLACKBOX_EXPORTER = os.environ.get("OTEL_CLINIC_BLACKBOX_EXPORTER_BIN", "/usr/bin/prometheus-blackbox-exporter")
OVERLAYS = [COLLECTOR_DIR / f"otelcol-agent-{name}.yaml" for name in ("host", "redis", "postgresql", "certs")]
CERT_DAYS = 10  # the served certificate's lifetime: inside ClinicTlsCertificateExpiring's 30-day warning
HOST = "e2e-host"

# Alerts fed by the infrastructure receivers (their other `or` branches read node_exporter/app metrics).
INFRA_ALERTS = {
    "ClinicHostCpuHigh", "ClinicHostMemoryHigh", "ClinicHostDiskFull", "ClinicDbServerConnectionsHigh",
    "ClinicDbServerConnectionsNearMax", "ClinicCacheHitRatioLow", "ClinicRedisEvicting", "ClinicTlsCertificateExpiring",
}
INFRA_PREFIXES = ("system_", "pg_", "redis_", "probe_")


@contextlib.contextmanager
def postgres_exporter(dsn_host_port: str, database: str, user: str, password: str) -> Iterator[str]:
    """postgres_exporter on a free loopback port; yields its host:port. The password goes in a 0600 file."""
    workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-pgexp-"))
    pass_file = workdir / "password"
    pass_file.write_text(password)
    pass_file.chmod(0o600)
    port = promstack.free_port()
    env = {"PATH": os.environ.get("PATH", ""),
           "DATA_SOURCE_URI": f"{dsn_host_port}/{database}?sslmode=disable",
           "DATA_SOURCE_USER": user, "DATA_SOURCE_PASS_FILE": str(pass_file)}
    log = open(workdir / "exporter.log", "wb")
    proc = subprocess.Popen([POSTGRES_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if "pg_up 1" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres_exporter not up:\n{(workdir / 'exporter.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, needle: str = "") -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            resp = requests.get(url, timeout=2)
            if resp.status_code == 200 and needle in resp.text:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} not up:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def tls_server(days: int) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on loopback with a fresh self-signed certificate valid for `days`; yields (host:port, cert)."""
    workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-tls-"))
    cert, key = workdir / "tls.crt", workdir / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", str(days), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def blackbox_exporter(ca_file: Path) -> Iterator[str]:
    """blackbox_exporter with our modules (collector/prometheus/blackbox.yml), trusting `ca_file`; yields host:port."""
    workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-blackbox-"))
    config = yaml.safe_load((COLLECTOR_DIR / "prometheus" / "blackbox.yml").read_text())
    config["modules"]["tls_connect"]["tcp"]["tls_config"]["ca_file"] = str(ca_file)
    (workdir / "blackbox.yml").write_text(yaml.safe_dump(config))
    port = promstack.free_port()
    log = open(workdir / "blackbox.log", "wb")
    proc = subprocess.Popen([BLACKBOX_EXPORTER, f"--config.file={workdir / 'blackbox.yml'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/metrics", proc, workdir / "blackbox.log")
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)
        log.close()


def value_expressions(expr: str) -> list[str]:
    """The measured side of each `or` branch: `A > 0.9 or B > 0.9` -> [A, B]; `X < 0.7 and Y > 0.1` -> [X]."""
    def walk(node) -> list[str]:  # type: ignore[no-untyped-def]
        kind = type(node).__name__
        if kind == "ParenExpr":
            return walk(node.expr)
        if kind == "BinaryExpr":
            op = str(node.op)
            if op == "or":
                return walk(node.lhs) + walk(node.rhs)
            if op in ("and", "unless"):
                return walk(node.lhs)
            if op in (">", "<", ">=", "<=", "==", "!=") and type(node.rhs).__name__ == "NumberLiteral":
                return walk(node.lhs)
        return [node.prettify()]
    return walk(promql_parser.parse(expr))


def test_value_expressions_split_branches() -> None:
    assert value_expressions("a > 1 or (b / c) < 0.5 and d > 0") == ["a", "b / c"]


@pytest.fixture(scope="module")
def infra_prom():  # type: ignore[no-untyped-def]
    build_collector()
    config = {"global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
              "storage": {"tsdb": {"out_of_order_time_window": "30m"}}, "scrape_configs": []}
    with (
        postgres_server() as pg,
        redis_server() as rd,
        postgres_exporter(f"127.0.0.1:{pg.port}", pg.database, pg.user, pg.password) as exporter,
        tls_server(CERT_DAYS) as (tls_target, tls_cert),
        blackbox_exporter(tls_cert) as blackbox,
        OtlpSink() as sink,
        promstack.prometheus(config, rule_files=rule_files(), remote_write_receiver=True) as prom,
        collector("gateway", gateway_env(sentry_endpoint=sink.base_url, sentry_key=secrets.token_hex(16),
                                         remote_write_url=f"{prom.url}/api/v1/write")) as gateway,
        collector("agent", agent_env([gateway], OTELCOL_INFRA_INTERVAL="1s", OTELCOL_HOST_NAME=HOST,
                                     OTELCOL_REDIS_ENDPOINT=f"127.0.0.1:{rd.port}",
                                     OTELCOL_POSTGRESQL_EXPORTER_ENDPOINT=exporter,
                                     OTELCOL_CERT_PROBE_TARGETS=f"[{tls_target}]", OTELCOL_CERT_PROBE_INTERVAL="1s",
                                     OTELCOL_BLACKBOX_ENDPOINT=blackbox),
                  extra_configs=OVERLAYS),
    ):
        # Some cache traffic (hits and misses) and a committed transaction, so rates are non-zero.
        client = redis.Redis(host="127.0.0.1", port=rd.port)
        client.set("k", "v")
        with psycopg.connect(pg.dsn) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            for key in ("k", "k", "missing"):
                client.get(key)
            # Two samples of each source (rate() needs them): hits grew, CPU time and commits have a rate.
            if all(prom.query(q) for q in ('count(rate(redis_keyspace_hits_total[10s]) > 0)',
                                           'count(rate(system_cpu_time_seconds_total[10s]))',
                                           'count(rate(pg_stat_database_xact_commit_total[10s]))',
                                           'probe_ssl_earliest_cert_expiry')):
                break
            time.sleep(0.5)
        yield prom


def test_every_infra_metric_family_reaches_prometheus(infra_prom) -> None:  # type: ignore[no-untyped-def]
    names = set(infra_prom.metric_names())
    expected = {
        # host
        "system_cpu_utilization_ratio", "system_memory_utilization_ratio", "system_filesystem_utilization_ratio",
        "system_cpu_load_average_1m", "system_network_io_bytes_total", "system_paging_operations_total",
        # PostgreSQL (postgres_exporter via the prometheus receiver)
        "pg_stat_activity_count", "pg_settings_max_connections", "pg_stat_database_xact_commit_total",
        "pg_stat_database_xact_rollback_total", "pg_stat_database_deadlocks_total", "pg_database_size_bytes",
        # Redis
        "redis_memory_used_bytes", "redis_clients_connected", "redis_keyspace_hits_total",
        "redis_keyspace_misses_total", "redis_keys_evicted_total", "redis_maxmemory_bytes",
    }
    assert expected <= names, sorted(expected - names)
    # The exporter's hundreds of pg_settings_* series are dropped at the receiver (only max_connections kept).
    assert not [n for n in names if n.startswith("pg_settings_") and not n.startswith(
        ("pg_settings_max_connections", "pg_settings_superuser_reserved_connections"))]


def test_series_carry_the_host_identity(infra_prom) -> None:  # type: ignore[no-untyped-def]
    host = infra_prom.series('system_memory_utilization_ratio{state="used"}')
    assert host and {s["job"] for s in host} == {"host"} and {s["instance"] for s in host} == {HOST}
    assert {s["job"] for s in infra_prom.series("redis_clients_connected")} == {"redis"}
    assert {s["job"] for s in infra_prom.series("pg_up")} == {"postgresql"}


def test_each_infra_alert_expression_returns_series(infra_prom) -> None:  # type: ignore[no-untyped-def]
    rules = [a for a in alert_rules() if a.name in INFRA_ALERTS]
    assert {a.name for a in rules} == INFRA_ALERTS
    empty = []
    for alert in rules:
        for expr in value_expressions(alert.rule["expr"]):
            if not all(n.startswith(INFRA_PREFIXES) for n in metric_names(expr)):
                continue  # a node_exporter / application branch: not fed by these receivers
            if not infra_prom.query(expr):
                empty.append(f"{alert.name}: {expr}")
    assert not empty, "no series for:\n" + "\n".join(empty)


def test_rules_evaluate_without_errors(infra_prom) -> None:  # type: ignore[no-untyped-def]
    broken = [f"{r['name']}: {r.get('lastError')}" for g in infra_prom.rules() for r in g["rules"]
              if r["health"] == "err"]
    assert not broken, broken


def test_infrastructure_dashboard_panels_have_data(infra_prom) -> None:  # type: ignore[no-untyped-def]
    from tests.ops import grafana
    from tests.ops.opspack import GRAFANA_DIR
    from tests.ops.test_grafana_dashboards import CORE_PANELS

    dashboard = grafana.load(GRAFANA_DIR / "dashboards" / "clinic-infrastructure.json")
    values = grafana.resolve_variables(infra_prom, dashboard)
    assert HOST in values["host__values"].split(",")
    empty = grafana.empty_panels(infra_prom, dashboard, CORE_PANELS["clinic-infrastructure"])
    assert not empty, "panels without data:\n" + "\n".join(empty)


def test_certificate_expiry_is_probed_through_the_collector(infra_prom) -> None:  # type: ignore[no-untyped-def]
    days = infra_prom.query('(min by (job, instance) (probe_ssl_earliest_cert_expiry) - time()) / 86400')
    assert len(days) == 1 and days[0]["metric"]["job"] == "tls-certificates"
    assert CERT_DAYS - 1 < float(days[0]["value"][1]) <= CERT_DAYS
    assert infra_prom.query('probe_success{job="tls-certificates"} == 1'), "the verified handshake must succeed"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.stem)
def test_each_overlay_is_optional_and_validates_alone(overlay: Path) -> None:
    """A host without PostgreSQL or Redis composes only the overlays it needs."""
    from tests.support.collector import validate

    build_collector()
    result = validate(COLLECTOR_DIR / "otelcol-agent.yaml", COLLECTOR_DIR / "otelcol-agent-phi.yaml", overlay)
    assert result.returncode == 0, result.stderr[-3000:]
