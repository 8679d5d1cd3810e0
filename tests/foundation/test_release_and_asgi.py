import subprocess

from django.test import AsyncClient

from otel_clinic import testing
from otel_clinic.semantics.release import resolve_environment, resolve_release
from tests.foundation.conftest import points, span_by_route


def test_release_order_explicit_then_env_then_git_then_package(tmp_path):
    repo = tmp_path / "app"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=n", "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, check=True)
    sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    env = {"OTEL_CLINIC_RELEASE": "from-env", "SENTRY_RELEASE": "from-sentry", "OTEL_CLINIC_RELEASE_PACKAGE": "otel-clinic"}
    assert resolve_release("explicit", env, cwd=str(repo)) == ("explicit", "argument")
    assert resolve_release(None, env, cwd=str(repo)) == ("from-env", "env:OTEL_CLINIC_RELEASE")
    assert resolve_release(None, {"SENTRY_RELEASE": "from-sentry"}, cwd=str(repo)) == ("from-sentry", "env:SENTRY_RELEASE")
    assert resolve_release(None, {"OTEL_CLINIC_RELEASE_PACKAGE": "otel-clinic"}, cwd=str(repo)) == (sha, "git")
    not_git = tmp_path / "plain"
    not_git.mkdir()
    assert resolve_release(None, {"OTEL_CLINIC_RELEASE_PACKAGE": "otel-clinic"}, cwd=str(not_git)) == ("0.1.0", "package")
    assert resolve_release(None, {}, cwd=str(not_git)) == ("unknown", "unknown")
    assert resolve_environment(None, {"SENTRY_ENVIRONMENT": "prod"}) == "prod"
    assert resolve_environment("qa", {"OTEL_CLINIC_ENVIRONMENT": "prod"}) == "qa"


def test_resource_attributes_from_environment_are_merged_and_ranked(monkeypatch):
    from django.test import Client

    import otel_clinic

    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES",
        "k8s.pod.name=api-7f9,team=clinic,service.name=billing-api,service.namespace=billing,"
        "deployment.environment.name=production,service.version=9.9.9",
    )
    with testing.capture() as cap:
        Client().get("/api/patients/")
        attrs = cap.spans()[0].resource.attributes
        assert attrs["k8s.pod.name"] == "api-7f9" and attrs["team"] == "clinic"
        # the standard variable beats our defaults...
        assert (attrs["service.name"], attrs["service.namespace"]) == ("billing-api", "billing")
        assert attrs["deployment.environment.name"] == "production" and attrs["service.version"] == "9.9.9"
        assert otel_clinic.current_release().environment == "production"
    # ...and loses to our own variables and keywords
    monkeypatch.setenv("OTEL_CLINIC_ENVIRONMENT", "staging")
    with testing.capture(service_name="kw-api", release="1.2.3") as cap:
        Client().get("/api/patients/")
        attrs = cap.spans()[0].resource.attributes
        assert (attrs["service.name"], attrs["deployment.environment.name"], attrs["service.version"]) == ("kw-api", "staging", "1.2.3")


def test_asgi_requests_get_the_same_signals():
    import asyncio

    with testing.capture() as cap:
        async def drive():
            client = AsyncClient(raise_request_exception=False)
            await client.get("/api/rate-limited/")
            await client.get("/api/patients/999999/")

        asyncio.run(drive())
        span = span_by_route(cap.spans(), "api/rate-limited/")
        assert span.attributes["error.category"] == "rate_limit"
        assert span.name == "GET api/rate-limited/"
        assert points(cap, "http.server.request.duration", **{"error.category": "not_found"})
