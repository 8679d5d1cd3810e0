"""RSS of the scrubbing engine (patterns + name lexicon), and max RSS of bare Django, plain OpenTelemetry and
otel_clinic after serving the same requests, each in a fresh process.

    .venv/bin/python benchmarks/memory.py [--requests 3000] [--rounds 3]

Part 1 prints the resident-set growth (VmRSS) after importing otel_clinic and after compiling the scrubbing engine
and scrubbing a realistic mix of values (memo warm); target: the engine, lexicon included, <= 10 MB per process.
Part 2 prints max RSS (ru_maxrss) after N requests through Django's WSGI handler in-process for: a bare Django app
that never imports otel_clinic, plain OTel (DjangoInstrumentor + SDK tracer/meter providers, spans to a discarding
exporter) and otel_clinic.setup() with spans to a discarding exporter (so they pass the scrubber), plus setup()
with nothing exported; target: otel_clinic's overhead over bare Django <= 1.5x plain OTel's (printed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import gc, json, os, sys
sys.path.insert(0, {repo!r}); sys.path.insert(0, {example!r})
def rss():
    gc.collect()
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
out = {{}}
out["python"] = rss()
import otel_clinic
from otel_clinic.scrubbing import ScrubPolicy
out["import"] = rss()
policy = ScrubPolicy.default()
engine = policy.engine
samples = ["GET /api/v1/patients/{{id}}/", "patient 123 record opened by user 17", "SELECT * FROM p WHERE id = %s",
           "invalid literal for int() with base 10: 'amara okafor'", "lookup 078-05-1120 failed for Jane Roe",
           "Mozilla/5.0 (X11; Linux x86_64)", "created patient chidinma brandvold (MRN 00123456)"]
for i in range(3000):
    for s in samples:
        engine.scrub_text(s + " " + str(i))
out["engine"] = rss()
if {full}:
    os.environ["DJANGO_SETTINGS_MODULE"] = "clinic_site.settings"
    import tempfile
    os.environ["CLINIC_SQLITE_PATH"] = tempfile.mktemp()
    os.environ["OTEL_CLINIC_LOG_FORMAT"] = "none"
    import secrets; os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # throwaway, per run
    import django; django.setup()
    from django.core.management import call_command; call_command("migrate", verbosity=0)
    out["django"] = rss()
    otel_clinic.setup(traces_exporters="none", metrics_exporters="none", logs_exporters="none")
    from django.test import Client
    c = Client()
    for i in range(300):
        c.get("/api/patients/")
    out["setup"] = rss()
print(json.dumps(out))
"""


# A bare Django app of its own (not clinic_site, whose settings, logging and views import otel_clinic): the example's
# Patient model and one JSON view, so "bare" and "plain OTel" never load otel_clinic and its import cost counts
# against otel_clinic. ``python -c`` code is module __main__, which serves as ROOT_URLCONF.
STACK = r"""
import os, resource, sys, tempfile
sys.path.insert(0, {repo!r}); sys.path.insert(0, {example!r})
for var in [v for v in os.environ if v.startswith(("OTEL_", "SENTRY_", "DJANGO_"))]:
    del os.environ[var]
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "clinic"], ROOT_URLCONF="__main__",
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": tempfile.mktemp()}}}},
    ALLOWED_HOSTS=["*"], USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField", SECRET_KEY="bench",
)
import django; django.setup()
from django.core.management import call_command; call_command("migrate", verbosity=0)
from django.http import JsonResponse
from django.urls import path
from clinic.models import Patient
def patient(request, pk):
    p = Patient.objects.get(pk=pk)
    return JsonResponse({{"id": p.pk, "mrn": p.mrn, "first_name": p.first_name, "last_name": p.last_name}})
urlpatterns = [path("api/patients/<int:pk>/", patient)]
pk = Patient.objects.create(mrn="MEM-1", first_name="B", last_name="P").pk
stack = {stack!r}
if stack != "bare":
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
    class Discard(SpanExporter):
        def export(self, spans): return SpanExportResult.SUCCESS
if stack == "plain":
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    tp = TracerProvider(); tp.add_span_processor(BatchSpanProcessor(Discard()))
    DjangoInstrumentor().instrument(tracer_provider=tp, meter_provider=MeterProvider())
elif stack.startswith("clinic"):
    import otel_clinic
    # Like plain OTel's: spans go through the batch processor (and our scrubber) to a discarding exporter.
    extra = [] if stack == "clinic-unexported" else [Discard()]
    # clinic-noscrub: the same pipeline without the in-process PHI scrubber, to show what the scrubber costs.
    otel_clinic.setup(traces_exporters="none", metrics_exporters="none", logs_exporters="none", log_format="none",
                      instrumentations="none", extra_span_exporters=extra,
                      scrubbing=False if stack == "clinic-noscrub" else None)
from django.test import Client
c = Client()
for i in range({n}):
    assert c.get(f"/api/patients/{{pk}}/").status_code == 200
if stack in ("bare", "plain"):
    assert "otel_clinic" not in sys.modules, "the baseline must not load otel_clinic"
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def stack_rss(stack: str, n: int) -> float:
    code = STACK.format(repo=str(REPO), example=str(REPO / "examples" / "clinic"), stack=stack, n=n)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
    return float(res.stdout.strip().splitlines()[-1])


def probe(full: bool) -> dict:
    code = PROBE.format(repo=str(REPO), example=str(REPO / "examples" / "clinic"), full=full)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=1, help="fresh processes per stack; the median is printed")
    args = parser.parse_args()
    a = probe(False)
    b = probe(True)
    print("RSS growth per process (MB, fresh interpreter each)")
    print(f"  import otel_clinic                          {a['import'] - a['python']:6.1f}")
    print(f"  scrubbing engine + lexicon + warm memo      {a['engine'] - a['import']:6.1f}   (target <= 10 MB)")
    print(f"  Django + migrate (the app itself)           {b['django'] - b['engine']:6.1f}")
    print(f"  setup() + 300 requests                      {b['setup'] - b['django']:6.1f}")
    stacks = ("bare", "plain", "clinic", "clinic-unexported", "clinic-noscrub")
    rss = {name: sorted(stack_rss(name, args.requests) for _ in range(args.rounds))[args.rounds // 2] for name in stacks}
    plain_over = rss["plain"] - rss["bare"]
    print(f"\nmax RSS after {args.requests} requests (MB, fresh interpreter each, median of {args.rounds})")
    print(f"  bare Django (no otel_clinic import)   {rss['bare']:6.1f}")
    print(f"  plain OTel                            {rss['plain']:6.1f}   overhead {plain_over:5.1f}")
    for name, label in (("clinic", "otel_clinic"), ("clinic-unexported", "otel_clinic, nothing exported"),
                        ("clinic-noscrub", "otel_clinic, scrubbing off")):
        over = rss[name] - rss["bare"]
        print(f"  {label:36s}  {rss[name]:6.1f}   overhead {over:5.1f}   = {over / plain_over:.2f}x plain OTel's"
              + ("   (target <= 1.5x)" if name == "clinic" else ""))

if __name__ == "__main__":
    main()
