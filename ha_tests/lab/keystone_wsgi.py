"""``keystone-wsgi-public`` of a lab controller: Keystone's public WSGI app under gunicorn.

Run as ``python -m ha_tests.lab.keystone_wsgi GUNICORN-ARGS`` with ``argv[0]`` set to
``keystone-wsgi-public``, so the process command line reads like a packaged Keystone's and a
precise pattern (``^keystone-wsgi-public``) finds it. Keystone 30 ships no such script, and
oslo.config parses ``sys.argv``: gunicorn's flags there would make Keystone exit with
"unrecognized arguments", so the worker trims ``argv`` before it builds the app. Because the
spoofed ``argv[0]`` hides the virtualenv from Python, the launcher gets its site directories
from ``HA_TESTS_LAB_SITE`` (with their ``.pth`` files).
"""

import os
import site
import sys

if __name__ == "__main__":
    for directory in filter(None, os.environ.get("HA_TESTS_LAB_SITE", "").split(":")):
        site.addsitedir(directory)
    # gunicorn would retitle its processes "gunicorn: master [...]" when setproctitle is
    # installed (Nova pulls it in): keep the command line the precise pattern looks for
    sys.modules["setproctitle"] = None
    from gunicorn.app.wsgiapp import run

    sys.exit(run(prog="keystone-wsgi-public"))
else:
    sys.argv = sys.argv[:1]
    from keystone.server.wsgi import initialize_public_application

    application = initialize_public_application()
