"""`otel-clinic audit`: the PHI leak audit. It must be able to fail.

1. Generates fresh canaries (`otel_clinic.canaries`): for every channel below, a new random value of every Safe
   Harbor kind it covers: names of several origins in Title/lower/UPPER case, "Last, First" and lists, with
   synthetic surnames that are in no name list; dates in five formats; SSN, MRN, member id, MBI, licence and
   account numbers bare and with context words; phone, e-mail, street address, ZIP+4, IPv4, URL.
2. Sends them through every channel of a running app (`--base-url`): raw paths (matched, unmatched, forbidden,
   CSRF-rejected), query strings, the Host / User-Agent / Referer / X-Forwarded-For / Cookie / Authorization
   headers, JSON and form bodies, exceptions that quote input (int/float/strptime/KeyError/Django field
   validation/repr of a list), %-args / f-string / exception logs, Python and cache-key warnings, raw SQL.
   Most channels use the example clinic's audit probes (examples/clinic/clinic/audit_views.py, `/api/audit/`);
   the audit refuses to pass (exit 2) when the app lacks them.
3. Waits, then reads every sink it is given: Prometheus (every label name and value), Bugsink/Sentry events
   (full payload: request, tags, contexts, breadcrumbs), the Sentry OTLP route's output, log files and
   directories, the app's stdout and stderr, Collector output (incl. the debug exporter).
4. Prints where each canary was found (sink, location, kind, form, channel) and exits 1 on any leak, 2 when a
   backend is unreachable or the injection did not happen, 0 otherwise. `--json FILE` writes the same as JSON.

    otel-clinic audit --base-url http://127.0.0.1:8000 --prometheus http://127.0.0.1:9090 \\
        --bugsink http://127.0.0.1:8001 --bugsink-token-file var/bugsink.token \\
        --sentry-otlp var/quickstart/sentry-otlp.jsonl --files var/quickstart/logs \\
        --stdout-file var/quickstart/app.stdout.log --stderr-file var/quickstart/app.stderr.log \\
        --collector-output var/quickstart/agent.log var/quickstart/gateway.log --json audit.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import unicodedata
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from otel_clinic.canaries import KINDS, Canary, CanarySet, Scanner, iter_chunks

Request = tuple[str, str, dict[str, Any]]  # method, path (+ query), requests kwargs


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _ascii(text: str) -> str:
    """Header values go on the wire as latin-1: fold accents (the scanner compares accent-insensitively)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).encode(
        "ascii", "ignore").decode()


def _probe(path: str, t: str) -> list[Request]:
    return [("GET", path, {"params": {"v": t}})]


