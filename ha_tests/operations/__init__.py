"""Operations: one-shot steps of a scenario (create a server, read where the VIP is, check a
flavor exists), run at a point of its timeline, undone when the iteration ends.

What Yardstick's GeneralHA calls operations and result checkers: a check is an operation
with an ``expect:``. Found through the ``ha_tests.operations`` entry-point group, like
attackers and monitors.
"""
