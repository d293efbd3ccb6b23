"""The program's one masker: every secret the run knows is blanked out of the objects each
writer serialises (events.jsonl, summary.json, junit.xml, CSV), the progress lines, log
records and error messages, however JSON or XML would have escaped it."""

from __future__ import annotations

import io
import json
import logging
import secrets

import pytest

from ha_tests.analysis import write_summary
from ha_tests.bmc import BmcError, connect
from ha_tests.errors import InputError
from ha_tests.events import EventLog
from ha_tests.inventory import Inventory
from ha_tests.masking import MASK, MASKER, Masker, inventory_secrets, remember_inventory
from ha_tests.progress import Progress
from ha_tests.results import format_table, junit_suite, write_csv
from ha_tests.summary import RunSummary
from ha_tests.validation import validate
from ha_tests.yamlsource import load_text


def unique(prefix: str) -> str:
    """A secret no other test registered with the (program-wide) masker."""
    return f"{prefix}-{secrets.token_hex(6)}"


def awkward_secrets() -> list[str]:
    """Secrets JSON would escape (quote, backslash, control and non-ASCII characters)."""
    return [unique('pässwörd'), unique('quote"and\\slash'), unique("tab\tbell\x07"),
            unique("日本語")]


def inventory_with(**fields) -> Inventory:
    return Inventory.model_validate({"nodes": [], **fields})


def summary_with(text: str) -> dict:
    return {"scenario": "s", "gap": "classic", "status": "error", "error": f"boom: {text}",
            "sla_failures": [], "monitors": {}, "targets": {"victim": [text]},
            "finished": "2026-12-01T10:00:00", "seed": 1}


def test_events_are_masked_as_objects_so_no_escaping_hides_a_secret(tmp_path):
    values = awkward_secrets()
    remember_inventory(inventory_with(auth={"auth_url": "http://127.0.0.1:5000/v3",
                                            "username": "admin", "password": values[0]},
                                      ssh={"password": values[1]},
                                      nodes=[{"name": "n1", "address": "127.0.0.1",
                                              "bmc": {"address": "127.0.0.2",
                                                      "password": values[2]}}]))
    log = EventLog(tmp_path / "events.jsonl", [values[3]])
    for value in values:
        log.emit("probe", detail={"error": f"refused {value}!", value: [value, (value,)]})
    log.close()
    text = (tmp_path / "events.jsonl").read_text()
    assert text.count(MASK) == 4 * len(values)
    decoded = json.dumps([json.loads(line) for line in text.splitlines()],
                         ensure_ascii=False)
    for value in values:
        assert value not in decoded
        assert json.dumps(value)[1:-1] not in text


def test_summary_junit_csv_and_tables_are_masked(tmp_path):
    value = unique("summary-pässwörd")
    MASKER.add(value)
    write_summary(tmp_path, summary_with(value))
    junit_suite([summary_with(value)]).write(str(tmp_path / "all.xml"))
    write_csv(tmp_path / "table.csv", [[value, "x"]], ["scenario", "gap"])
    for path in tmp_path.iterdir():
        text = path.read_text(encoding="utf-8")
        assert value not in text and json.dumps(value)[1:-1] not in text, path.name
    assert MASK in (tmp_path / "summary.json").read_text()
    assert value not in format_table([[value]], ["scenario"])


def test_progress_lines_are_masked():
    value = unique("progress-secret")
    remember_inventory(inventory_with(ssh={"password": value}))
    stream = io.StringIO()
    progress = Progress(stream)
    progress.note(f"ssh said {value}")
    progress.alarm(f"ROLLBACK FAILED: {value}")
    progress.finish(RunSummary(scenario="s", gap="classic", status="fail",
                               sla_failures=[f"api: {value}"]))
    assert value not in stream.getvalue() and stream.getvalue().count(MASK) == 3


