"""Finding 3: a caller's before_send / before_breadcrumb / before_send_transaction run after ours (chained)."""

from __future__ import annotations

import pytest
import sentry_sdk

from otel_clinic import testing
from tests.support.sentry import CapturingTransport

SSN = "123-45-6789"


@pytest.fixture
def hooked():
    seen: dict[str, list] = {"before_send": [], "before_breadcrumb": [], "before_send_transaction": []}

    def before_send(event, hint):
        seen["before_send"].append(event)
        if "drop me" in str(event.get("logentry") or event.get("message") or ""):
            return None
        event.setdefault("tags", {})["user.hook"] = "ran"
        return event

    def before_breadcrumb(crumb, hint):
        seen["before_breadcrumb"].append(dict(crumb))
        crumb.setdefault("data", {})["user.hook"] = "ran"
        return crumb

    def before_send_transaction(event, hint):
        seen["before_send_transaction"].append(event)
        return event

    transport = CapturingTransport()
    with testing.capture(
        sentry_dsn="http://public@127.0.0.1:9/1", release="1.0.0", environment="qa",
        sentry_options={"transport": transport, "before_send": before_send, "before_breadcrumb": before_breadcrumb,
                        "before_send_transaction": before_send_transaction, "traces_sample_rate": 1.0},
    ):
        yield seen, transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()


def test_user_hooks_run_after_ours_on_scrubbed_data(hooked) -> None:
    seen, transport = hooked
    sentry_sdk.add_breadcrumb(category="clinic", message=f"looked up patient ssn {SSN}")
    try:
        raise TimeoutError(f"lab system timed out for ssn {SSN}")
    except TimeoutError:
        sentry_sdk.capture_exception()
    sentry_sdk.capture_message("drop me please")
    with sentry_sdk.start_transaction(name="lifecycle-txn"):
        pass
    sentry_sdk.flush()

    # every hook of the caller ran
    assert seen["before_breadcrumb"] and seen["before_send"] and seen["before_send_transaction"]
    # ...after ours: what it received was already scrubbed (and tagged, for events)
    assert all(SSN not in str(c) for c in seen["before_breadcrumb"])
    assert all(SSN not in str(e) for e in seen["before_send"])
    error = next(e for e in seen["before_send"] if e.get("exception"))
    assert error["tags"]["error.category"] == "timeout"
    # ...and its changes and decisions reached Sentry
    events = transport.events()
    sent_error = next(e for e in events if e.get("exception"))
    assert sent_error["tags"]["user.hook"] == "ran"
    assert any(c.get("data", {}).get("user.hook") == "ran" for c in sent_error["breadcrumbs"]["values"])
    assert not any("drop me" in str(e.get("logentry") or e.get("message") or "") for e in events)


def test_shutdown_closes_the_sentry_client_setup_created() -> None:
    transport = CapturingTransport()
    try:
        with testing.capture(sentry_dsn="http://public@127.0.0.1:9/1", sentry_options={"transport": transport}):
            client = sentry_sdk.get_client()
            assert client.is_active() and client.transport is not None
            sentry_sdk.capture_message("queued before shutdown")
        # testing.capture() calls handle.shutdown(): the client setup() created is flushed and closed
        assert client.transport is None
        assert any("queued before shutdown" in str(e) for e in transport.events())
    finally:
        sentry_sdk.init()
