"""The lab's volume driver: Cinder's own A/A-capable fake driver, able to multi-attach.

``cinder.tests.fake_driver.FakeHAReplicatedLoggingVolumeDriver`` supports active/active
clusters and logs instead of touching storage; it does not report ``multiattach`` in its pool,
so Cinder's scheduler would refuse a multi-attach volume type on it. This adds that, nothing
else. No data is stored anywhere: the lab's volumes exist in Cinder's database only.
"""

from __future__ import annotations

from cinder.tests.fake_driver import FakeHAReplicatedLoggingVolumeDriver


class LabVolumeDriver(FakeHAReplicatedLoggingVolumeDriver):
    SUPPORTS_ACTIVE_ACTIVE = True

    def _update_volume_stats(self):
        super()._update_volume_stats()
        name = self.configuration.safe_get("volume_backend_name") or self.backend_name
        self._stats["volume_backend_name"] = name
        for pool in self._stats["pools"]:
            pool["pool_name"] = name
            pool["multiattach"] = True
            pool["reserved_percentage"] = 0
