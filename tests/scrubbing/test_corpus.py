"""Corpus test: recall on labelled PHI and false positives on ordinary telemetry (tests/data/phi_corpus.jsonl)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from otel_clinic.scrubbing import ScrubPolicy

CORPUS = Path(__file__).parents[1] / "data" / "phi_corpus.jsonl"
NEGATIVE_CORPUS = Path(__file__).parents[1] / "data" / "negative_corpus.jsonl"
# Negatives the policy changes on purpose, with the reason (docs/scrubbing.md, "Free text").
DELIBERATE = {
    "release 2026-11-23": "a date without a time part may be a birth or visit date: masked in free text",
    "2026-11-23": "a date without a time part may be a birth or visit date: masked in free text",
    "https://api.example.com/v1/status": "URLs are Safe Harbor identifiers: a free-text URL keeps its host only when it "
    "is loopback, a single-label service name, cluster-internal or a public documentation site",
    "https://sentry.example.com/api/2/envelope/": "as above: the host of a URL in free text is masked",
    "1763893070": "a bare 10-digit number is masked like an account number; epoch seconds keep a fraction "
    "(1763893070.12) or come as milli/micro/nanoseconds",
}


def test_corpus_recall_and_false_positive_rate() -> None:
    policy = ScrubPolicy.default()
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    positives = [r for r in rows if r["label"] == "positive"]
    negatives = [r for r in rows if r["label"] == "negative"]
    assert len(positives) >= 200 and len(negatives) >= 150

    missed: list[tuple[str, str]] = []
    per_kind: Counter[str] = Counter()
    per_kind_hit: Counter[str] = Counter()
    for row in positives:
        out = policy.scrub_text(row["text"])
        per_kind[row["kind"]] += 1
        if row["secret"] in out:
            missed.append((row["kind"], row["text"]))
        else:
            per_kind_hit[row["kind"]] += 1
    false_positives = [
        (r["text"], policy.scrub_text(r["text"]))
        for r in negatives
        if policy.scrub_text(r["text"]) != r["text"] and r["text"] not in DELIBERATE
    ]

    recall = 1 - len(missed) / len(positives)
    fp_rate = len(false_positives) / len(negatives)
    print(f"\nPHI corpus: {len(positives)} positives, {len(negatives)} negatives")
    for kind in sorted(per_kind):
        print(f"  {kind:<10} recall {per_kind_hit[kind]}/{per_kind[kind]}")
    print(f"  recall {recall:.1%}   false-positive rate {fp_rate:.1%}")
    assert missed == [], missed
    assert false_positives == [], false_positives


def test_negative_corpus_comes_out_byte_identical() -> None:
    """The blind negative corpus (tests/data/negative_corpus.README.md): at least 95 % of realistic non-PHI
    log lines, exception messages, tracebacks, SQL and URLs must come out unchanged."""
    policy = ScrubPolicy.default()
    rows = [json.loads(line) for line in NEGATIVE_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 300
    changed = [(r["kind"], r["text"], policy.scrub_text(r["text"])) for r in rows if policy.scrub_text(r["text"]) != r["text"]]
    rate = 1 - len(changed) / len(rows)
    per_kind = Counter(kind for kind, _, _ in changed)
    print(f"\nnegative corpus: {len(rows)} strings, {rate:.1%} byte-identical; changed by kind: {dict(per_kind)}")
    assert rate >= 0.95, changed
