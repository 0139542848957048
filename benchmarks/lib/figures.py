"""The benchmarks' figures: every PNG goes under ``benchmarks/figures/``, drawn without a display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.lib.records import BENCHMARKS_DIR

#: The one folder of the figures (learning curves under ``curves/<suite>/``).
FIGURES_DIR = BENCHMARKS_DIR / "figures"


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
