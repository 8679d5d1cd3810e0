"""``otel-clinic collector-config``: print the PHI policy as Collector processor YAML."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _collector_config(args: argparse.Namespace) -> int:
    from otel_clinic.errors import ConfigError
    from otel_clinic.scrubbing.collector import render_yaml
    from otel_clinic.scrubbing.policy import ScrubPolicy

    try:
        policy = ScrubPolicy.from_env(os.environ)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.policy_document:
        from otel_clinic.scrubbing.policydoc import render_policy_json

        text = render_policy_json(policy)
    elif args.contrib:
        text = render_yaml(policy)
    else:
        from otel_clinic.scrubbing.collector import render_phi_yaml

        text = render_phi_yaml(policy)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "collector-config",
        help="render the PHI scrubbing policy (from OTEL_CLINIC_SCRUB_* env) as the Collector's phi processor config",
    )
    parser.add_argument("--output", "-o", help="write the YAML to this file instead of stdout")
    parser.add_argument(
        "--policy-document", action="store_true",
        help="print the versioned policy document (JSON) that the Collector's PHI processor loads",
    )
    parser.add_argument(
        "--contrib", action="store_true",
        help="render the policy as the contrib redaction/transform processors (a Collector without our phi processor)",
    )
    parser.set_defaults(func=_collector_config)
