"""The full profile's stand-ins for the two services the lab does not run: Neutron, Glance.

The lab wires its guests itself (``guests``) and boots them from nothing, so it needs no
virtual networks and no image store; but Nova asks the network API about an instance's
ports when it deletes one (even one booted with ``networks: none``) and the image API about
the image it boots from, and fails without answers. These two WSGI apps answer those reads
truthfully for such a cloud: no networks, no ports, and one image, ``lab-guest``, with no
data. A write or an unknown path gets 501, so a caller that wanted the real service fails
loudly. They run on the controllers behind HAProxy like the real APIs; docs/lab.rst lists
them among the lab's limits, and no scenario measures them.
"""

from __future__ import annotations

import json
import os
import uuid

IMAGE_NAME = "lab-guest"
NETWORK_COLLECTIONS = {"ports", "networks", "subnets", "security-groups", "floatingips",
                       "extensions", "routers", "trunks"}


def image_id(lab_name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ha-tests-lab/{lab_name}/{IMAGE_NAME}"))


def image_record(lab_name: str) -> dict:
    ident = image_id(lab_name)
    return {"id": ident, "name": IMAGE_NAME, "status": "active", "visibility": "public",
            "disk_format": "raw", "container_format": "bare", "min_disk": 0, "min_ram": 0,
            "size": 0, "virtual_size": 0, "protected": False, "os_hidden": False,
            "tags": [], "owner": None, "checksum": None, "os_hash_algo": None,
            "os_hash_value": None, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "file": f"/v2/images/{ident}/file",
            "self": f"/v2/images/{ident}", "schema": "/v2/schemas/image"}


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


def image_application(environ, start_response):
    lab = os.environ.get("HA_TESTS_LAB_NAME", "halab")
    path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
    if environ.get("REQUEST_METHOD", "GET") != "GET":
        return _not_implemented(start_response, "Glance")
    record = image_record(lab)
    if path in ("/", "/versions"):
        return _json(start_response, "200 OK", {"versions": [
            {"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": "/v2/"}]}]})
    if path == "/v2/schemas/image":
        return _json(start_response, "200 OK", {
            "name": "image", "additionalProperties": {"type": "string"},
            "properties": {key: {} for key in record}, "links": []})
    if path == "/v2/images":
        query = environ.get("QUERY_STRING", "")
        wanted = [part.split("=", 1)[1] for part in query.split("&")
                  if part.startswith(("name=", "id="))]
        matches = [record] if not wanted or any(w in (record["name"], record["id"])
                                                for w in wanted) else []
        return _json(start_response, "200 OK", {"images": matches, "first": "/v2/images",
                                                 "schema": "/v2/schemas/images"})
    if path == f"/v2/images/{record['id']}":
        return _json(start_response, "200 OK", record)
    if path.startswith("/v2/images/"):
        return _json(start_response, "404 Not Found", {"message": "no such image"})
    return _not_implemented(start_response, "Glance")
