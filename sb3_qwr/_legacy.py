"""
The module names of sb3-qwr 0.1 (a flat package), kept so that what 0.1 pickled still unpickles: models saved
with ``save`` name their policy class (``sb3_qwr.policies.QWRPolicy``), replay buffers saved with
``save_replay_buffer`` their class (``sb3_qwr.buffers.QWRReplayBuffer``). Only ``sys.modules`` entries: no code
imports these names.
"""

import importlib
import sys

#: 0.1 module name -> module that holds its classes since 0.2.
LEGACY_MODULES = {
    "sb3_qwr.policies": "sb3_qwr.qwr.policies",
    "sb3_qwr.awr_policies": "sb3_qwr.awr.policies",
    "sb3_qwr.buffers": "sb3_qwr.common.buffers",
    "sb3_qwr.distributions": "sb3_qwr.common.distributions",
    "sb3_qwr.functional": "sb3_qwr.common.functional",
}


def register_legacy_modules() -> None:
    """Make each 0.1 module name an alias of the module that holds its classes now."""
    for old, new in LEGACY_MODULES.items():
        sys.modules.setdefault(old, importlib.import_module(new))
