"""The full profile's stand-in for the service the lab does not run yet: Neutron.

The lab wires its guests itself (``guests``), so it needs no virtual networks; but Nova asks
the network API about an instance's ports when it deletes one (even one booted with
``networks: none``), and fails without answers. This WSGI app answers those reads truthfully
for such a cloud: no networks, no ports. A write or an unknown path gets 501, so a caller
that wanted the real service fails loudly. It runs on the controllers behind HAProxy like
the real APIs; docs/lab.rst lists it among the lab's limits, and no scenario measures it.
"""

from __future__ import annotations

import json

NETWORK_COLLECTIONS = {"ports", "networks", "subnets", "security-groups", "floatingips",
                       "extensions", "routers", "trunks"}


def _json(start_response, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def _not_implemented(start_response, what: str) -> list[bytes]:
    return _json(start_response, "501 Not Implemented", {"error": {
        "message": f"the ha-tests lab has no {what}; only the reads Nova needs are answered"}})


def network_application(environ, start_response):
    path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
    if environ.get("REQUEST_METHOD", "GET") != "GET":
        return _not_implemented(start_response, "Neutron")
    if path == "/":
        return _json(start_response, "200 OK", {"versions": [
            {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": "/v2.0/"}]}]})
    name = path.removeprefix("/v2.0/").removesuffix(".json")
    if name in NETWORK_COLLECTIONS:
        return _json(start_response, "200 OK", {name.replace("-", "_"): []})
    if name.split("/")[0] in NETWORK_COLLECTIONS:
        return _json(start_response, "404 Not Found", {"NeutronError": {
            "type": "NotFound", "message": f"{name}: not found", "detail": ""}})
    return _not_implemented(start_response, "Neutron")
