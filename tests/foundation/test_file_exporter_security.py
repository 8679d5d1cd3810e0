"""The in-process JSON-lines file exporter: 0640 files in 0750 directories whatever the umask, size/count
rotation, several processes sharing one file (issue 15, "Files"); `clinic.telemetry.dropped` defined once."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_clinic.config import load_config
from otel_clinic.errors import ConfigError
from otel_clinic.export_files import Rotation, RotatingJsonLinesFile
from otel_clinic.exporters import DROPPED, DropCounter, dropped_counter, exporter_factory


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _export_one_span(export_dir: Path, environ: dict[str, str] | None = None) -> None:
    config = load_config({"export_dir": str(export_dir)}, environ={})
    exporter = exporter_factory(config, "file", "traces")()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("t").start_span("visit").end()
    provider.shutdown()


@pytest.mark.parametrize("mask", [0o000, 0o077])
def test_files_are_0640_and_created_directories_0750_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    export_dir = tmp_path / "var" / "telemetry"
    tmp_path.chmod(0o755)
    with umask(mask):
        _export_one_span(export_dir)
    (line,) = (export_dir / "traces.jsonl").read_text().splitlines()
    assert json.loads(line)["name"] == "visit"
    assert _mode(export_dir / "traces.jsonl") == 0o640
    assert _mode(export_dir) == 0o750 and _mode(export_dir.parent) == 0o750  # parents we created too
    assert _mode(export_dir / ".traces.jsonl.lock") == 0o640
    assert _mode(tmp_path) == 0o755  # an existing directory is not ours to change


def test_a_world_readable_file_left_by_an_older_version_is_narrowed(tmp_path: Path) -> None:
    old = tmp_path / "traces.jsonl"
    old.write_text("")
    old.chmod(0o666)
    with umask(0):
        _export_one_span(tmp_path)
    assert _mode(old) == 0o640


def _lines(path: Path, name: str = "t.jsonl") -> dict[str, list[str]]:
    return {p.name: p.read_text().splitlines() for p in sorted(path.glob(name + "*"))}


def test_rotation_keeps_the_newest_lines_in_at_most_backups_plus_one_files_under_the_size(tmp_path: Path) -> None:
    sink = RotatingJsonLinesFile(tmp_path / "t.jsonl", Rotation(max_bytes=1000, backups=2))
    for i in range(100):
        sink.write(json.dumps({"i": i, "pad": "x" * 80}) + "\n")  # ~100 bytes a line, one batch per line
        sink.flush()
    files = _lines(tmp_path)
    assert sorted(files) == ["t.jsonl", "t.jsonl.1", "t.jsonl.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 1000
        assert _mode(tmp_path / name) == 0o640
    kept = [json.loads(line)["i"] for name in ("t.jsonl.2", "t.jsonl.1", "t.jsonl") for line in files[name]]
    assert kept == list(range(100 - len(kept), 100)) and len(kept) >= 25  # oldest dropped, order kept


def test_zero_max_bytes_never_rotates(tmp_path: Path) -> None:
    sink = RotatingJsonLinesFile(tmp_path / "t.jsonl", Rotation(max_bytes=0, backups=2))
    for i in range(50):
        sink.write("x" * 99 + "\n")
        sink.flush()
    assert list(_lines(tmp_path)) == ["t.jsonl"]


def _writer(path: str, worker: int, lines: int) -> None:
    sink = RotatingJsonLinesFile(Path(path), Rotation(max_bytes=8_000, backups=1_000))
    for i in range(lines):
        sink.write(json.dumps({"w": worker, "i": i, "pad": "y" * 150}) + "\n")
        if i % 3 == 2:
            sink.flush()
    sink.flush()


def test_several_processes_rotating_one_file_lose_and_split_no_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_writer, args=(str(path), w, 300)) for w in range(4)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(60)
        assert proc.exitcode == 0
    seen = []
    for name, lines in _lines(tmp_path).items():
        assert (tmp_path / name).stat().st_size <= 8_000, name
        seen += [(rec["w"], rec["i"]) for rec in map(json.loads, lines)]  # a torn line would not parse
    assert sorted(seen) == [(w, i) for w in range(4) for i in range(300)]  # each line exactly once
    assert len(_lines(tmp_path)) > 10  # it did rotate, concurrently


@pytest.mark.parametrize(("name", "value"), [("OTEL_CLINIC_EXPORT_MAX_BYTES", "50MB"),
                                             ("OTEL_CLINIC_EXPORT_BACKUPS", "-1")])
def test_bad_rotation_settings_are_a_config_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({}, environ={name: value})
    assert info.value.setting == name


def test_rotation_comes_from_the_config_with_its_defaults() -> None:
    assert Rotation.from_config(load_config({}, environ={})) == Rotation(50 * 1024 * 1024, 5)
    configured = load_config({}, environ={"OTEL_CLINIC_EXPORT_MAX_BYTES": "1000000", "OTEL_CLINIC_EXPORT_BACKUPS": "2"})
    assert Rotation.from_config(configured) == Rotation(1_000_000, 2)


def test_the_dropped_counter_is_one_instrument_per_provider_whoever_asks() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    drops = DropCounter()
    drops.bind(provider.get_meter("otel_clinic"))
    scrub_meter = provider.get_meter("otel_clinic.scrubbing")  # what the scrubbing exporters are given
    assert dropped_counter(scrub_meter) is dropped_counter(provider.get_meter("otel_clinic"))
    drops.add(2, "traces", "queue_full")
    dropped_counter(scrub_meter).add(3, {"signal": "traces", "reason": "queue_full"})
    metrics = [m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    (metric,) = [m for m in metrics if m.name == DROPPED]
    (point,) = metric.data.data_points
    assert point.value == 5 and metric.unit == "{item}"
    other = MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("otel_clinic")
    assert dropped_counter(other) is not dropped_counter(scrub_meter)  # per provider, not global


def test_setup_fails_on_a_bad_rotation_setting_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import otel_clinic
    from otel_clinic import testing

    testing.reset_globals()
    monkeypatch.setenv("OTEL_CLINIC_EXPORT_MAX_BYTES", "fifty megabytes")
    with pytest.raises(ConfigError, match="OTEL_CLINIC_EXPORT_MAX_BYTES"):
        otel_clinic.setup(export_dir=str(tmp_path), traces_exporters="file", metrics_exporters="none",
                          logs_exporters="none")
    assert otel_clinic.get_telemetry() is None
