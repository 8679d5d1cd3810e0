"""RSS of the scrubbing engine (patterns + name lexicon) and of a whole ``setup()``, each in a fresh process.

    .venv/bin/python benchmarks/memory.py

Prints the resident-set growth (VmRSS from /proc/self/status) after: importing otel_clinic; compiling the
scrubbing engine and scrubbing a realistic mix of values (memo warm); and a full ``setup()`` serving requests.
The targets (issue: free text): the engine, lexicon included, <= 10 MB per process.
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


def probe(full: bool) -> dict:
    code = PROBE.format(repo=str(REPO), example=str(REPO / "examples" / "clinic"), full=full)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    a = probe(False)
    b = probe(True)
    print("RSS growth per process (MB, fresh interpreter each)")
    print(f"  import otel_clinic                          {a['import'] - a['python']:6.1f}")
    print(f"  scrubbing engine + lexicon + warm memo      {a['engine'] - a['import']:6.1f}   (target <= 10 MB)")
    print(f"  Django + migrate (the app itself)           {b['django'] - b['engine']:6.1f}")
    print(f"  setup() + 300 requests                      {b['setup'] - b['django']:6.1f}")


if __name__ == "__main__":
    main()
