"""service-notifications (gap-1): what the cloud *announces* about a service, from its bus.

service-status polls the API; this listens to Nova's versioned notifications, the push
channel that a fault-management tool (Vitrage, Masakari, a NOC's collector) would rely on,
and records every ``service.*`` notification about one service on one host. Nova sends
``service.update`` only when a service's ``disabled``, ``disabled_reason`` or
``forced_down`` changes (not when it merely stops reporting), so for a service that died
silently the honest answer may well be "never announced"; the report says so with the count.

Each sample is ok unless the last notification said the service is forced down or disabled;
the detail has how many notifications arrived so far, the last one's event type and fields
(``forced_down``, ``disabled``, ``disabled_reason``, ``last_seen_up``) and its age.

The listener has its own queue on the bus (an oslo.messaging pool, deleted when the monitor
stops), so it takes no notification away from anyone else and leaves nothing to pile up.
The bus comes from the inventory: ``notifications: {transport_url:
rabbit://user:password@host:5672/}`` (a secret: never logged nor recorded; ``exchange``
defaults to ``nova``, ``topic`` to ``versioned_notifications``; ``quorum_queues: true`` when
the cloud's oslo.messaging has ``rabbit_quorum_queue = true``, so the listener declares the
exchange durable as the cloud does); the lab's full profile writes it.

Example::

    - type: service-notifications
      name: nova-compute-announced
      target: victim
      binary: nova-compute
      interval: 1
      gate: false
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
import urllib.parse
from typing import Any

from pydantic import Field

from ha_tests.errors import PreflightError
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.validation import StrictModel


class ServiceNotificationsParams(StrictModel):
    binary: str = "nova-compute"
    host: str | None = Field(None, description="the host name nova uses (default: the "
                                               "target node's name)")
    topic: str | None = Field(None, description="default: the inventory's notifications "
                                                "topic (versioned_notifications)")


def kombu_url(transport_url: str) -> str:
    """oslo.messaging's ``rabbit://u:p@h1:5672,u:p@h2:5672/vhost`` as kombu's failover list
    ``amqp://u:p@h1:5672/vhost;amqp://u:p@h2:5672/vhost``."""
    parts = urllib.parse.urlsplit(transport_url)
    vhost = parts.path or "/"
    return ";".join(f"amqp://{host}{vhost}" for host in parts.netloc.split(","))


class _Endpoint:
    """oslo.messaging calls ``info`` for each notification of priority INFO."""

    def __init__(self, monitor: ServiceNotificationsMonitor):
        self.monitor = monitor

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.monitor.received(event_type, payload)


class ServiceNotificationsMonitor(Monitor):
    Params = ServiceNotificationsParams
    detects = True

    def setup(self) -> None:
        settings = self.ctx.inventory.notifications
        if settings is None:
            raise PreflightError(f"{self.name}: the inventory has no 'notifications:' "
                                 "(transport_url of the cloud's message bus)")
        self.host = self.params.host or (self.nodes[0].name if self.nodes else None)
        if not self.host:
            raise PreflightError(f"{self.name}: give 'host' or a target")
        try:
            import oslo_messaging
            from oslo_config import cfg
        except ImportError as error:
            raise PreflightError(f"{self.name}: needs oslo.messaging ({error})") from None
        self.lock = threading.Lock()
        self.seen: list[dict[str, Any]] = []
        conf = cfg.ConfigOpts()
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as options:
            # read now, before the driver registers the option it sets
            options.write(f"[oslo_messaging_rabbit]\n"
                          f"rabbit_quorum_queue = {str(settings.quorum_queues).lower()}\n")
            options.flush()
            conf([], project="ha-tests", default_config_files=[options.name],
                 default_config_dirs=[])
        try:
            self.transport = oslo_messaging.get_notification_transport(
                conf, url=settings.transport_url.get_secret_value())
            target = oslo_messaging.Target(exchange=settings.exchange,
                                           topic=self.params.topic or settings.topic)
            self.pool = f"ha-tests-{self.name}-{secrets.token_hex(3)}"
            self.listener = oslo_messaging.get_notification_listener(
                self.transport, [target], [_Endpoint(self)], executor="threading",
                pool=self.pool)
            self.listener.start()
        except Exception as exc:  # the URL is never part of the message
            raise PreflightError(f"{self.name}: cannot listen on the bus: "
                                 f"{type(exc).__name__}") from None

    def received(self, event_type: str, payload: Any) -> None:
        if not event_type.startswith("service."):
            return
        data = payload.get("nova_object.data", payload) if isinstance(payload, dict) else {}
        if data.get("host") != self.host or data.get("binary") != self.params.binary:
            return
        with self.lock:
            self.seen.append({"at": time.monotonic(), "event_type": event_type,
                              **{k: data.get(k) for k in ("forced_down", "disabled",
                                                          "disabled_reason",
                                                          "last_seen_up")}})

    def probe(self) -> ProbeResult:
        with self.lock:
            count = len(self.seen)
            last = dict(self.seen[-1]) if self.seen else None
        detail: dict[str, Any] = {"notifications": count}
        ok = True
        if last is not None:
            detail["age"] = round(time.monotonic() - last.pop("at"), 3)
            detail["last"] = last
            ok = not (last.get("forced_down") or last.get("disabled"))
        return ProbeResult(ok, 0.0, detail)

    def teardown(self) -> None:
        listener = getattr(self, "listener", None)
        if listener is not None:
            try:
                listener.stop()
                listener.wait()
            except Exception:  # best effort: the bus may be what the fault took away
                pass
        transport = getattr(self, "transport", None)
        if transport is not None:
            try:
                transport.cleanup()
            except Exception:  # best effort
                pass
            self._delete_queue()

    def _delete_queue(self) -> None:
        """The pool's queue would keep collecting notifications after us: delete it."""
        try:
            import kombu

            url = self.ctx.inventory.notifications.transport_url.get_secret_value()
            with kombu.Connection(kombu_url(url), connect_timeout=5) as connection:
                connection.default_channel.queue_delete(self.pool)
        except Exception:  # best effort: the bus may be what the fault took away
            pass

    def describe(self) -> str:
        return (f"{self.name}: service.* notifications about {self.params.binary} on "
                f"{getattr(self, 'host', None) or ', '.join(n.name for n in self.nodes)}")
