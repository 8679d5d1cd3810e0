"""The Sentry release API client never sends its token in cleartext or after a redirect (issue 15, small ones)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import otel_clinic
from otel_clinic import testing
from otel_clinic.errors import ConfigError
from otel_clinic.integrations.sentry_releases import SentryReleaseAPI, validate_sentry_url


@pytest.mark.parametrize("url", ["https://sentry.io/", "https://sentry.clinic.example:8443/base/",
                                 "http://127.0.0.1:9000/", "http://localhost:8000", "http://[::1]:8000/"])
def test_https_or_loopback_http_is_accepted(url: str) -> None:
    assert validate_sentry_url(url) == url


@pytest.mark.parametrize("url", ["http://sentry.clinic.example/", "http://10.0.0.5:9000/", "ftp://sentry.io/",
                                 "sentry.io", "https:///api", "https://user:s3cr3t@sentry.io/"])
def test_anything_else_is_a_config_error_naming_sentry_url(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        SentryReleaseAPI(url, "tok-123", "o", "p")
    assert info.value.setting == "SENTRY_URL"
    assert "s3cr3t" not in str(info.value)


def test_a_cleartext_remote_sentry_url_fails_at_setup_and_at_the_api_client() -> None:
    with pytest.raises(ConfigError, match="sentry_url"):
        with testing.capture(sentry_url="http://sentry.clinic.example/", sentry_auth_token="tok-123",
                             sentry_org="o", sentry_project="p"):
            pass
    with pytest.raises(ConfigError, match="SENTRY_URL"):
        SentryReleaseAPI("http://sentry.clinic.example/", "tok-123", "o", "p")


class _Server:
    """A loopback HTTP server answering every POST with `status` (+ Location), recording what it received."""

    def __init__(self, status: int, location: str = "") -> None:
        received: list[dict[str, str]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "_Server":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_the_token_goes_nowhere_else(code: int) -> None:
    with _Server(201) as elsewhere:
        with _Server(code, location=elsewhere.url + "collect") as sentry:
            status, _ = SentryReleaseAPI(sentry.url, "tok-123", "o", "p", timeout=5).create_release("2.0.4")
    assert status == code  # reported as a failure, not followed
    assert [r["authorization"] for r in sentry.received] == ["Bearer tok-123"]
    assert elsewhere.received == []


def test_setup_refuses_a_cleartext_sentry_url_naming_the_setting(monkeypatch) -> None:
    # Checked when the configuration is loaded, not only when track_deployment first calls the API.
    from otel_clinic.config import load_config
    from otel_clinic.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_config(environ={"SENTRY_URL": "http://sentry.clinic.example/"})
    assert "SENTRY_URL" in str(err.value)
    assert load_config(environ={"SENTRY_URL": "http://127.0.0.1:9000/"}).sentry_url == "http://127.0.0.1:9000/"
