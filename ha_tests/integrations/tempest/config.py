"""The ``[ha]`` group of tempest.conf."""

from oslo_config import cfg

ha_group = cfg.OptGroup(name="ha", title="ha-tests HA fault-injection scenarios")

HaGroup = [
    cfg.ListOpt("scenarios", default=[],
                help="Scenario files or directories to run as tests (default: the shipped "
                     "scenarios directory, or the profile's list)."),
    cfg.StrOpt("profile", default=None,
               help="A named profile of shipped scenarios (e.g. post-deploy) instead of "
                    "'scenarios'."),
    cfg.StrOpt("inventory", default=None,
               help="ha-tests inventory file (nodes, BMCs, services). Default: "
                    "$HA_TESTS_INVENTORY, else the lab's."),
    cfg.StrOpt("results_dir", default="results",
               help="Where each scenario writes events.jsonl, summary.json and junit.xml."),
    cfg.BoolOpt("destructive", default=False,
                help="Run scenarios that inject faults. Off by default: they kill processes, "
                     "cut networks and power nodes off."),
    cfg.IntOpt("seed", default=None,
               help="Seed for random target picks (replays a run's choice of nodes)."),
    cfg.BoolOpt("png_timelines", default=True,
                help="Render each scenario's timelines as PNG (needs Chromium) and attach "
                     "them, with report.html, to the test's details."),
    cfg.BoolOpt("use_tempest_credentials", default=True,
                help="Monitors call the APIs with tempest.conf's identity URI and admin "
                     "credentials instead of the inventory's clouds.yaml."),
]
