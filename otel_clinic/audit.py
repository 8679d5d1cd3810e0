"""`otel-clinic audit`: the PHI leak audit.

Injects canary PHI (unique per run: SSN, email, phone, MRN, date of birth, card number) through every
input of a running app (paths, query strings, headers, bodies, exception messages, log calls, SQL), waits
for the telemetry to flow, then reads every backend it is given (Prometheus series and label values,
Bugsink events, collector log files, OTLP sink dumps) and exits non-zero, printing where, if any canary
value is found anywhere.

    otel-clinic audit --base-url http://127.0.0.1:8000 --prometheus http://127.0.0.1:9090 \
        --bugsink http://127.0.0.1:8001 --bugsink-token TOKEN --files /var/log/otelcol-clinic \
        --wait 20
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests


def _luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit so card detectors that validate checksums still see a real-looking PAN."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix + str((10 - total % 10) % 10)


_FIRST_NAMES = ("Janet", "Marcus", "Priya", "Tomasz", "Aiko", "Fatima", "Diego", "Ingrid")


@dataclass(frozen=True)
class Canaries:
    """One run's canary PHI values. Each is unique enough that finding it anywhere means it leaked."""

    ssn: str
    email: str
    phone: str
    mrn: str
    dob: str
    card: str
    name: str

    @classmethod
    def generate(cls, seed: int | None = None) -> Canaries:
        rng = random.Random(seed)
        tag = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(8))
        return cls(
            ssn=f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
            email=f"pt.{tag}@example.com",
            phone=f"({rng.randint(201, 989)}) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}",
            mrn=f"MRN{rng.randint(10_000_000, 99_999_999)}",
            dob=f"{rng.randint(1930, 1999)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            card=_luhn_complete("4" + "".join(str(rng.randint(0, 9)) for _ in range(14))),
            name=f"{rng.choice(_FIRST_NAMES)} Canary{tag.capitalize()}",
        )

    def items(self) -> list[tuple[str, str]]:
        return [(k, getattr(self, k)) for k in ("ssn", "email", "phone", "mrn", "dob", "card", "name")]

    def sentence(self) -> str:
        """All canaries in the context a real leak would have them (so context-based detectors fire too)."""
        return (
            f"patient {self.name} ssn: {self.ssn} email {self.email} phone {self.phone} "
            f"MRN: {self.mrn} dob: {self.dob} card {self.card}"
        )

    def needles(self) -> list[tuple[str, str]]:
        """(kind, needle) to search for: each value as written, plus digits-only forms of numeric ones."""
        out: list[tuple[str, str]] = []
        for kind, value in self.items():
            out.append((kind, value))
            digits = "".join(c for c in value if c.isdigit())
            if kind in ("ssn", "phone", "card") and digits != value:
                out.append((kind, digits))
        out.append(("mrn", self.mrn.removeprefix("MRN")))
        out.append(("email", self.email.split("@")[0]))
        out.append(("name", self.name.split()[-1]))
        return out


@dataclass(frozen=True)
class Finding:
    backend: str
    where: str
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"LEAK {self.kind} in {self.backend} at {self.where}: …{self.excerpt}…"


def scan_text(text: str, canaries: Canaries, backend: str, where: str) -> list[Finding]:
    """Every canary needle found in `text` (also percent-decoded). Digits-only needles must stand alone
    (no digit on either side) so long numbers such as nanosecond timestamps do not match by chance."""
    findings = []
    variants = (text, urllib.parse.unquote_plus(text)) if "%" in text or "+" in text else (text,)
    for kind, needle in canaries.needles():
        pattern = re.compile(rf"(?<!\d){needle}(?!\d)" if needle.isdigit() else re.escape(needle))
        for variant in variants:
            match = pattern.search(variant)
            if match:
                start = match.start()
                findings.append(Finding(backend, where, kind, variant[max(0, start - 60) : start + len(needle) + 20]))
                break
    return findings


# ---------------------------------------------------------------------------------------------------------
# Injection: drive every input of the app with canaries.


