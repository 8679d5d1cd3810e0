"""Paths and identifier tokens inside free text (log lines such as Django's "Not Found: /api/patients/123/")."""
import pytest

from otel_clinic.scrubbing import ScrubPolicy


@pytest.fixture(scope="module")
def policy():
    return ScrubPolicy.default()


@pytest.mark.parametrize(
    "text,secret",
    [
        ("Not Found: /api/patients/9912345/", "9912345"),
        ("Not Found: /api/patients/by-mrn/MRN-48213377/", "48213377"),
        ("GET /api/patients/078-05-1120/ failed", "078-05-1120"),
        ("export to /files/jane.roe@example.org/x", "jane.roe"),
        ("record MRN-00412345 merged", "00412345"),
        ("record mrn_9912345 merged", "9912345"),
    ],
)
def test_identifiers_in_text_paths_and_tokens_are_removed(policy, text, secret):
    assert secret not in policy.scrub(text)


@pytest.mark.parametrize(
    "text",
    [
        'File "/work/main/.venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55',
        "GET /health/live",
        "route /api/patients/<int:pk>/",
        "ratio 1/2 and 3/4",
        "served /static/css/app.css",
    ],
)
def test_ordinary_paths_survive(policy, text):
    assert policy.scrub(text) == text
