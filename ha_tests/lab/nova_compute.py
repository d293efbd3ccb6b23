"""``nova-compute`` of a lab compute node, with the lab's virt driver.

Nova loads ``compute_driver`` only from its own ``nova.virt`` package, so this launcher
registers ``ha_tests.lab.guests`` there as ``nova.virt.ha_lab_guests`` (after Nova's own
start-up imports, which must come first) and runs Nova's ``nova-compute``. Run as
``python -m ha_tests.lab.nova_compute --config-file FILE`` with ``argv[0]`` set to
``nova-compute`` (see keystone_wsgi for the site directories).
"""

import os
import site
import sys

if __name__ == "__main__":
    for directory in filter(None, os.environ.get("HA_TESTS_LAB_SITE", "").split(":")):
        site.addsitedir(directory)
    from nova.cmd import compute  # noqa: I001 (Nova's monkey-patching happens here, first)

    from ha_tests.lab import guests

    sys.modules["nova.virt.ha_lab_guests"] = guests
    sys.argv[0] = "nova-compute"
    sys.exit(compute.main())
