"""Checks on the files and folders a command is given, made before anything reads or writes them.

One place for every file argument (scenario and study files, base scenarios, profiles,
traces, data files, models): a FIFO would block the reader forever, a device could stream
without end, a directory or a missing file fails later with an ``OSError`` of its own; each
is refused here by name. Output folders are checked the same way before any work: an
existing file, or a path under something that is not a directory (``/dev/null/x``), is
refused instead of failing after the work is done.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class FileArgError(ValueError):
    """A file or folder argument that cannot be used; ``str()`` is ``<path>: <reason>``."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words (for messages)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def fmt_mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB" if n < 2**30 else f"{n / 2**30:.1f} GiB"


def check_input_file(path: str | Path, what: str = "file", max_bytes: int | None = None,
                     limited: str = "") -> Path:
    """``path`` if it is an existing regular file (symlinks followed) of at most ``max_bytes``;
    else :class:`FileArgError` naming the path and what it is. ``what`` names the argument
    (``"study file"``, ``"trace"``); ``limited`` the files the size limit applies to."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileArgError(p, f"{what} not found") from None
    except NotADirectoryError:
        raise FileArgError(p, f"{what} not found (a parent in the path is not a directory)") from None
    except OSError as exc:
        raise FileArgError(p, f"cannot read {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileArgError(p, f"{what} is {file_kind(st.st_mode)}, not a regular file")
    if max_bytes is not None and st.st_size > max_bytes:
        raise FileArgError(p, f"file is {fmt_mib(st.st_size)}; {limited or what + 's'} are limited to "
                              f"{fmt_mib(max_bytes).replace('.0 ', ' ')}")
    return p


def check_output_dir(path: str | Path, what: str) -> Path:
    """A results folder that can be used: an existing directory, or a path whose nearest existing
    ancestor is a writable directory (it is created later). ``what`` names the argument in the
    message (``"-o/--output"``, ``"study.yaml: output"``)."""
    text = str(path)
    if not text.strip():
        raise FileArgError(what, "empty path; give a results directory")
    p = Path(path)
    try:
        if p.exists() and not p.is_dir():
            raise FileArgError(f"{what} = {p}", "exists and is not a directory; give a directory")
    except OSError as exc:  # e.g. a path too long, or permission denied on a parent
        raise FileArgError(f"{what} = {p}", f"cannot use it ({exc.strerror or exc})") from None
    anc = p.absolute()
    while not os.path.lexists(anc) and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise FileArgError(f"{what} = {p}", f"{anc} is {'not a directory' if anc.exists() else 'a broken link'}, "
                                            "so no results directory can be made under it")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise FileArgError(f"{what} = {p}", f"no permission to write in {anc}")
    return p
