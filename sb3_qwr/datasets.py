"""
``python -m sb3_qwr.datasets``: roll saved SB3 / QWR policies (with action noise) and random episodes out into a
Minari dataset for offline training. See :mod:`sb3_qwr.offline.make_dataset`.
"""

from sb3_qwr.offline.make_dataset import main

if __name__ == "__main__":
    main()
