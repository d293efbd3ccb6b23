"""The TempestPlugin: three methods, as Tempest's plugin contract asks."""

from __future__ import annotations

import os

from tempest.test_discover import plugins

from ha_tests.integrations.tempest import config as ha_config


class HaTestsTempestPlugin(plugins.TempestPlugin):
    def load_tests(self):
        base_path = os.path.split(os.path.dirname(os.path.abspath(__file__)))[0]
        test_dir = "ha_tests/integrations/tempest/tests"
        full_test_dir = os.path.join(os.path.dirname(os.path.dirname(base_path)), test_dir)
        top_level = os.path.dirname(os.path.dirname(base_path))
        return full_test_dir, top_level

    def register_opts(self, conf):
        conf.register_group(ha_config.ha_group)
        conf.register_opts(ha_config.HaGroup, group=ha_config.ha_group)

    def get_opt_lists(self):
        return [(ha_config.ha_group.name, ha_config.HaGroup)]
