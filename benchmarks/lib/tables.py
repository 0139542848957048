"""
The tables of the benchmarks: numbers as the tables print them, and generated blocks in markdown files (a script
writes its table between a pair of HTML comment markers and leaves the hand-written notes around it; no script
rewrites a file unless its command line names it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmarks.lib.stats import median_half_iqr, quartiles


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


def quartiles_cell(values: Sequence[float]) -> str:
    """
    :param values: One value per seed.
    :return: ``median (25th to 75th percentile, n)``, the cell of the offline tables, or ``not run`` without values.
    """
    if not values:
        return "not run"
    q25, q50, q75 = quartiles(values)
    return f"{q50:.0f} ({q25:.0f} to {q75:.0f}, {len(values)})"


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