@dataclass
class InjectionReport:
    requests_sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def injection_requests(base_url: str, canaries: Canaries) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, url, requests kwargs) for each way PHI can enter the example clinic app: paths, query
    strings, headers (auth, cookies, custom), JSON bodies, exception messages, log calls and SQL parameters."""
    base = base_url.rstrip("/")
    q = urllib.parse.quote
    sentence = canaries.sentence()
    headers = {
        "X-Patient-Email": canaries.email,
        "Cookie": f"patient={canaries.mrn}; ssn={canaries.ssn}",
        "User-Agent": f"audit-client {canaries.phone}",
        "Referer": f"{base}/api/patients/search/?ssn={canaries.ssn}",
    }
    # Query strings -> url attributes, a log call ("patient search for name=...") and a SQL LIKE parameter.
    yield "GET", f"{base}/api/patients/search/", {
        "params": {"name": canaries.name, "ssn": canaries.ssn, "email": canaries.email, "dob": canaries.dob,
                   "phone": canaries.phone, "card": canaries.card},
        "headers": headers,
    }
    # Path parameters (matched route) -> SQL parameter and a log call ("lookup miss for MRN ...").
    yield "GET", f"{base}/api/patients/by-mrn/{q(canaries.mrn)}/", {"headers": headers}
    # Unmatched paths (404, no route template) carrying identifiers.
    yield "GET", f"{base}/api/patients/{q(canaries.ssn)}/", {"headers": headers}
    yield "GET", f"{base}/api/{q(canaries.email)}/{q(canaries.dob)}/", {"headers": headers}
    # Cache keys built from input.
    yield "GET", f"{base}/api/cache/{q(canaries.email)}/", {"headers": headers}
    # Authorization header carrying an identifier (PermissionDenied path).
    yield "GET", f"{base}/api/records/3/", {"headers": {**headers, "Authorization": f"Bearer {canaries.ssn}"}}
    # Exception message with PHI (500, Sentry event, span exception event).
    yield "GET", f"{base}/api/boom/", {"params": {"patient": sentence}, "headers": headers}
    # JSON bodies: a full patient (INSERT parameters, "created patient ... SSN" log), an incomplete one
    # ("rejected patient" log), a prescription whose validation error message names the patient.
    patient = {
        "mrn": canaries.mrn, "first_name": canaries.name.split()[0], "last_name": canaries.name.split()[-1],
        "ssn": canaries.ssn, "email": canaries.email, "phone": canaries.phone, "dob": canaries.dob,
    }
    yield "POST", f"{base}/api/patients/", {"json": patient, "headers": headers}
    yield "POST", f"{base}/api/patients/", {"json": patient, "headers": headers}  # duplicate: 409 + warning log
    yield "POST", f"{base}/api/patients/", {"json": {"first_name": canaries.name, "last_name": canaries.email}, "headers": headers}
    yield "POST", f"{base}/api/prescriptions/", {"json": {"patient_name": sentence, "patient_id": 1}, "headers": headers}
    yield "POST", f"{base}/api/appointments/", {"json": {"patient_id": 1, "notes": sentence}, "headers": headers}
    # Form-encoded body (not JSON) to an endpoint that parses JSON: error paths with raw body text.
    yield "POST", f"{base}/api/patients/", {"data": patient, "headers": headers}


def inject(base_url: str, canaries: Canaries, extra: Sequence[tuple[str, str, dict[str, Any]]] = ()) -> InjectionReport:
    report = InjectionReport()
    with requests.Session() as session:
        for method, url, kwargs in [*injection_requests(base_url, canaries), *extra]:
            try:
                resp = session.request(method, url, timeout=10, allow_redirects=False, **kwargs)
                report.statuses[resp.status_code] = report.statuses.get(resp.status_code, 0) + 1
            except requests.RequestException as exc:
                report.errors.append(f"{method} {url}: {exc}")
            report.requests_sent += 1
    return report


# ---------------------------------------------------------------------------------------------------------
# Backends: read everything they hold and scan it.


def scan_prometheus(url: str, canaries: Canaries) -> list[Finding]:
    """Every label name and every value of every label (metric names included)."""
    base = url.rstrip("/")
    findings: list[Finding] = []
    names = requests.get(f"{base}/api/v1/labels", timeout=30).json()["data"]
    findings += scan_text(json.dumps(names), canaries, "prometheus", "label names")
    for label in names:
        values = requests.get(f"{base}/api/v1/label/{label}/values", timeout=30).json()["data"]
        findings += scan_text(json.dumps(values), canaries, "prometheus", f"values of label {label!r}")
    return findings


def scan_files(paths: Iterable[Path], canaries: Canaries) -> list[Finding]:
    """Every file under the given paths (collector JSON-lines logs, sink dumps), read as text."""
    findings: list[Finding] = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            try:
                text = path.read_bytes().decode("utf-8", errors="replace")
            except OSError as exc:
                findings.append(Finding("files", str(path), "unreadable", str(exc)))
                continue
            findings += scan_text(text, canaries, "files", str(path))
    return findings


def scan_bugsink(url: str, token: str, canaries: Canaries, project: int | None = None) -> list[Finding]:
    """Every stored event (full payload) of every issue, via Bugsink's REST API (token: `create_auth_token`)."""
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

    findings: list[Finding] = []
    issue_params = {"project": project} if project is not None else {}
    projects = [project] if project is not None else [p["id"] for p in pages("projects/")]
    for project_id in projects:
        for issue in pages("issues/", **{**issue_params, "project": project_id}):
            findings += scan_text(json.dumps(issue), canaries, "bugsink", f"issue {issue['id']}")
            for summary in pages("events/", issue=issue["id"]):
                resp = requests.get(f"{base}events/{summary['id']}/", headers=headers, timeout=30)
                resp.raise_for_status()
                findings += scan_text(resp.text, canaries, "bugsink", f"event {summary['id']} (issue {issue['id']})")
    return findings


