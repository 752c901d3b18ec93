"""Spooling uploads to disk under a size cap, with a safe file name."""

from __future__ import annotations

import re
from pathlib import Path

from geodata.readers.source import DEFAULT_MAX_BYTES, MB
from gridmap.notes import N_, rejected


def safe_filename(name: str) -> str:
    """The last path component of an uploaded name, Chinese kept, separators and controls out.

    Parameters
    ----------
    name : str
        The name the browser sent.

    Returns
    -------
    str
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", base).strip(" .")
    return base[:200] or "upload"


def spool(stream, filename: str, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Copy an upload stream into ``directory`` (GDAL wants real files), enforcing the cap.

    Parameters
    ----------
    stream : file-like
        The upload.
    filename : str
        The name the browser sent.
    directory : Path
        Where the copy goes.
    max_bytes : int
        Largest upload accepted, in bytes.

    Returns
    -------
    Path
        The copy.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_filename(filename)
    written = 0
    with open(target, "wb") as out:
        while chunk := stream.read(MB):
            written += len(chunk)
            if written > max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise _too_big(filename, max_bytes)
            out.write(chunk)
    return target


def _too_big(name: str, max_bytes: int):
    return rejected(
        N_(
            "{file} is larger than the {mb} MB limit; split it or ask the "
            "administrator to raise GRIDMAP_MAX_UPLOAD_MB"
        ),
        file=name,
        mb=max_bytes // MB,
    )
