"""The full profile's APIs under gunicorn: ``nova-api``, ``placement-api``, ``cinder-api``,
``glance-api`` and the stand-in for the network API.

Run as ``python -m ha_tests.lab.api_wsgi GUNICORN-ARGS`` with ``argv[0]`` set to the API's
name (see keystone_wsgi for why: a precise process pattern, oslo.config parsing ``sys.argv``,
site directories from ``HA_TESTS_LAB_SITE``). ``HA_TESTS_LAB_APP`` says which application the
worker builds; each finds its config file through its own environment variable
(``OS_NOVA_CONFIG_DIR``, ``OS_PLACEMENT_CONFIG_DIR``, ``HA_TESTS_LAB_CONFIG_FILE`` for
Cinder, ``OS_GLANCE_CONFIG_DIR``).
"""

import os
import site
import sys

APPS = {
    "nova-api": "nova.wsgi.osapi_compute",
    "placement-api": "placement.wsgi.api",
    "cinder-api": "cinder.wsgi.api",
    "glance-api": "glance.wsgi.api",
}
#: stand-ins (module, attribute) for the services the lab does not run
STANDINS = {
    "network-api": "network_application",
}

if __name__ == "__main__":
    for directory in filter(None, os.environ.get("HA_TESTS_LAB_SITE", "").split(":")):
        site.addsitedir(directory)
    # gunicorn would retitle its processes "gunicorn: master [...]" when setproctitle is
    # installed (Nova pulls it in): keep the command line the precise pattern looks for
    sys.modules["setproctitle"] = None
    from gunicorn.app.wsgiapp import run

    sys.exit(run(prog=os.environ.get("HA_TESTS_LAB_APP", "api")))
else:
    import importlib

    # the API's name as the program's, before oslo.messaging reads it: its queue manager
    # names reply queues by it, and nova-api and cinder-api on one node must not share one
    sys.argv = [os.environ.get("HA_TESTS_LAB_APP", sys.argv[0])]
    if os.environ.get("HA_TESTS_LAB_CONFIG_FILE"):  # an app that reads only sys.argv (Cinder)
        sys.argv += ["--config-file", os.environ["HA_TESTS_LAB_CONFIG_FILE"]]
    app = os.environ["HA_TESTS_LAB_APP"]
    if app in STANDINS:
        application = getattr(importlib.import_module("ha_tests.lab.standins"), STANDINS[app])
    else:
        application = importlib.import_module(APPS[app]).application