# name -> (what it exercises, requests for one payload text). Keep names stable: reports and tests use them.
CHANNELS: dict[str, tuple[str, Callable[[str], list[Request]]]] = {
    "path.route": ("raw path matching a route with a str parameter (view logs it with %s)",
                   lambda t: [("GET", f"/api/patients/by-mrn/{_q(t)}/", {})]),
    "path.unmatched": ("raw path matching no route (Django's 'Not Found: /raw/path')",
                       lambda t: [("GET", f"/api/no-such-page/{_q(t)}/", {})]),
    "path.server-error": ("raw path of a request that fails (Django's 'Internal Server Error: /raw/path', Sentry request.url)",
                          lambda t: [("GET", f"/api/audit/echo/{_q(t)}/", {})]),
    "path.forbidden": ("raw path of a PermissionDenied ('Forbidden (Permission denied): /raw/path')",
                       lambda t: [("GET", f"/api/audit/forbidden/{_q(t)}/", {})]),
    "path.csrf": ("raw path of a CSRF rejection (django.security.csrf)",
                  lambda t: [("POST", f"/api/audit/csrf/{_q(t)}/", {"data": {"x": "1"}})]),
    "query": ("query string (a failing probe, and the search view that logs name=%s)",
              lambda t: [("GET", "/api/audit/echo/", {"params": {"q": t, "patient": t}}),
                         ("GET", "/api/patients/search/", {"params": {"name": t}})]),
    "header.host": ("Host header (server.address, Sentry request.url, DisallowedHost 'Invalid HTTP_HOST header')",
                    lambda t: [("GET", "/api/audit/echo/", {"headers": {"Host": _ascii(t)}}),
                               ("GET", "/api/audit/strict-host/", {"headers": {"Host": _ascii(t)}})]),
    "header.user-agent": ("User-Agent header",
                          lambda t: [("GET", "/api/audit/echo/", {"headers": {"User-Agent": _ascii(t)}})]),
    "header.referer": ("Referer header",
                       lambda t: [("GET", "/api/audit/echo/",
                                   {"headers": {"Referer": "https://portal.example.org/chart?patient=" + _ascii(t)}})]),
    "header.x-forwarded-for": ("X-Forwarded-For / X-Real-IP headers",
                               lambda t: [("GET", "/api/audit/echo/",
                                           {"headers": {"X-Forwarded-For": _ascii(t), "X-Real-IP": _ascii(t)}})]),
    "header.other": ("Cookie, Authorization and a custom header",
                     lambda t: [("GET", "/api/audit/echo/", {"headers": {
                         "Cookie": f"patient={_q(t)}", "Authorization": f"Bearer {_ascii(t)}", "X-Patient": _ascii(t)}})]),
    "body.json": ("JSON body (a failing probe; the patients view logging rejected names with %s)",
                  lambda t: [("POST", "/api/audit/echo/", {"json": {"patient": t, "notes": t}}),
                             ("POST", "/api/patients/", {"json": {"first_name": t, "last_name": t}})]),
    "body.form": ("form body (a failing probe; int() of a form field)",
                  lambda t: [("POST", "/api/audit/echo/", {"data": {"patient": t}}),
                             ("POST", "/api/audit/convert/int/", {"data": {"v": t}})]),
    "exc.int": ("int() of input: invalid literal for int() with base 10: '…'", lambda t: _probe("/api/audit/convert/int/", t)),
    "exc.float": ("float() of input: could not convert string to float: '…'", lambda t: _probe("/api/audit/convert/float/", t)),
    "exc.strptime": ("datetime.strptime: time data '…' does not match format", lambda t: _probe("/api/audit/convert/strptime/", t)),
    "exc.keyerror": ("KeyError('…')", lambda t: _probe("/api/audit/convert/keyerror/", t)),
    "exc.datefield": ("Django DateField: “…” value has an invalid date format", lambda t: _probe("/api/audit/convert/datefield/", t)),
    "exc.decimalfield": ("Django DecimalField: “…” value must be a decimal number", lambda t: _probe("/api/audit/convert/decimalfield/", t)),
    "exc.repr": ("repr() of a list in an exception message", lambda t: _probe("/api/audit/convert/repr/", t)),
    "exc.fstring": ("f-string exception messages of the clinic views (/api/boom/, prescription validation)",
                    lambda t: [("GET", "/api/boom/", {"params": {"patient": t}}),
                               ("POST", "/api/prescriptions/", {"json": {"patient_name": t}})]),
    "log.percent": ("%-args log calls (INFO breadcrumbs, WARNING, ERROR event; UPPER case; a list)",
                    lambda t: _probe("/api/audit/log/percent/", t)),
    "log.fstring": ("f-string log calls (INFO, WARNING upper case, ERROR with a list)", lambda t: _probe("/api/audit/log/fstring/", t)),
    "log.exception": ("log.exception() of a conversion error quoting input", lambda t: _probe("/api/audit/log/exception/", t)),
    "warning.python": ("warnings.warn() with input (stderr)", lambda t: _probe("/api/audit/warn/python/", t)),
    "warning.cachekey": ("CacheKeyWarning quoting a cache key built from input", lambda t: _probe("/api/audit/warn/cachekey/", t)),
    "sql.literal": ("raw SQL with the input as a string literal", lambda t: _probe("/api/audit/sql/literal/", t)),
    "sql.param": ("raw SQL with the input as a parameter", lambda t: _probe("/api/audit/sql/param/", t)),
    "sql.error": ("raw SQL syntax error quoting the input", lambda t: _probe("/api/audit/sql/error/", t)),
}


def new_canaries(seed: int | None = None, channels: Sequence[str] | None = None) -> CanarySet:
    return CanarySet.generate(list(channels or CHANNELS), seed)


