"""The versioned policy document (the Collector's PHI processor loads it) and the parity corpus both engines run
are generated from the Python policy; a stale committed copy fails here."""

from __future__ import annotations

import json
from pathlib import Path

from otel_clinic.scrubbing import ScrubPolicy
from otel_clinic.scrubbing.policydoc import FORMAT, parity_cases, policy_document, render_policy_json

REPO = Path(__file__).resolve().parents[2]


def test_committed_policy_document_is_current() -> None:
    committed = (REPO / "collector" / "phi-policy.json").read_text(encoding="utf-8")
    assert committed == render_policy_json(ScrubPolicy.default()), (
        "collector/phi-policy.json is stale: otel-clinic collector-config --policy-document -o collector/phi-policy.json"
    )


def test_document_names_every_callable_and_compiles_in_re2() -> None:
    doc = policy_document(ScrubPolicy.default().with_detector("badge", r"BADGE-\d{6}"))
    assert doc["format"] == FORMAT
    names = [d["name"] for d in doc["detectors"]]
    assert names[0] == "badge" and "keyed_value" in names and "keyed_exact" in names
    card = next(d for d in doc["detectors"] if d["name"] == "card")
    phone = next(d for d in doc["detectors"] if d["name"] == "phone")
    assert card["validator"] == "luhn" and phone["validator"] == {"name": "digit_count_between", "min": 10, "max": 15}
    assert not any("{0,1000}" in d["value"] or ",512}" in d["value"] for d in doc["detectors"])  # open repeats
    import re2

    for d in doc["detectors"]:
        re2.compile(f"(?:{d['prefix']})(?:{d['value']})" if d["prefix"] else d["value"])
    assert "hmac_key" not in json.dumps(doc)


def test_parity_corpus_is_current() -> None:
    committed = [json.loads(line) for line in (REPO / "tests" / "data" / "phi_parity.jsonl").read_text().splitlines()]
    corpora = [str(REPO / "tests" / "data" / "phi_corpus.jsonl"), str(REPO / "tests" / "data" / "negative_corpus.jsonl")]
    assert committed == parity_cases(ScrubPolicy.default(), corpora), (
        "tests/data/phi_parity.jsonl is stale: .venv/bin/python -m otel_clinic.scrubbing.policydoc > tests/data/phi_parity.jsonl"
    )


def test_the_collector_embeds_the_current_policy_and_lexicon() -> None:
    """collector/processor/phiprocessor/embedded/ is compiled into the distribution (phi: {} applies it)."""
    embedded = REPO / "collector" / "processor" / "phiprocessor" / "embedded"
    assert (embedded / "phi-policy.json").read_bytes() == (REPO / "collector" / "phi-policy.json").read_bytes(), (
        "cp collector/phi-policy.json collector/processor/phiprocessor/embedded/"
    )
    lexicon = REPO / "otel_clinic" / "scrubbing" / "data" / "names.txt.gz"
    assert (embedded / "names.txt.gz").read_bytes() == lexicon.read_bytes(), (
        "cp otel_clinic/scrubbing/data/names.txt.gz collector/processor/phiprocessor/embedded/"
    )
