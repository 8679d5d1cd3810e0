"""`otel-clinic test-alert --rule NAME`: fire a synthetic copy of one of our alert rules at Alertmanager.

The alert carries the rule's labels and annotations (templates filled with the labels we send), plus
`clinic_test_alert="true"` so people and receivers can tell it from a real one. The command prints the receivers
it routes to, waits `--hold` seconds (hold it longer than the route's group_wait if the notification should
actually go out), then resolves it by posting it again with endsAt = now.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

from otel_clinic.ops import common, routing
from otel_clinic.ops.rules import find_rule, load_rules, render_annotation, rules_dir

TEST_LABEL = "clinic_test_alert"


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _label_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--label wants NAME=VALUE, got {text!r}")
    return name, value


def build_alert(rule: Any, extra: dict[str, str], ends_in: float) -> dict[str, Any]:
    labels = {**rule.labels, **extra, "alertname": rule.name, TEST_LABEL: "true"}
    annotations = {k: render_annotation(v, labels) for k, v in rule.annotations.items()}
    annotations["summary"] = "[TEST] " + annotations.get("summary", rule.name)
    now = datetime.now(timezone.utc)
    return {"labels": labels, "annotations": annotations, "startsAt": _iso(now),
            "endsAt": _iso(now + timedelta(seconds=ends_in)), "generatorURL": ""}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rule", "--rule-name", required=True, dest="rule", metavar="NAME",
                        help="alert name from collector/prometheus/rules (e.g. ClinicApiHighErrorRate)")
    parser.add_argument("--severity", help="pick this tier when the rule has several (default: the first defined)")
    parser.add_argument("--label", action="append", type=_label_pair, default=[], metavar="NAME=VALUE",
                        help="extra label on the alert (e.g. job=clinic/clinic-api); repeatable")
    parser.add_argument("--hold", type=float, default=0.0, metavar="S",
                        help="seconds to keep it firing before resolving (default 0: resolve right away)")
    parser.add_argument("--rules-dir", help="directory of rule files (default: $OTEL_CLINIC_RULES_DIR or the checkout)")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    common.add_backend_arguments(parser, prometheus=False)


def command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rules = load_rules(rules_dir(args.rules_dir))
    matches = find_rule(rules, args.rule, args.severity)
    if not matches:
        names = sorted({r.name for r in rules})
        tiers = "" if not args.severity else f" with severity {args.severity}"
        raise common.UsageError(f"unknown rule {args.rule!r}{tiers}. Rules: {', '.join(names)}")
    rule = matches[0]
    am = common.alertmanager(args)
    alert = build_alert(rule, dict(args.label), ends_in=max(300.0, args.hold + 60))
    am.post_alerts([alert])
    try:
        names, how = routing.receivers(am, alert["labels"])
        # Alertmanager's own answer for the alert it now holds (the dispatcher's route match).
        held = am.alerts([f'alertname="{rule.name}"', f'{TEST_LABEL}="true"'])
        reported = sorted({r["name"] for a in held for r in a.get("receivers") or []})
        if args.hold > 0:
            time.sleep(args.hold)
    finally:
        alert["endsAt"] = _iso(datetime.now(timezone.utc))
        am.post_alerts([alert])
    result = {"rule": rule.name, "severity": rule.severity, "file": rule.file, "labels": alert["labels"],
              "annotations": alert["annotations"], "receivers": names, "routing": how,
              "alertmanager_receivers": reported, "resolved": True, "alertmanager": am.url}
    if args.output_format == "json":
        out.write(json.dumps(result, indent=2) + "\n")
    else:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert["labels"].items()))
        out.write(f"sent test alert {rule.name} ({rule.severity or 'no severity'}, from {rule.file}) "
                  f"to {am.url}\n  labels: {labels}\n  summary: {alert['annotations']['summary']}\n"
                  f"  routes to: {', '.join(names) or '(none)'}  [{how}]\n")
        if reported and sorted(set(names)) != reported:
            out.write(f"  note: Alertmanager reports receivers {', '.join(reported)}\n")
        out.write("  resolved (endsAt=now)\n")
    return common.EXIT_OK
