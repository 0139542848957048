"""
Generated blocks in markdown files: the benchmark scripts write their tables between a pair of HTML comment
markers and leave the rest of the file (hand-written notes) as it is.
"""

from __future__ import annotations

from pathlib import Path


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
