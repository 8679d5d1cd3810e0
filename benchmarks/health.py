"""Health endpoint benchmark (prints a table; not a pass/fail test).

1. Cost of `/health/live` per request next to a bare Django view returning the same bytes, both through the
   same WSGI handler and middleware, measured in alternating batches in one run -> ratio.
2. 1,000 `/health/` requests from 8 threads inside one cache interval: how many rounds of dependency checks
   ran. Counted three ways: the runner's round counter, a counting check, and Redis' own PING counter
   (INFO commandstats) against a real redis-server started for the run (skipped if redis-server is missing).

Run: .venv/bin/python benchmarks/health.py [--requests 5000]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import threading
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import include, path  # noqa: E402


def bare(request):  # the baseline: same body, no health code
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


urls = types.ModuleType("health_bench_urls")
urls.urlpatterns = [path("bare", bare), path("health/", include("otel_clinic.health.urls"))]  # type: ignore[attr-defined]
sys.modules["health_bench_urls"] = urls

settings.configure(
    SECRET_KEY="bench",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF="health_bench_urls",
    INSTALLED_APPS=["otel_clinic.integrations.django"],
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    DATABASES={},
    USE_TZ=True,
)
django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from otel_clinic import health  # noqa: E402

handler = WSGIHandler()


def environ(path_info: str) -> dict:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path_info, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }


def request(path_info: str) -> str:
    status_holder: list[str] = []
    body = b"".join(handler(environ(path_info), lambda s, h, *a: status_holder.append(s)))
    assert body, path_info
    return status_holder[0]


def per_request_us(path_info: str, n: int) -> float:
    begun = time.perf_counter()
    for _ in range(n):
        request(path_info)
    return (time.perf_counter() - begun) / n * 1e6


def bench_live(total: int) -> None:
    # Cached /health/ too: disk+memory results stay fresh for the whole run (cache interval 1 h).
    health.configure({"checks": ["disk", "memory"], "cache_interval": 3600}, use_django=False).report()
    paths = {"bare Django view": "/bare", "/health/live": "/health/live", "/health/ (cached, full JSON)": "/health/"}
    for p in paths.values():  # warm up URL resolver and middleware
        per_request_us(p, 200)
    batches, size = 20, max(total // 20, 1)
    samples: dict[str, list[float]] = {label: [] for label in paths}
    for _ in range(batches):  # alternate small batches so machine noise hits every side alike
        for label, p in paths.items():
            samples[label].append(per_request_us(p, size))
    bare = samples["bare Django view"]
    print(f"{'view':<30}{'median us/request':>18}{'ratio to bare':>16}")
    for label, values in samples.items():
        ratio = statistics.median(x / y for x, y in zip(values, bare))  # paired per batch
        print(f"{label:<30}{statistics.median(values):>18.1f}{ratio:>16.2f}")
    print(f"({batches} alternating batches of {size} requests each; ratio = median of paired batch ratios)")


def bench_single_flight(n_requests: int = 1000, n_threads: int = 8) -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def slow_dependency() -> health.Status:  # stands in for a 50 ms database round trip
        with lock:
            calls.append(1)
        time.sleep(0.05)
        return health.Status.OK

    redis_srv = None
    try:
        from tests.support.services import RedisServer, redis_available

        if redis_available():
            redis_srv = RedisServer()
            redis_srv.start()
    except Exception as exc:  # the count still stands on the other two counters
        print(f"(redis-server not used: {exc})")
        redis_srv = None

    for name in list(health.custom_checks.names()):
        health.custom_checks.unregister(name)
    health.health_check(slow_dependency, name="slow_dependency")
    options = {"checks": ["disk", "memory"], "cache_interval": 60.0, "timeout": 2.0}
    if redis_srv is not None:
        options["checks"] = ["disk", "memory", "redis"]
        options["redis_url"] = redis_srv.url
    runner = health.configure(options, use_django=False)

    def pings() -> int:
        if redis_srv is None:
            return -1
        import redis

        client = redis.Redis.from_url(redis_srv.url)
        try:
            return int(client.info("commandstats").get("cmdstat_ping", {}).get("calls", 0))
        finally:
            client.close()

    pings_before = pings()
    per_thread = n_requests // n_threads
    barrier = threading.Barrier(n_threads)
    codes: list[str] = []

    def worker() -> None:
        barrier.wait()
        for _ in range(per_thread):
            codes.append(request("/health/"))

    begun = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - begun
    pings_after = pings()
    if redis_srv is not None:
        redis_srv.cleanup()
    print()
    print(f"{n_threads * per_thread} /health/ requests from {n_threads} threads in {elapsed:.2f} s "
          f"(cache interval {runner.cache_interval:g} s)")
    print(f"{'status codes':<40}{sorted(set(codes))}")
    print(f"{'rounds of checks (runner counter)':<40}{runner.rounds}")
    print(f"{'slow_dependency executions':<40}{len(calls)}")
    print(f"{'check executions, all checks':<40}{runner.executions}")
    if redis_srv is not None:
        # one RedisCheck round = 2 PINGs (connect, then the timed one)
        print(f"{'Redis PING commands seen by the server':<40}{pings_after - pings_before}")
    verdict = "OK" if runner.rounds <= 1 and len(calls) <= 1 else "FAILED"
    print(f"at most one round of dependency checks: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000, help="requests per side for the live benchmark")
    args = parser.parse_args()
    os.environ.setdefault("OTEL_CLINIC_RELEASE", "bench")
    bench_live(args.requests)
    bench_single_flight()


if __name__ == "__main__":
    main()