def test_every_kind_of_secret_is_collected(tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    cloud_pw, secure_pw, app_secret = unique("cloud"), unique("secure"), unique("app")
    clouds.write_text(f"clouds:\n  c:\n    auth: {{password: '{cloud_pw}', "
                      f"application_credential_secret: '{app_secret}'}}\n")
    (tmp_path / "secure.yaml").write_text(f"clouds: {{c: {{auth: {{password: {secure_pw}}}}}}}\n")
    file_pw = unique("from-file")
    password_file = tmp_path / "bmc.pw"
    password_file.write_text(file_pw + "\n")
    bus_pw, redfish_pw, env_pw, env_url_pw = (unique("bus"), unique("redfish"), unique("env"),
                                               unique("envurl"))
    key = tmp_path / "id"
    key_line = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" + secrets.token_hex(8)
    key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{key_line}\n"
                   "-----END OPENSSH PRIVATE KEY-----\n")
    inventory = inventory_with(
        cloud="c", clouds_yaml=str(clouds), ssh={"key_file": str(key)},
        notifications={"transport_url": f"rabbit://nova:{bus_pw}@10.0.0.1:5672,"
                                        f"nova:{bus_pw}@10.0.0.2:5672/"},
        nodes=[{"name": "a", "address": "127.0.0.1",
                "bmc": {"type": "ipmi", "address": "127.0.0.2", "username": "u",
                        "password_file": str(password_file)}},
               {"name": "b", "address": "127.0.0.1",
                "bmc": {"type": "redfish", "url": f"https://root:{redfish_pw}@127.0.0.3",
                        "username": "root", "password": unique("rf")}}])
    found = {str(v) for v in inventory_secrets(inventory)}
    assert {cloud_pw, secure_pw, app_secret, file_pw, bus_pw, redfish_pw, key_line} <= found
    monkeypatch.setenv("OS_PASSWORD", env_pw)
    monkeypatch.setenv("OS_AUTH_URL", f"https://admin:{env_url_pw}@keystone.example/v3")
    remember_inventory(inventory)
    for value in (cloud_pw, secure_pw, app_secret, file_pw, bus_pw, redfish_pw, env_pw,
                  env_url_pw, key_line):
        assert MASKER.mask({"x": f"<{value}>"}) == {"x": f"<{MASK}>"}, value


def test_urls_with_a_password_and_tokens_are_masked_even_if_nobody_said_so():
    masker = Masker()
    assert masker.mask_text("GET https://root:hunter22@10.0.0.9/redfish/v1 failed") == \
        f"GET https://root:{MASK}@10.0.0.9/redfish/v1 failed"
    assert masker.mask_text("rabbit://a:b1cd@h1:5672,a:e2fg@h2:5672/") == \
        f"rabbit://a:{MASK}@h1:5672,a:{MASK}@h2:5672/"
    fernet = "gAAAAA" + "x" * 120
    assert masker.mask_text(f"X-Auth-Token: abcdef123456 and {fernet}") == \
        f"X-Auth-Token: {MASK} and {MASK}"


def test_a_numeric_secret_is_masked_as_a_number_too():
    masker = Masker()
    masker.add(73519284)
    assert masker.mask({"password": 73519284, "seed": 7}) == {"password": MASK, "seed": 7}


def test_a_redfish_url_password_never_reaches_an_error():
    password = unique("url-pw")
    bmc = connect({"type": "redfish", "url": f"http://admin:{password}@127.0.0.1:1",
                   "username": "admin", "password": unique("pw"), "timeout": 2})
    with pytest.raises(BmcError) as caught:
        bmc.power_state()
    assert password not in str(caught.value) and password not in repr(bmc)
    assert "127.0.0.1:1" in str(caught.value)


def test_a_validation_error_never_echoes_a_password():
    text = ("nodes:\n  - name: n1\n    address: 10.0.0.1\n"
            "    bmc: {address: 10.0.0.2, username: admin, password: 73519284}\n"
            "auth: {auth_url: 'http://k/v3', username: admin, password: [9138274655]}\n")
    data, source = load_text(text, "inv.yaml")
    with pytest.raises(InputError) as caught:
        validate(Inventory, data, source)
    message = str(caught.value)
    assert "73519284" not in message and "9138274655" not in message
    assert "inv.yaml:4" in message and "bmc.password" in message and "quote it" in message
    assert "inv.yaml:5" in message and "auth.password" in message


def test_log_records_are_masked(caplog):
    value = unique("logged")
    remember_inventory(inventory_with(ssh={"password": value}))
    with caplog.at_level(logging.WARNING):
        logging.getLogger("ha_tests.some.module").warning("connect with %s failed", value)
        try:
            raise RuntimeError(f"auth {value}")
        except RuntimeError:
            logging.getLogger("paramiko").exception("boom")
    assert value not in caplog.text and MASK in caplog.text