class Canaries:
    """Compatibility name: `Canaries.generate(seed)` is `new_canaries(seed)` (every channel)."""

    generate = staticmethod(new_canaries)


# ---------------------------------------------------------------------------------------------------------
# Injection


@dataclass
class InjectionReport:
    requests_sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    probes_available: bool = True


def injection_requests(base_url: str, canaries: CanarySet) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(channel, method, url, requests kwargs) for every payload of every channel of the set."""
    base = base_url.rstrip("/")
    for channel in canaries.channels:
        build = CHANNELS[channel][1]
        for _group, text, _members in canaries.payloads(channel):
            for method, path, kwargs in build(text):
                yield channel, method, base + path, kwargs


def probes_available(base_url: str, timeout: float = 10.0) -> bool:
    try:
        resp = requests.get(base_url.rstrip("/") + "/api/audit/", timeout=timeout)
        return resp.status_code == 200 and resp.json().get("audit") == 1
    except (requests.RequestException, ValueError):
        return False


def inject(base_url: str, canaries: CanarySet, concurrency: int = 4, timeout: float = 15.0) -> InjectionReport:
    report = InjectionReport(probes_available=probes_available(base_url))
    reqs = list(injection_requests(base_url, canaries))

    def send(item: tuple[str, str, str, dict[str, Any]]) -> tuple[str, int | None, str | None]:
        channel, method, url, kwargs = item
        try:
            resp = requests.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
            return channel, resp.status_code, None
        except (requests.RequestException, UnicodeError, ValueError) as exc:
            return channel, None, f"{channel} {method} {url[:80]}: {exc}"

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for channel, status, error in pool.map(send, reqs):
            report.requests_sent += 1
            per = report.by_channel.setdefault(channel, {})
            key = str(status) if status is not None else "error"
            per[key] = per.get(key, 0) + 1
            if status is not None:
                report.statuses[status] = report.statuses.get(status, 0) + 1
            if error:
                report.errors.append(error)
    return report


# ---------------------------------------------------------------------------------------------------------
# Sinks: each yields (location, text) documents.

Document = tuple[str, str]
REACH_MARKERS = ("api/audit", "clinic.audit", "audit_views", "auditprobeerror", "audit probe")
# An app that routes warnings into logging leaves nothing of the audit on stderr: that is not a blind sink.
REACH_OPTIONAL = frozenset({"app-stderr"})


def prometheus_documents(url: str) -> Iterator[Document]:
    """Every label name, and every value of every label (metric names are the values of __name__)."""
    base = url.rstrip("/")
    resp = requests.get(f"{base}/api/v1/labels", timeout=30)
    resp.raise_for_status()
    names = resp.json()["data"]
    yield "label names", json.dumps(names)
    for label in names:
        resp = requests.get(f"{base}/api/v1/label/{label}/values", timeout=30)
        resp.raise_for_status()
        yield f"values of label {label!r}", json.dumps(resp.json()["data"])


def bugsink_documents(url: str, token: str, project: int | None = None) -> Iterator[Document]:
    """Every issue and every stored event (full payload: request, tags, contexts, breadcrumbs, exception)."""
    base = url.rstrip("/") + "/api/canonical/0/"
    headers = {"Authorization": f"Bearer {token}"}

    def pages(path: str, **params: Any) -> Iterator[dict[str, Any]]:
        next_url: str | None = base + path
        query: dict[str, Any] | None = params
        while next_url:
            resp = requests.get(next_url, params=query, headers=headers, timeout=30)
            resp.raise_for_status()
            body = resp.json()
            yield from body["results"]
            next_url, query = body.get("next"), None

    projects = [project] if project is not None else [p["id"] for p in pages("projects/")]
    for project_id in projects:
        for issue in pages("issues/", project=project_id):
            yield f"issue {issue['id']}", json.dumps(issue)
            for summary in pages("events/", issue=issue["id"]):
                resp = requests.get(f"{base}events/{summary['id']}/", headers=headers, timeout=30)
                resp.raise_for_status()
                yield f"event {summary['id']} (issue {issue['id']})", resp.text


def file_documents(paths: Iterable[Path]) -> Iterator[Document]:
    """Every file under the given files/directories (recursively), as text (binary protobuf dumps included:
    their strings are UTF-8)."""
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            data = path.read_bytes()
            for i, chunk in enumerate(iter_chunks(data)):
                yield (str(path) if i == 0 else f"{path} (chunk {i})"), chunk


# ---------------------------------------------------------------------------------------------------------
# Scanning and the report


@dataclass(frozen=True)
class Finding:
    sink: str
    location: str
    canary: str
    kind: str
    form: str
    channel: str
    group: str
    needle: str
    excerpt: str

    def __str__(self) -> str:
        return (f"LEAK {self.kind} ({self.form}) via {self.channel} in {self.sink} at {self.location}: "
                f"[{self.needle}] …{self.excerpt}…")


@dataclass
class SinkResult:
    documents: int = 0
    characters: int = 0
    reached: bool = False
    error: str | None = None


def scan_documents(sink: str, docs: Iterable[Document], scanner: Scanner, canaries: dict[str, Canary],
                   result: SinkResult) -> list[Finding]:
    findings: list[Finding] = []
    for location, text in docs:
        result.documents += 1
        result.characters += len(text)
        if not result.reached:
            lowered = text.lower()
            result.reached = any(m in lowered for m in REACH_MARKERS)
        for match in scanner.scan(text):
            c = canaries[match.canary_id]
            findings.append(Finding(sink, location, c.id, c.kind, c.form, c.channel, c.group, match.needle, match.excerpt))
    return findings


def scan_text(text: str, canaries: CanarySet, sink: str = "text", where: str = "text") -> list[Finding]:
    """Findings of one text (tests and ad-hoc checks)."""
    return scan_documents(sink, [(where, text)], Scanner(canaries.canaries), canaries.by_id(), SinkResult())


def scan_files(paths: Iterable[Path], canaries: CanarySet, sink: str = "files") -> list[Finding]:
    return scan_documents(sink, file_documents(paths), Scanner(canaries.canaries), canaries.by_id(), SinkResult())


def summarize(findings: Sequence[Finding], canaries: CanarySet) -> dict[str, Any]:
    leaks = {(f.sink, f.canary) for f in findings}
    by_sink_kind: dict[str, Counter[str]] = defaultdict(Counter)
    by_channel: dict[str, Counter[str]] = defaultdict(Counter)
    per_canary = {(f.sink, f.canary): f for f in findings}
    for (sink, _), f in per_canary.items():
        by_sink_kind[sink][f.kind] += 1
        by_channel[f.channel][sink] += 1
    leaked = {c for _, c in leaks}
    by_kind_total = Counter(c.kind for c in canaries.canaries)
    by_kind_leaked = Counter(c.kind for c in canaries.canaries if c.id in leaked)
    return {
        "canaries": len(canaries.canaries),
        "leaked_canaries": len(leaked),
        "leaks": len(leaks),  # distinct (sink, canary) pairs
        "findings": len(findings),  # (sink, location, canary)
        "by_sink": {s: sum(k.values()) for s, k in sorted(by_sink_kind.items())},
        "by_sink_and_kind": {s: dict(sorted(k.items())) for s, k in sorted(by_sink_kind.items())},
        "by_channel_and_sink": {ch: dict(sorted(s.items())) for ch, s in sorted(by_channel.items())},
        "by_kind": {k: {"canaries": by_kind_total[k], "leaked": by_kind_leaked[k]} for k in KINDS},
        "by_form": dict(sorted(Counter(f"{c.kind}:{c.form.split(':')[0]}" for c in canaries.canaries
                                       if c.id in leaked).items())),
    }


def _grid(title: str, rows_by: dict[str, dict[str, int]], row_names: Iterable[str], columns: Sequence[str]) -> str:
    rows = [[title, *columns]]
    for name in row_names:
        counts = rows_by.get(name, {})
        if counts or title == "kind":
            rows.append([name, *[str(counts.get(col, 0)) for col in columns]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows)


def _table(summary: dict[str, Any]) -> str:
    """Leaked canaries per kind x sink, then per channel x sink (channels without a leak left out)."""
    sinks = sorted(summary["by_sink_and_kind"])
    if not sinks:
        return ""
    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for sink, kinds in summary["by_sink_and_kind"].items():
        for kind, n in kinds.items():
            by_kind[kind][sink] = n
    by_kind["total"] = summary["by_sink"]
    return (_grid("kind", by_kind, [*KINDS, "total"], sinks) + "\n\n"
            + _grid("channel", summary["by_channel_and_sink"], CHANNELS, sinks))


def _file_sinks(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    return [(name, paths) for name, paths in (
        ("files", args.files), ("sentry-otlp", args.sentry_otlp), ("app-stdout", args.stdout_file),
        ("app-stderr", args.stderr_file), ("collector", args.collector_output)) if paths]


def run_audit(args: argparse.Namespace) -> int:
    out = sys.stdout if args.json != "-" else sys.stderr
    report: dict[str, Any] = {}
    exit_code = _run(args, out, report)
    report["exit_code"] = exit_code
    if args.json:
        text = json.dumps(report, indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return exit_code


def _secret(path: str | None, env_var: str) -> str | None:
    """A secret from a file (first line) or the environment, never from argv."""
    if path:
        try:
            return Path(path).read_text().strip() or None
        except OSError:
            return None
    return os.environ.get(env_var) or None


def _run(args: argparse.Namespace, out: Any, report: dict[str, Any]) -> int:
    if args.canaries:
        canaries = CanarySet.from_json(json.loads(Path(args.canaries).read_text()))
    else:
        channels = [c.strip() for c in args.channels.split(",")] if args.channels else list(CHANNELS)
        unknown = sorted(set(channels) - set(CHANNELS))
        if unknown:
            print(f"audit: unknown channels {unknown}; known: {', '.join(CHANNELS)}", file=sys.stderr)
            return 2
        canaries = new_canaries(args.seed, channels)
    if args.save_canaries:
        Path(args.save_canaries).write_text(json.dumps(canaries.to_json()))
    report.update(seed=canaries.seed, channels=list(canaries.channels), canary_count=len(canaries.canaries))
    print(f"canaries: seed {canaries.seed}, {len(canaries.canaries)} canaries ({len(KINDS)} kinds) over "
          f"{len(canaries.channels)} channels", file=out)
    file_sinks = _file_sinks(args)
    if not (args.prometheus or args.bugsink or file_sinks):
        print("audit: no sink given (--prometheus, --bugsink, --files, --sentry-otlp, --stdout-file, "
              "--stderr-file, --collector-output)", file=sys.stderr)
        return 2
    if args.bugsink_token is not None:
        print("audit: --bugsink-token is refused: a token on the command line is visible to every local user "
              "(ps, /proc/*/cmdline, shell history); set BUGSINK_TOKEN or pass --bugsink-token-file", file=sys.stderr)
        return 2
    bugsink_token = None
    if args.bugsink:
        bugsink_token = _secret(args.bugsink_token_file, "BUGSINK_TOKEN")
        if not bugsink_token:
            print("audit: --bugsink needs a token: BUGSINK_TOKEN or --bugsink-token-file (readable, non-empty)",
                  file=sys.stderr)
            return 2
    if args.base_url:
        inj = inject(args.base_url, canaries, concurrency=args.concurrency)
        report["injection"] = asdict(inj)
        print(f"injected {inj.requests_sent} requests into {args.base_url}: statuses {dict(sorted(inj.statuses.items()))}",
              file=out)
        if inj.errors:
            print(f"{len(inj.errors)} requests failed, e.g. {inj.errors[:3]}", file=out)
        if inj.requests_sent == len(inj.errors):
            print("audit: no injection request reached the app", file=sys.stderr)
            return 2
        if not inj.probes_available and not args.allow_missing_probes:
            print("audit: the app has no audit probes at /api/audit/ (examples/clinic/clinic/audit_views.py): most "
                  "channels were not exercised; add them or pass --allow-missing-probes", file=sys.stderr)
            return 2
        if args.wait:
            print(f"waiting {args.wait:g}s for telemetry to reach the sinks", file=out)
            time.sleep(args.wait)
    scanner = Scanner(canaries.canaries)
    by_id = canaries.by_id()
    findings: list[Finding] = []
    sinks: dict[str, SinkResult] = {}
    unreachable = False

    def scan(name: str, docs: Iterable[Document]) -> None:
        nonlocal unreachable
        result = sinks.setdefault(name, SinkResult())
        try:
            findings.extend(scan_documents(name, docs, scanner, by_id, result))
        except (requests.RequestException, OSError, KeyError, ValueError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
            unreachable = True

    if args.prometheus:
        scan("prometheus", prometheus_documents(args.prometheus))
    if args.bugsink:
        scan("bugsink", bugsink_documents(args.bugsink, bugsink_token, args.bugsink_project))
    for name, paths in file_sinks:
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            sinks[name] = SinkResult(error=f"missing paths {missing}")
            unreachable = True
            continue
        scan(name, file_documents(Path(p) for p in paths))
    summary = summarize(findings, canaries)
    report.update(sinks={k: asdict(v) for k, v in sinks.items()}, summary=summary,
                  findings=[asdict(f) for f in findings])
    for finding in findings:
        print(str(finding), file=out)
    for name, result in sinks.items():
        state = "ERROR " + result.error if result.error else (
            f"{result.documents} documents, {result.characters} chars"
            + ("" if result.reached else ", NO trace of the audit's traffic (not reached?)"))
        print(f"sink {name}: {state}", file=out)
    print(f"checked: {'; '.join(sinks)}", file=out)
    table = _table(summary)
    if table:
        print("leaked canaries per sink, by kind and by channel:\n" + table, file=out)
    if unreachable:
        print("audit: a sink could not be read (see above)", file=sys.stderr)
        return 2
    if args.require_reach:
        missed = [n for n, r in sinks.items() if not r.reached and n not in REACH_OPTIONAL]
        if missed:
            print(f"audit: sinks show no trace of the audit's traffic: {missed}", file=sys.stderr)
            return 2
    if findings:
        print(f"audit FAILED: {summary['leaks']} leak(s): {summary['leaked_canaries']} of {summary['canaries']} "
              f"canaries found in {len(summary['by_sink'])} sink(s)", file=out)
        return 1
    print(f"audit passed: none of {summary['canaries']} canaries found in {len(sinks)} sink(s)", file=out)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="inject fresh canary PHI through every channel of the app and check every sink for it (exit 1 on a leak)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base-url", help="the running app to inject canaries into (omit to only scan)")
    parser.add_argument("--seed", type=int, help="canary seed (default: fresh random; the same seed gives the same canaries)")
    parser.add_argument("--channels", help=f"comma list of channels (default all): {', '.join(CHANNELS)}")
    parser.add_argument("--canaries", help="read the canary set from this JSON file (from --save-canaries)")
    parser.add_argument("--save-canaries", help="write the canary set as JSON (to scan again later with --canaries)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel injection requests (default 4)")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait after injecting (default 20)")
    parser.add_argument("--allow-missing-probes", action="store_true",
                        help="pass even when the app has no /api/audit/ probes (most channels then go unexercised)")
    parser.add_argument("--require-reach", action="store_true",
                        help="exit 2 when a sink (other than --stderr-file) shows no trace of the audit's own traffic")
    parser.add_argument("--prometheus", help="Prometheus base URL: every label name and value is checked")
    parser.add_argument("--bugsink", help="Bugsink (Sentry-protocol) base URL: every event of every issue is checked")
    parser.add_argument("--bugsink-token-file",
                        help="file holding the Bugsink API token (bugsink-manage create_auth_token); default: the "
                             "BUGSINK_TOKEN environment variable")
    parser.add_argument("--bugsink-token", help=argparse.SUPPRESS)  # refused with the reason (secrets never in argv)
    parser.add_argument("--bugsink-project", type=int, help="only this Bugsink project id")
    parser.add_argument("--files", nargs="*", default=[], help="log files or directories (recursive)")
    parser.add_argument("--sentry-otlp", nargs="*", default=[],
                        help="what the gateway's Sentry OTLP route delivered (the quick start's recording stand-in dump)")
    parser.add_argument("--stdout-file", nargs="*", default=[], help="the app's captured stdout")
    parser.add_argument("--stderr-file", nargs="*", default=[], help="the app's captured stderr")
    parser.add_argument("--collector-output", nargs="*", default=[],
                        help="Collector output: agent/gateway logs, debug exporter output")
    parser.add_argument("--json", help="write the report as JSON to this file ('-': to stdout, text goes to stderr)")
    parser.set_defaults(func=run_audit)
