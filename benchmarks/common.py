"""
What the benchmark scripts share: their folders, results files written atomically, the versions and machine a
result was measured with, the "median ± half IQR" text of the tables, generated blocks in markdown files (a
script writes its table between a pair of HTML comment markers and leaves the hand-written notes around it),
and matplotlib figures written without a display.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.lib.stats import median_half_iqr

BENCHMARKS_DIR = Path(__file__).resolve().parent
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


def repo_relative(text: str) -> str:
    """
    :param text: A command-line argument.
    :return: ``text`` relative to the repository root when it is an absolute path inside it.
    """
    if os.path.isabs(text) and Path(text).resolve().is_relative_to(REPO_ROOT):
        return os.path.relpath(text, REPO_ROOT)
    return text


def fmt_return(value: float) -> str:
    """
    :param value: A return.
    :return: It with a precision suited to its magnitude (no decimal from 100 on, one below).
    """
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def median_text(scores: Sequence[float]) -> str:
    """
    :param scores: One score per seed.
    :return: Their median ± half IQR as the tables print it, e.g. ``"359 ± 93.1"``.
    """
    median, half_iqr = median_half_iqr(scores)
    return f"{fmt_return(median)} ± {fmt_return(half_iqr)}"


def pyplot() -> Any:
    """
    :return: ``matplotlib.pyplot`` with the file-only ``Agg`` backend (no display needed).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, dpi: int = 100) -> None:
    """
    :param fig: A matplotlib figure (closed once written).
    :param path: Output PNG (its folder is created).
    :param dpi: Resolution.
    """
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)


def replace_marked_block(path: Path, begin: str, end: str, body: str, append_title: str | None = None) -> None:
    """
    Put ``begin``, ``body`` and ``end`` (one per line) in place of the block from ``begin`` to ``end`` of
    ``path``, keeping the text around it.

    :param path: The markdown file.
    :param begin: The line that opens the block (e.g. ``<!-- offline-table:start -->``).
    :param end: The line that closes it.
    :param body: The new text between the markers.
    :param append_title: What to do when the file has no such block: ``None`` raises a ``ValueError``; a title
        appends the block at the end of the file, or creates the file (headed ``# <title>``) when it does not exist.
    """
    block = f"{begin}\n{body}\n{end}"
    if not path.exists():
        if append_title is None:
            raise ValueError(f"{path} does not exist; create it with the lines {begin} and {end} where the table goes.")
        path.write_text(f"# {append_title}\n\n{block}\n")
        return
    text = path.read_text()
    start = text.find(begin)
    stop = text.find(end, start + len(begin)) if start >= 0 else -1
    if start >= 0 and stop >= 0:
        path.write_text(text[:start] + block + text[stop + len(end) :])
    elif append_title is None:
        raise ValueError(f"{path} has no {begin} ... {end} markers; add them where the table goes.")
    else:
        path.write_text(text.rstrip("\n") + "\n\n" + block + "\n")
