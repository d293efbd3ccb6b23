"""The ways a service can run on a node, one module each, registered by the entry-point group
``ha_tests.discovery`` (a user adds a way, e.g. for another supervisor, without forking).

A way reads a node's facts and, for a catalogue entry, says whether the service runs there
*its* way and how to stop, start, restart and ask its status that way. Where several ways
see one service (a kolla container's process is also a bare process), the lowest ``rank``
wins: Pacemaker over a systemd unit over a container over the lab's supervisor over a bare
process.
"""

from ha_tests.discovery.ways.base import Finding, Way

__all__ = ["Finding", "Way"]
