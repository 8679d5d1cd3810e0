"""PHI scrubbing engine benchmark (prints tables; not a pass/fail test).

    .venv/bin/python benchmarks/scrub.py [--repeat 5]

1. µs per typical attribute value: our engine (first sight and memoised) next to the same combined
   detector pattern run with stdlib ``re`` (search only, i.e. the cheapest possible stdlib cost).
2. A whole server-span attribute map through ``scrub_attributes``.
3. Throughput on log-sized text (2 KB lines with a little PHI), MB/s.
4. Adversarial 100 KB inputs: stdlib ``re`` vs RE2 search on the same pattern, side by side, and our full
   ``scrub_text`` (which truncates to the 16 KB cap first; also shown with the cap raised to 1 MB).

All rows of a table are measured in the same run, interleaved, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from otel_clinic.scrubbing import ScrubPolicy  # noqa: E402

TYPICAL = [
    "GET /api/v1/patients/{id}/",
    "patients/<int:pk>/",
    "200",
    "12.5ms",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "v5.2.19",
    "db-1.internal.clinic.local",
    "SELECT * FROM patients WHERE id = %s",
    "Patient record updated",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
]
SPAN_ATTRS = {
    "http.route": "patients/<int:pk>/",
    "http.request.method": "GET",
    "http.response.status_code": 200,
    "url.path": "/patients/12345/",
    "url.scheme": "https",
    "server.address": "clinic.example",
    "server.port": 443,
    "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    "network.protocol.version": "1.1",
    "clinic.severity": "normal",
}
LOG_LINE = (
    "INFO clinic.views request finished in 87 ms status=200 route=patients/<int:pk>/ worker=4242 "
    + "cache hit ratio 0.93 for key clinic:patient:list:v2; queue default length 3; " * 20
    + "patient: Jane Roe (MRN: A1234567) phone 555-867-5309 email jane.roe@example.com"
)
ADVERSARIAL = {
    "a" * 100_000: "100 KB 'a'",
    "1-" * 50_000: "'1-' x 50K",
    "1 " * 50_000: "'1 ' x 50K",
    "a@" * 50_000: "'a@' x 50K",
    "MRN: " * 20_000: "'MRN: ' x 20K",
    ("a" * 64 + ".") * 1_500: "dotted labels, no TLD",
    "1.1.1." * 16_000 + "x": "'1.1.1.' x 16K",
}


def best(fn: Callable[[], object], repeat: int, number: int) -> float:
    """Best seconds per call over ``repeat`` batches of ``number`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    policy = ScrubPolicy.default()
    engine = policy.engine
    stdlib = re.compile(engine.prefilter_pattern)  # the engine's no-capture fast-path pattern
    n = 2000

    # 1. per value ----------------------------------------------------------------------
    for v in TYPICAL:  # warm the memo
        policy.scrub_text(v)
    counter = iter(range(10**9))

    def uncached() -> None:
        i = next(counter)
        for v in TYPICAL:
            engine._scrub_text_uncached(f"{v} {i}")  # unique values: memo never hits

    def cached() -> None:
        for v in TYPICAL:
            policy.scrub_text(v)

    def re_search() -> None:
        for v in TYPICAL:
            stdlib.search(v)

    def re2_search() -> None:
        for v in TYPICAL:
            engine.prefilter.search(v.encode())

    k = len(TYPICAL)
    t_unc = best(uncached, args.repeat, n) / k
    t_cac = best(cached, args.repeat, n) / k
    t_re = best(re_search, args.repeat, n) / k
    t_re2 = best(re2_search, args.repeat, n) / k
    table(
        "1. Typical attribute value (10 values, µs per value; target <= 3 µs)",
        ("engine", "µs/value", "vs stdlib re search"),
        [
            ("stdlib re: search only, same pattern", f"{t_re * 1e6:.2f}", "1.00x"),
            ("RE2: search only", f"{t_re2 * 1e6:.2f}", f"{t_re2 / t_re:.2f}x"),
            ("otel_clinic scrub_text, first sight", f"{t_unc * 1e6:.2f}", f"{t_unc / t_re:.2f}x"),
            ("otel_clinic scrub_text, memoised", f"{t_cac * 1e6:.2f}", f"{t_cac / t_re:.2f}x"),
        ],
    )

    # 2. span attribute map ---------------------------------------------------------------
    t_attrs = best(lambda: policy.scrub_attributes(SPAN_ATTRS), args.repeat, n)
    fresh = iter(range(10**9))

    def unique_attrs() -> None:
        i = next(fresh)  # every value new: no memo hit, every string scanned
        policy.scrub_attributes({k: (f"{v} {i}" if isinstance(v, str) else v) for k, v in SPAN_ATTRS.items()})

    t_fresh = best(unique_attrs, args.repeat, n)
    table(
        "2. Server span attribute map (10 attributes, route known, url.path rewritten)",
        ("case", "µs/span"),
        [("values seen before (memoised)", f"{t_attrs * 1e6:.1f}"), ("all values new", f"{t_fresh * 1e6:.1f}")],
    )

    # 3. log-sized text --------------------------------------------------------------------
    size = len(LOG_LINE.encode())
    t_log = best(lambda: engine._scrub_text_uncached(LOG_LINE), args.repeat, 50)
    t_log_re = best(lambda: stdlib.findall(LOG_LINE), args.repeat, 50)
    table(
        f"3. Log-sized text ({size / 1024:.1f} KB line, 4 identifiers)",
        ("engine", "µs/line", "MB/s"),
        [
            ("stdlib re findall, same pattern", f"{t_log_re * 1e6:.0f}", f"{size / t_log_re / 1e6:.1f}"),
            ("otel_clinic scrub_text (detect + replace)", f"{t_log * 1e6:.0f}", f"{size / t_log / 1e6:.1f}"),
        ],
    )

    # 4. adversarial -----------------------------------------------------------------------
    big = ScrubPolicy(max_value_bytes=1024 * 1024)
    big.engine  # compile outside the timing
    rows = []
    for text, label in ADVERSARIAL.items():
        t_std = best(lambda: stdlib.search(text), 1, 1)
        data = text.encode()
        t_r2 = best(lambda: engine.prefilter.search(data), args.repeat, 3)
        t_ours = best(lambda: engine._scrub_text_uncached(text), args.repeat, 3)
        t_big = best(lambda: big.engine._scrub_text_uncached(text), 1, 1)
        rows.append(
            (label, f"{t_std * 1e3:.1f}", f"{t_r2 * 1e3:.2f}", f"{t_std / t_r2:.0f}x", f"{t_ours * 1e3:.2f}", f"{t_big * 1e3:.1f}")
        )
    table(
        "4. Adversarial 100 KB inputs (ms per value)",
        ("input", "stdlib re search", "RE2 search", "RE2 speed-up", "scrub_text (16 KB cap)", "scrub_text (1 MB cap)"),
        rows,
    )


if __name__ == "__main__":
    main()
