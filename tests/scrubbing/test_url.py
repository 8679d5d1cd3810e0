from __future__ import annotations

import pytest

from otel_clinic.scrubbing import scrub_url


@pytest.mark.parametrize(
    ("url", "route", "expected"),
    [
        ("https://user:pw@api.example.com/patients/12345/?dob=1980-01-01#frag", None, "https://api.example.com/patients/{id}/"),
        ("/patients/12345/notes?q=jane", None, "/patients/{id}/notes"),
        ("/patients/550e8400-e29b-41d4-a716-446655440000/", None, "/patients/{id}/"),
        ("/patients/123-45-6789/", None, "/patients/{id}/"),
        ("/patients/A1234567/", None, "/patients/{id}/"),
        ("/patients/jane%40example.com/", None, "/patients/{id}/"),
        ("/patients/Jane%20Roe/", None, "/patients/{id}/"),
        ("/api/v1/patients/", None, "/api/v1/patients/"),
        ("/patients/12345/", "patients/<int:pk>/", "/patients/<int:pk>/"),
        ("https://h:8443/patients/9/?x=1", "/patients/{pk}/", "https://h:8443/patients/{pk}/"),
        ("http://[2001:db8::1]:80/x?y", None, "http://[2001:db8::1]:80/x"),
    ],
)
def test_scrub_url(url: str, route: str | None, expected: str) -> None:
    assert scrub_url(url, route) == expected


def test_malformed_url_never_raises_and_leaks_nothing() -> None:
    out = scrub_url("http://[::1/patients/123-45-6789?ssn=123-45-6789")
    assert "123-45-6789" not in out
