"""token-validity against the loopback keystone double: valid, lost, down, admin token lost."""

from __future__ import annotations

from fake_cloud import PASSWORD

from ha_tests.monitors.token_validity import TokenValidityMonitor, TokenValidityParams


def monitor(ctx, timeout=2.0, **params) -> TokenValidityMonitor:
    mon = TokenValidityMonitor("tokens", TokenValidityParams.model_validate(params), [], ctx,
                               timeout=timeout)
    mon.setup()
    return mon


def test_tokens_stay_valid_and_are_never_recorded(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, tokens=5, auth_url="http://{vip:api}:" + str(fake_cloud.port))
    assert fake_cloud.issued == 6          # five under test and the admin token
    issued = fake_cloud.issued
    result = mon.probe()
    assert result.ok, result.detail
    assert result.detail["fraction_valid"] == 1.0 and result.detail["valid"] == 5
    assert fake_cloud.issued == issued, "a probe must validate, not issue"
    text = repr(result.detail)
    assert PASSWORD not in text and not any(t in text for t in fake_cloud.tokens)
    mon.teardown()


def test_lost_tokens_are_counted_for_good(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, tokens=5)
    tolerant = monitor(cloud_ctx, tokens=5, min_valid_fraction=0.5)
    fake_cloud.tokens.discard(mon._tokens[0])
    fake_cloud.tokens.discard(mon._tokens[3])
    result = mon.probe()
    assert not result.ok
    assert result.detail["valid"] == 3 and result.detail["invalid"] == 2
    assert result.detail["fraction_valid"] == 0.6
    assert result.detail["lost"] == 2 and result.detail["fraction_stayed_valid"] == 0.6
    fake_cloud.tokens.discard(tolerant._tokens[1])
    assert tolerant.probe().ok
    fake_cloud.tokens.add(mon._tokens[0])   # even if it came back, it was lost once
    assert mon.probe().detail["lost"] == 2


def test_validation_outage_is_an_error_not_a_lost_token(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, tokens=3, timeout=1.0)
    fake_cloud.stop()
    try:
        result = mon.probe()  # refused at once: an error, never a lost token
        assert not result.ok
        assert result.detail["errors"] == 3 and result.detail["lost"] == 0
        assert "Connect" in result.detail["error"]
    finally:
        fake_cloud.start()
    assert mon.probe().ok


def test_slow_validation_is_bounded(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, tokens=3, timeout=0.5)
    fake_cloud.delay = 1.5
    try:
        result = mon.probe()
        # keystone answers after 1.5 s: each validation errs at its 0.5 s bound instead
        assert not result.ok and result.detail["errors"] == 3
    finally:
        fake_cloud.delay = 0.0


def test_admin_token_refused_is_reissued(fake_cloud, cloud_ctx):
    mon = monitor(cloud_ctx, tokens=2)
    fake_cloud.tokens.discard(mon._admin)
    result = mon.probe()
    assert result.ok, result.detail
    assert result.detail["admin_token_reissued"] is True
