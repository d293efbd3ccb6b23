"""One Tempest test per HA scenario, generated from the scenario files at import time.

The test body hands the scenario to the same Session the CLI uses (a thin adapter, not a
second engine): the same destructive decision (``[ha] destructive`` is this door's opt-in, an
inventory marked ``test_target`` needs none; a refusal is a skip), the same node locks and the
same outputs. Tempest's own tempest.conf supplies the identity URI and admin credentials for
the monitors.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tempest import config, test
from tempest.lib import decorators

CONF = config.CONF
_NAMESPACE = uuid.UUID("6f1c3c1e-2f0e-4c55-9e57-5c1d8d3a7a10")


def _scenario_paths() -> list[Path]:
    from ha_tests.profiles import profile_paths
    from ha_tests.scenario_files import expand_scenarios, shipped_scenarios_dir

    ha = getattr(CONF, "ha", None)
    if ha is not None and ha.profile:
        return profile_paths(ha.profile)
    items = list(ha.scenarios) if ha is not None and ha.scenarios else \
        [str(shipped_scenarios_dir())]
    return expand_scenarios(items)


def _inventory():
    from ha_tests.inventory import CloudAuth
    from ha_tests.inventory_formats import resolve_inventory

    inventory = resolve_inventory(CONF.ha.inventory)
    if CONF.ha.use_tempest_credentials and CONF.identity.uri_v3 and CONF.auth.admin_password:
        auth = CloudAuth(auth_url=CONF.identity.uri_v3, username=CONF.auth.admin_username,
                         password=CONF.auth.admin_password,
                         project_name=CONF.auth.admin_project_name,
                         user_domain_name=CONF.auth.admin_domain_name or "Default",
                         project_domain_name=CONF.auth.admin_domain_name or "Default",
                         region_name=CONF.identity.region or None,
                         interface=CONF.identity.v3_endpoint_type or "public")
        inventory = inventory.model_copy(update={"auth": auth, "cloud": None})
    return inventory


class HaScenarioTest(test.BaseTestCase):
    """HA fault-injection scenarios. Destructive ones run only with [ha] destructive = True."""

    credentials: list = []

    def _run(self, path: Path):
        from ha_tests.errors import InputError
        from ha_tests.scenario import load_scenario
        from ha_tests.session import Policy, Session
        from ha_tests.summary import Status

        scenario = load_scenario(path)
        try:
            inventory = _inventory()
        except InputError as exc:
            raise self.skipException(f"no ha-tests inventory: {exc}") from None
        policy = Policy(allow_destructive=CONF.ha.destructive,
                        opt_in="set [ha] destructive = True in tempest.conf",
                        seed=CONF.ha.seed, label=scenario.name)
        session = Session(inventory, Path(CONF.ha.results_dir), policy)
        plan = session.plan([scenario])
        refusal = plan.refusal()
        if refusal is not None:
            raise self.skipException(str(refusal))
        (ran,) = session.run(plan).ran
        summary = ran.summary
        if ran.result_dir is not None:
            self._attach(ran.result_dir)
        if ran.status is Status.SKIPPED:
            raise self.skipException((summary and summary.skip_reason) or "skipped")
        if ran.status is not Status.PASS:
            reasons = (summary.sla_failures or [summary.error]) if summary else []
            self.fail(f"{scenario.name}: {ran.status}: {'; '.join(filter(None, reasons))}"
                      f" (results: {ran.result_dir})")

    def _attach(self, result_dir: Path) -> None:
        """report.html and PNG timelines as test details: subunit carries them, and the
        ``[[ATTACHMENT|path]]`` lines reach JUnit's system-out for CI attachment plugins."""
        from testtools import content

        from ha_tests.report.artifacts import attachment_lines, scenario_artifacts

        paths = scenario_artifacts(result_dir, png=CONF.ha.png_timelines)
        if paths:
            self.addDetail("ha-attachments", content.text_content(attachment_lines(paths)))
        for path in paths:
            if path.suffix == ".png":
                self.addDetail(path.name, content.content_from_file(
                    str(path), content.ContentType("image", "png"), buffer_now=True))


def _make_test(path: Path):
    def test_method(self):
        self._run(path)
    return test_method


def _generate() -> None:
    try:
        paths = _scenario_paths()
    except Exception:  # no scenarios readable: no generated tests, not an import failure
        return
    for path in paths:
        name = "test_" + re.sub(r"\W", "_", path.stem)
        method = _make_test(path)
        method.__name__ = name
        method.__doc__ = f"HA scenario {path.stem} ({path})"
        method = decorators.idempotent_id(str(uuid.uuid5(_NAMESPACE, path.stem)))(method)
        method = decorators.attr(type="slow")(method)
        setattr(HaScenarioTest, name, method)


_generate()
