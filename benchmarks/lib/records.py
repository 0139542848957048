"""
The benchmarks' records: where they go, JSON written atomically, and the one schema of a record's provenance.

Every record a benchmark writes (a JSON file, or one line of a JSON-lines file) holds its own protocol's fields
and, from :func:`provenance`, ``date`` (UTC, ISO 8601), ``versions`` (Python and the packages that matter) and
``machine`` (platform, processor, CPUs, torch threads, GPU), so that any number in a table can be traced to when,
with what and where it was measured.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCHMARKS_DIR.parent
RUNS_DIR = BENCHMARKS_DIR / "runs"
RESULTS_DIR = BENCHMARKS_DIR / "results"

#: Packages whose versions go into each result.
VERSIONED_PACKAGES = (
    "sb3-qwr",
    "stable-baselines3",
    "rl-zoo3",
    "torch",
    "gymnasium",
    "mujoco",
    "ale-py",
    "numpy",
)


def read_json(path: Path, default: Any = None) -> Any:
    """
    :param path: A JSON file.
    :param default: What to return when the file does not exist.
    :return: Its content.
    """
    return json.loads(path.read_text()) if path.exists() else default


def write_json(path: Path, data: Any) -> None:
    """
    Write ``data`` as indented JSON atomically (a crash never leaves a half-written file).

    :param path: Destination.
    :param data: JSON-serializable data.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """
    :param path: A JSON-lines file (created if missing).
    :param record: One record, appended as one line.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as file:
        file.write(json.dumps(record) + "\n")


def package_versions() -> dict[str, str | None]:
    """
    :return: Python's and the installed versions of the packages that matter for the results (``None`` when
        missing).
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_info() -> dict[str, Any]:
    """
    :return: Platform, processor, CPU count, torch threads and GPU (``None`` without CUDA) of this process.
    """
    import torch as th

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": th.get_num_threads(),
        "gpu": th.cuda.get_device_name(0) if th.cuda.is_available() else None,
    }


def now_iso() -> str:
    """:return: The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def provenance() -> dict[str, Any]:
    """:return: The provenance fields of a record: ``date``, ``versions`` and ``machine``."""
    return {"date": now_iso(), "versions": package_versions(), "machine": machine_info()}


def repo_relative(text: str) -> str:
    """
    :param text: A command-line argument.
    :return: ``text`` relative to the repository root when it is an absolute path inside it.
    """
    if os.path.isabs(text) and Path(text).resolve().is_relative_to(REPO_ROOT):
        return os.path.relpath(text, REPO_ROOT)
    return text