# ---------------------------------------------------------------------------------------------------------
# CLI


def run_audit(args: argparse.Namespace) -> int:
    canaries = Canaries.generate(args.seed)
    out = sys.stdout
    print(f"canaries: {json.dumps(dict(canaries.items()))}", file=out)
    if args.base_url:
        report = inject(args.base_url, canaries)
        print(f"injected {report.requests_sent} requests into {args.base_url}: statuses {report.statuses}", file=out)
        if report.errors:
            print(f"{len(report.errors)} requests failed: {report.errors[:3]}", file=out)
        if report.requests_sent == len(report.errors):
            print("audit: no injection request reached the app", file=sys.stderr)
            return 2
        if args.wait:
            print(f"waiting {args.wait}s for telemetry to reach the backends", file=out)
            time.sleep(args.wait)
    findings: list[Finding] = []
    checked: list[str] = []
    try:
        if args.prometheus:
            findings += scan_prometheus(args.prometheus, canaries)
            checked.append(f"prometheus {args.prometheus}")
        if args.bugsink:
            if not args.bugsink_token:
                print("audit: --bugsink needs --bugsink-token", file=sys.stderr)
                return 2
            findings += scan_bugsink(args.bugsink, args.bugsink_token, canaries, args.bugsink_project)
            checked.append(f"bugsink {args.bugsink}")
        if args.files:
            paths = [Path(p) for p in args.files]
            missing = [str(p) for p in paths if not p.exists()]
            if missing:
                print(f"audit: missing paths {missing}", file=sys.stderr)
                return 2
            findings += scan_files(paths, canaries)
            checked.append(f"files {', '.join(args.files)}")
    except requests.RequestException as exc:
        print(f"audit: backend unreachable: {exc}", file=sys.stderr)
        return 2
    if not checked:
        print("audit: no backend given (--prometheus, --bugsink, --files)", file=sys.stderr)
        return 2
    for finding in findings:
        print(str(finding), file=out)
    print(f"checked: {'; '.join(checked)}", file=out)
    if findings:
        print(f"audit FAILED: {len(findings)} canary leak(s)", file=out)
        return 1
    print("audit passed: no canary found in any backend", file=out)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="inject canary PHI into the app and check every telemetry backend for it (exit 1 on any leak)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base-url", help="the running app to inject canaries into (omit to only scan)")
    parser.add_argument("--seed", type=int, help="canary seed (the same seed reproduces the same canaries)")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait after injecting (default 20)")
    parser.add_argument("--prometheus", help="Prometheus base URL: every label name and value is checked")
    parser.add_argument("--bugsink", help="Bugsink base URL: every event of every issue is checked")
    parser.add_argument("--bugsink-token", help="Bugsink API token (bugsink-manage create_auth_token)")
    parser.add_argument("--bugsink-project", type=int, help="only this Bugsink project id")
    parser.add_argument(
        "--files", nargs="*", default=[],
        help="files or directories to check: collector log files, OTLP sink dumps, local export dirs",
    )
    parser.set_defaults(func=run_audit)
