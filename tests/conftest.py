"""Test-wide settings."""

import torch as th

# One torch thread: the networks here are small (faster on one thread), and results of seeded runs then do
# not depend on how many cores the machine running the tests has.
th.set_num_threads(1)
