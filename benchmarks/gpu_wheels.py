"""
The packages ``benchmarks.gpu_check`` needs on the lent GPU machine, which has Python 3.12 and torch but none of
stable-baselines3, gymnasium, mujoco or ale-py, and nothing downloads there: download their Python 3.12 wheels here
into the git-ignored ``.gpu_wheels/`` (about 40 MiB, under the device tool's 64 MiB carry limit; OpenCV is left out,
its wheel alone is 64 MB: the check's Atari part then resizes frames in NumPy, see ``benchmarks.speed``).

    python -m benchmarks.gpu_wheels                  # here, once: .gpu_wheels/*.whl
    # on the device (run with carry=[".gpu_wheels"]):
    pip install --no-index --no-deps --target .gpu_site .gpu_wheels/*.whl
    PYTHONPATH=.gpu_site:. python -m benchmarks.gpu_check --output $OUT/gpu_check.json

The versions are this project's (those the CPU tests run with), for CPython 3.12 on x86_64 manylinux.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from benchmarks.lib.records import REPO_ROOT

#: What the check imports beyond torch (and torch's own dependencies), pinned.
WHEELS = (
    "stable-baselines3==2.9.2",
    "gymnasium==1.4.0",
    "cloudpickle==3.1.3",
    "farama-notifications==0.0.6",
    "mujoco==4.0.1",
    "mujoco-core==4.0.1",
    "mujoco-studio==4.0.1",
    "absl-py==2.5.1",
    "glfw==2.11.0",
    "ale-py==0.12.1",
    "numpy==2.4.6",
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "pygments==2.21.0",
    "imageio==2.38.2",  # gymnasium's MuJoCo envs import it (rendering)
    "pillow==11.3.0",
    "typing-extensions==4.16.0",  # torch's dependency too: present there, harmless twice
)
#: The device tool's limit on what a run carries.
CARRY_LIMIT = 64 * 2**20


def main(argv: list[str] | None = None) -> int:
    """
    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: 0 when every wheel is there and they fit the carry limit.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=REPO_ROOT / ".gpu_wheels")
    parser.add_argument("--python-version", default="3.12")
    args = parser.parse_args(argv)
    platforms = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any")
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "-d", str(args.dest)]
    command += ["--python-version", args.python_version, "--implementation", "cp"]
    for platform in platforms:
        command += ["--platform", platform]
    subprocess.run([*command, *WHEELS], check=True)
    wheels = sorted(args.dest.glob("*.whl"))
    total = sum(wheel.stat().st_size for wheel in wheels)
    for wheel in wheels:
        print(f"{wheel.stat().st_size / 2**20:7.2f} MiB  {wheel.name}")
    print(f"{total / 2**20:7.2f} MiB in all ({len(wheels)} wheels), limit {CARRY_LIMIT / 2**20:.0f} MiB")
    return 0 if total <= CARRY_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
