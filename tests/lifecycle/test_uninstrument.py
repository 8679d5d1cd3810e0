"""Finding 4: shutdown() undoes what setup() patched (library instrumentors), and only that."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.lifecycle.support import clean_env

SCRIPT = textwrap.dedent(
    """
    import json, logging
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    import otel_clinic
    instrumentors = {{"psycopg": PsycopgInstrumentor(), "redis": RedisInstrumentor(), "celery": CeleryInstrumentor()}}
    if {preinstrumented!r}:
        RedisInstrumentor().instrument()  # someone else's patch: not ours to undo
    root_handlers = list(logging.getLogger().handlers)
    handle = otel_clinic.setup(instrument_django=False, log_format="json")
    during = {{k: i.is_instrumented_by_opentelemetry for k, i in instrumentors.items()}}
    handle.shutdown()
    after = {{k: i.is_instrumented_by_opentelemetry for k, i in instrumentors.items()}}
    print(json.dumps({{"during": during, "after": after,
                      "handlers_restored": logging.getLogger().handlers == root_handlers}}))
    """
)


def _run(tmp_path: Path, preinstrumented: bool) -> dict:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(preinstrumented=preinstrumented))
    proc = subprocess.run([sys.executable, str(script)], env=clean_env(tmp_path), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_shutdown_uninstruments_the_libraries_setup_instrumented(tmp_path: Path) -> None:
    result = _run(tmp_path, preinstrumented=False)
    assert result["during"] == {"psycopg": True, "redis": True, "celery": True}
    assert result["after"] == {"psycopg": False, "redis": False, "celery": False}
    assert result["handlers_restored"]


def test_shutdown_leaves_instrumentations_it_did_not_make(tmp_path: Path) -> None:
    result = _run(tmp_path, preinstrumented=True)
    assert result["after"] == {"psycopg": False, "redis": True, "celery": False}
