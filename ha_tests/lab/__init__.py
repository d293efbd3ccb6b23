"""The lab: a real miniature HA control plane on this machine (see docs/lab.rst).

``Lab`` is imported lazily so that the small programs run inside nodes (``hactl``,
``nodeinit``) start fast and do not load the whole lab.
"""

__all__ = ["Lab"]


def __getattr__(name):
    if name == "Lab":
        from ha_tests.lab.lab import Lab

        return Lab
    raise AttributeError(f"module 'ha_tests.lab' has no attribute {name!r}")
