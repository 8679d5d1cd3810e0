"""Free text is default-deny: every channel that leaked in a real app, driven through the real pipeline
(Django test client, real ``setup()``, real sentry-sdk with a capturing transport) with canaries that are
drawn fresh each run (fixed seed under CI=true), then read back from every in-process sink: spans, OTel logs,
JSON stdout, stderr (Django's own console handlers, warnings) and Sentry events.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import re
import sys
import warnings
from dataclasses import dataclass

import pytest
import sentry_sdk
from django.test import Client, override_settings
from tests.support.sentry import CapturingTransport

from otel_clinic import testing

# Names of varied origin; a run draws its own combinations, in lower, UPPER and Title case.
FIRST = ("amara", "chidinma", "tomasz", "aiko", "fatima", "diego", "ingrid", "oluwaseun", "nguyet", "priyanka",
         "siobhan", "yusuf", "mateus", "katarzyna", "henrik", "lakshmi", "esperanza", "dmitri", "thandiwe", "kwame")
LAST = ("okafor", "brandvold", "kowalczyk", "nakamura", "haddad", "villanueva", "lindqvist", "adeyemi", "tran",
        "ramaswamy", "mcallister", "ozturk", "carvalho", "wozniak", "halvorsen", "raghunathan", "castellanos",
        "volkov", "mahlangu", "asante")


@dataclass(frozen=True)
class Canaries:
    first: str
    last: str
    first2: str
    last2: str
    ssn: str
    mrn: str
    member: str
    mbi: str
    zip4: str
    dob_iso: str
    dob_us: str
    dob_text: str
    card: str
    host: str

    @classmethod
    def draw(cls) -> Canaries:
        rng = random.Random(int(os.environ.get("FREETEXT_SEED", "0")) or (1234 if os.environ.get("CI") else None))
        first, first2 = rng.sample(FIRST, 2)
        last, last2 = rng.sample(LAST, 2)
        year, month, day = rng.randint(1930, 1999), rng.randint(1, 12), rng.randint(1, 28)
        months = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")
        letters = "ACDEFGHJKMNPQRTUVWXY"
        mbi = (f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}{rng.randint(0, 9)}-"
               f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(0, 9)}-{rng.choice(letters)}{rng.choice(letters)}"
               f"{rng.randint(10, 99)}")
        return cls(
            first=first, last=last, first2=first2, last2=last2,
            ssn=f"{rng.randint(100, 665)}{rng.randint(10, 99)}{rng.randint(1000, 9999)}",
            mrn=f"{rng.randint(10_000_000, 99_999_999)}",
            member=f"{''.join(rng.choice(letters) for _ in range(3))}{rng.randint(100_000_000, 999_999_999)}",
            mbi=mbi,
            zip4=f"{rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}",
            dob_iso=f"{year}-{month:02d}-{day:02d}",
            dob_us=f"{month:02d}/{day:02d}/{year}",
            dob_text=f"{months[month - 1]} {day}, {year}",
            card=_luhn("4" + "".join(str(rng.randint(0, 9)) for _ in range(14))),
            host=f"{first}-{last}.example",
        )


def _luhn(prefix: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return prefix + str((10 - total % 10) % 10)


C = Canaries.draw()


@dataclass
class Sinks:
    spans: str
    logs: str
    stdout: str
    stderr: str
    sentry: str

    def find(self, canary: str) -> list[str]:
        # whole words only: "tran" must not match "transaction"
        pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(canary)}(?![A-Za-z0-9])", re.IGNORECASE)
        return [name for name, text in vars(self).items() if pattern.search(text)]


def _dump_spans(spans) -> str:
    return json.dumps([
        {"name": s.name, "attributes": dict(s.attributes), "status": s.status.description,
         "events": [(e.name, dict(e.attributes)) for e in s.events]}
        for s in spans
    ], default=str)


def _dump_logs(logs) -> str:
    return json.dumps([(str(r.log_record.body), dict(r.log_record.attributes or {})) for r in logs], default=str)


def _drive(client: Client) -> None:
    name = f"{C.first} {C.last}"
    for kind, value in (("int", name), ("float", C.ssn), ("date", C.dob_us), ("key", f"{C.first.title()} {C.last.title()}"),
                        ("list", f"{C.first} {C.last}|{C.first2} {C.last2}"), ("datefield", C.dob_text),
                        ("decimal", C.member)):
        client.post(f"/convert/{kind}/", data=json.dumps({"v": value}), content_type="application/json")
    client.post("/log/args/", content_type="application/json", data=json.dumps({
        "first": C.first, "last": C.last, "upper": f"{C.first2} {C.last2}".upper(),
        "names": [f"{C.first} {C.last}", f"{C.first2} {C.last2}"], "notes": f"{C.last2} reports chest pain",
        "dob": C.dob_iso,
    }))
    client.post("/log/fstrings/", content_type="application/json", data=json.dumps({
        "first": C.first.title(), "last": C.last.title(), "ssn": C.ssn, "mrn": C.mrn, "member": C.member,
        "mbi": C.mbi, "zip": C.zip4, "upper": f"{C.first2} {C.last2}".upper(), "dob": C.dob_text, "card": C.card,
    }))
    client.get("/warn/", {"v": f"{C.first2} {C.last2}"})
    client.get(f"/forbidden/{C.last}/{C.mrn}/?dob={C.dob_iso}")
    Client(enforce_csrf_checks=True).post(f"/protected/?name={C.last2}")
    client.get("/echo/", HTTP_HOST=C.host)  # not in ALLOWED_HOSTS: DisallowedHost
    client.get("/echo/", HTTP_HOST="clinic.test", HTTP_USER_AGENT=f"Mozilla/5.0 ({C.last})",
               HTTP_REFERER=f"https://portal.example/p/{C.mrn}?name={C.first}", HTTP_X_FORWARDED_FOR="203.0.113.77")
    client.get("/sentry/", {"v": C.first2}, HTTP_HOST="clinic.test", HTTP_USER_AGENT=f"Agent {C.last2}",
               HTTP_REFERER=f"https://portal.example/?q={C.last}", HTTP_X_FORWARDED_FOR="203.0.113.77")
    # runserver's access line (django.server): the raw request line with its query string
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /echo/?patient={C.last}&dob={C.dob_iso} HTTP/1.1", "200", "12")
    # uvicorn's access line (client address, raw path + query) and its "Exception in ASGI application" traceback
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "203.0.113.77:51234", "GET",
                                             f"/echo/?patient={C.first2}%20{C.last2}&ssn={C.ssn}", "1.1", 200)
    try:
        raise RuntimeError(f"chart lookup failed for {C.first2} {C.last2} dob {C.dob_text}")
    except RuntimeError:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=True)


@pytest.fixture(scope="module")
def sinks():
    from django.utils.log import ServerFormatter

    transport = CapturingTransport()
    stderr = io.StringIO()
    # Django's own console handler for django.server (DEFAULT_LOGGING), writing to our stderr capture.
    server_handler = logging.StreamHandler(stderr)
    server_handler.setFormatter(ServerFormatter())
    server_logger = logging.getLogger("django.server")
    server_logger.addHandler(server_handler)
    # uvicorn's own stderr handlers (its LOGGING_CONFIG: plain formatters, not ours)
    uvicorn_handler = logging.StreamHandler(stderr)
    uvicorn_handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    uvicorn_loggers = [logging.getLogger("uvicorn.access"), logging.getLogger("uvicorn.error")]
    for uvicorn_logger in uvicorn_loggers:
        uvicorn_logger.addHandler(uvicorn_handler)
    real_stderr, sys.stderr = sys.stderr, stderr  # warnings' last-resort output
    try:
        with override_settings(ROOT_URLCONF="tests.scrubbing.freetext_urls", ALLOWED_HOSTS=["clinic.test", "testserver"]):
            with testing.capture(
                sentry_dsn="http://public@127.0.0.1:9/1",
                sentry_options={"transport": transport, "send_default_pii": True},
            ) as cap, warnings.catch_warnings():
                # pytest records warnings itself; route them as a deployed app would (setup() captured them)
                warnings.simplefilter("always")
                warnings.showwarning = logging._showwarning  # type: ignore[attr-defined]
                _drive(Client(raise_request_exception=False))
                cap.flush()
                sentry_sdk.flush()
                yield Sinks(
                    spans=_dump_spans(cap.spans()),
                    logs=_dump_logs(cap.logs()),
                    stdout=cap.stdout.getvalue(),
                    stderr=stderr.getvalue(),
                    sentry=json.dumps(transport.payloads, default=str),
                )
    finally:
        sys.stderr = real_stderr
        server_logger.removeHandler(server_handler)
        for uvicorn_logger in uvicorn_loggers:
            uvicorn_logger.removeHandler(uvicorn_handler)
        sentry_sdk.get_client().close()
        sentry_sdk.init()


def _clean(sinks: Sinks, *canaries: str) -> None:
    leaks = {c: sinks.find(c) for c in canaries}
    assert not any(leaks.values()), leaks


def test_every_channel_was_exercised(sinks: Sinks) -> None:
    assert "invalid literal for int() with base 10: '[REDACTED]'" in sinks.spans
    assert "created patient [TEXT] [TEXT]" in sinks.logs and "created patient [TEXT] [TEXT]" in sinks.stdout
    assert "Forbidden (Permission denied): /forbidden/<path:rest>" in sinks.logs
    assert "Invalid HTTP_HOST header (value withheld)" in sinks.logs
    assert '"GET /echo/ HTTP/1.1" 200 12' in sinks.stderr
    assert "Cache key contains characters" in sinks.logs  # warnings go through the scrubbed log pipeline
    assert '"server.address": "clinic.test"' in sinks.spans
    assert '"exception"' in sinks.sentry and '"logentry"' in sinks.sentry


def test_exception_messages_quoting_input(sinks: Sinks) -> None:
    # int()/float()/strptime/KeyError/repr(list)/DateField/DecimalField: span status, exception events, logs, Sentry
    _clean(sinks, C.first, C.last, C.ssn, C.dob_us, C.dob_text, C.member, C.first2, C.last2)


def test_stack_traces_keep_frames_and_code(sinks: Sinks) -> None:
    assert 'File \\"' in sinks.logs and "line " in sinks.logs and "in convert" in sinks.logs
    assert "int(value)" in sinks.logs  # the source line is code, kept


def test_log_arguments_and_f_strings(sinks: Sinks) -> None:
    _clean(sinks, C.ssn, C.mrn, C.member, C.mbi, C.zip4, C.dob_iso, C.card, C.card[-12:], C.dob_text)
    assert "updated notes=[TEXT]" in sinks.logs  # the template keeps its key, the argument is a placeholder


def test_django_loggers_and_request_values(sinks: Sinks) -> None:
    _clean(sinks, C.host, f"{C.first}-{C.last}", "203.0.113.77", "portal.example", "testserver/forbidden")
    assert "Forbidden (CSRF cookie not set.): /protected/" in sinks.logs


def test_sentry_request_keeps_route_only(sinks: Sinks) -> None:
    events = [json.loads(json.dumps(e)) for e in json.loads(sinks.sentry) if e.get("type", "event") == "event"]
    requests = [e["request"] for e in events if "request" in e]
    assert requests
    for request in requests:
        url = request.get("url", "")
        assert not url.startswith("http") and "?" not in url, request  # no host, no query
        assert {h.lower() for h in request.get("headers", {})} <= {"content-type", "content-length", "accept", "x-request-id", "traceparent"}


def test_partial_masks_take_the_whole_run(sinks: Sinks) -> None:
    # the surname after a masked first name, the card after an MRN mask, each name of a list
    _clean(sinks, C.last, C.last2, C.card[-12:])
