"""api monitor against a real HTTP keystone/nova double on loopback (the lab tests the real one)."""

from __future__ import annotations

import pytest
from fake_cloud import PASSWORD

from ha_tests.errors import CloudUnreachable, PreflightError
from ha_tests.monitors.api import ApiMonitor, ApiParams


def monitor(ctx, timeout=2.0, **params) -> ApiMonitor:
    mon = ApiMonitor("api", ApiParams.model_validate(params), [], ctx, timeout=timeout)
    mon.setup()
    return mon


def no_secret(result) -> None:
    assert PASSWORD not in repr(result.detail)


def test_token_issue_authenticates_every_sample(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, service="identity")
    before = fake_cloud.issued
    for _ in range(3):
        result = mon.probe()
        assert result.ok, result.detail
        assert result.detail["status"] == 201 and "expires_at" in result.detail
        assert result.latency > 0
    assert fake_cloud.issued - before == 3, "a cached token stood in for keystone"
    mon.teardown()


def test_token_issue_fails_while_keystone_is_down_and_recovers(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, service="identity", timeout=1.0)
    assert mon.probe().ok
    fake_cloud.stop()
    try:
        result = mon.probe()
        assert not result.ok
        assert "Connect" in result.detail["error"]
        no_secret(result)
    finally:
        fake_cloud.start()
    assert mon.probe().ok


def test_list_call_fails_on_error_status_and_401_is_not_retried(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, service="identity", call="user-list")
    result = mon.probe()
    assert result.ok and result.detail["status"] == 200
    fake_cloud.status_override = 503
    try:
        result = mon.probe()
        assert not result.ok and result.detail["status"] == 503
    finally:
        fake_cloud.status_override = None
    fake_cloud.tokens.clear()           # keystone forgot every token (e.g. fernet keys rotated)
    result = mon.probe()
    assert not result.ok and result.detail["status"] == 401
    assert mon.probe().ok               # the next sample authenticated anew


def test_call_is_bounded_by_the_probe_timeout(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, service="identity", call="user-list", timeout=0.5)
    fake_cloud.delay = 2.0
    try:
        result = mon.probe()
        # keystone answers after 2 s: the call is cut at the probe's 0.5 s, not waited for
        assert not result.ok and "Timeout" in result.detail["error"]
    finally:
        fake_cloud.delay = 0.0


def test_compute_calls_and_http_status_ok(fake_cloud, cloud_ctx):
    assert monitor(cloud_ctx, service="compute").probe().ok
    result = monitor(cloud_ctx, service="compute", call="service-list").probe()
    assert result.ok and result.detail["status"] == 200
    strict = monitor(cloud_ctx, service="compute", call="service-list", http_status_ok=[203])
    assert not strict.probe().ok


def test_preflight_errors(fake_cloud, cloud_ctx, tmp_path, context_factory):
    with pytest.raises(PreflightError, match="no network service"):
        monitor(cloud_ctx, service="network")
    fake_cloud.stop()
    try:
        with pytest.raises(PreflightError, match="cannot reach the identity API") as info:
            monitor(cloud_ctx, service="identity")
        assert PASSWORD not in str(info.value)
        assert isinstance(info.value, CloudUnreachable)  # nothing answered: asked again
    finally:
        fake_cloud.start()
    fake_cloud.stop()
    try:  # sign-in fails: that is not a catalog without the service
        with pytest.raises(PreflightError, match="cannot reach the compute API"):
            monitor(cloud_ctx, service="compute")
    finally:
        fake_cloud.start()
    with pytest.raises(ValueError, match="no call 'bogus'"):
        ApiParams.model_validate({"service": "compute", "call": "bogus"})


def test_wrong_password_is_a_failed_sample_without_the_password(fake_cloud, tmp_path,
                                                                context_factory):
    path = tmp_path / "clouds.yaml"
    fake_cloud.clouds_yaml(path)
    path.write_text(path.read_text().replace(PASSWORD, "wrong-pw-123"))
    ctx = context_factory(cloud="fake", clouds_yaml=str(path))
    with pytest.raises(PreflightError) as info:
        monitor(ctx, service="identity")
    assert "wrong-pw-123" not in str(info.value)
    # an answer that waiting will not change: the runner must not ask again for a minute
    assert not isinstance(info.value, CloudUnreachable)


def test_monitors_never_share_a_session_or_token(fake_cloud, cloud_ctx):
    first = monitor(cloud_ctx, service="identity", call="user-list")
    second = monitor(cloud_ctx, service="identity", call="project-list")
    assert first.conn.session is not second.conn.session
    assert first.conn.session.auth is not second.conn.session.auth
    assert first.conn.session.get_token() != second.conn.session.get_token()
    assert first.conn.session.timeout == 2.0
