"""Archives: safe extraction (zip-slip, bombs, links) and choosing a member, layer or sheet."""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from geodata.readers.source import _DATASET_SUFFIXES, _SUPPORTED, MB, Limits
from gridmap.notes import N_, InputRejected, note, rejected


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's real name.

    Zips from Chinese Windows store GBK without the UTF-8 flag, which Python shows as cp437
    mojibake; the name is decoded back as UTF-8, else GB18030.

    Parameters
    ----------
    info : zipfile.ZipInfo
        The member.

    Returns
    -------
    str
    """
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unsafe_member(name: str) -> bool:
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[a-zA-Z]:", norm):
        return True
    return ".." in PurePosixPath(norm).parts


def safe_extract(archive: Path, dest: Path, display: str, limits: Limits) -> list[Path]:
    """Unpack ``archive`` into ``dest`` refusing zip-slip, links and bombs.

    Parameters
    ----------
    archive : Path
        The zip file.
    dest : Path
        The folder to unpack into.
    display : str
        The archive's name, shown in errors.
    limits : Limits
        Most members, unpacked bytes and compression ratio allowed.

    Returns
    -------
    list of Path
        The files written (folders, ``__MACOSX`` and ``._`` files left out).
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise rejected(
            N_(
                "{file} is not a readable zip archive ({reason}); the upload may be "
                "incomplete: export or download it again"
            ),
            file=display,
            reason=str(exc),
        ) from exc
    out: list[Path] = []
    with zf:
        infos = zf.infolist()
        _check_members(infos, display, limits)
        written = 0
        for info in infos:
            name = member_name(info).replace("\\", "/")
            parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
            if info.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
                continue
            target = dest.joinpath(*parts)
            if not target.resolve().is_relative_to(dest.resolve()):
                raise _zip_slip(display, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            written = _unpack(zf, info, target, name, display, limits, written)
            out.append(target)
    return out


def _check_members(infos: list[zipfile.ZipInfo], display: str, limits: Limits) -> None:
    """Refuse, before anything is written, too many members, declared sizes or ratios of a
    bomb, and names or links that lead outside the archive."""
    if len(infos) > limits.max_members:
        raise rejected(
            N_("{file} holds {n} files, more than the {limit} allowed"),
            file=display,
            n=len(infos),
            limit=limits.max_members,
        )
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_unpacked_bytes:
        raise _bomb(display, limits)
    for info in infos:
        name = member_name(info)
        if _unsafe_member(name):
            raise _zip_slip(display, name)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise rejected(
                N_("{file} contains a symbolic link {member!r}; archives with links are refused"),
                file=display,
                member=name,
            )
        if info.file_size > limits.max_ratio * max(info.compress_size, 1) and info.file_size > MB:
            raise _bomb(display, limits)


def _unpack(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    name: str,
    display: str,
    limits: Limits,
    written: int,
) -> int:
    """Copy one member to ``target``, counting the bytes that really come out against the
    limits; returns the archive's bytes written so far."""
    member_bytes = 0
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(MB):
                member_bytes += len(chunk)
                written += len(chunk)
                # Headers can lie: count what really comes out.
                if written > limits.max_unpacked_bytes or member_bytes > max(
                    limits.max_ratio * max(info.compress_size, 1), MB
                ):
                    raise _bomb(display, limits)
                dst.write(chunk)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        zlib.error,
    ) as exc:
        raise rejected(
            N_(
                "{file} is corrupt: {member!r} cannot be unpacked ({reason}); "
                "export or download it again"
            ),
            file=display,
            member=name,
            reason=str(exc),
        ) from exc
    except NotImplementedError as exc:
        raise rejected(
            N_(
                "{file}: {member!r} uses a compression or encryption gridmap "
                "cannot read ({reason}); zip it again without a password"
            ),
            file=display,
            member=name,
            reason=str(exc),
        ) from exc
    return written


def _zip_slip(display: str, member: str) -> InputRejected:
    return rejected(
        N_(
            "{file} contains the path {member!r}, which points outside "
            "the archive (zip-slip); nothing was imported"
        ),
        file=display,
        member=member,
    )


def _bomb(display: str, limits: Limits):
    return rejected(
        N_(
            "{file} unpacks to more than allowed (limit {mb} MB, at most {ratio:.0f}x "
            "compression per file): refused as a possible zip bomb"
        ),
        file=display,
        mb=limits.max_unpacked_bytes // MB,
        ratio=limits.max_ratio,
    )


def _datasets(files: list[Path], root: Path, display: str) -> dict[str, Path]:
    """Readable datasets among unpacked files, keyed by their path inside the archive."""
    found: dict[str, Path] = {}
    stems_with_shp = {
        f.with_suffix("").as_posix().lower() for f in files if f.suffix.lower() == ".shp"
    }
    for f in sorted(files):
        suffix = f.suffix.lower()
        rel = f.relative_to(root).as_posix()
        if suffix == ".dbf" and f.with_suffix("").as_posix().lower() not in stems_with_shp:
            raise rejected(
                N_(
                    "{file}: {member} has no .shp next to it (the geometry is missing); "
                    "add the .shp and .shx with the same name"
                ),
                file=display,
                member=rel,
            )
        if suffix in _DATASET_SUFFIXES:
            found[rel] = f
    if not found:
        names = ", ".join(sorted(f.relative_to(root).as_posix() for f in files)[:10])
        raise rejected(
            N_("{file} holds no file gridmap can read ({names}); it reads {supported}"),
            file=display,
            names=names or "-",
            supported=_SUPPORTED,
        )
    return found


class LayerChoiceNeeded(InputRejected):
    """The file holds several layers (or sheets, or datasets); ``choices`` lists them."""

    def __init__(self, template: str, choices: list[str], **params) -> None:
        self.choices = choices
        super().__init__(template, **params)


def _matches(key: str, wanted: str) -> bool:
    return wanted in (key, PurePosixPath(key).stem, PurePosixPath(key).name)


_WHAT = {
    "layer": (N_("layer"), N_("layers")),
    "sheet": (N_("sheet"), N_("sheets")),
    "dataset": (N_("dataset"), N_("datasets")),
}


def _pick(keys: list[str], wanted: str | None, display: str, what: str) -> str:
    """Choose one of ``keys``: the only one, or the one ``wanted`` names."""
    one, many = (note(t) for t in _WHAT[what])
    if wanted is None:
        if len(keys) == 1:
            return keys[0]
        raise LayerChoiceNeeded(
            N_("{file} holds {n} {what}: {names}; choose one with --layer"),
            list(keys),
            file=display,
            n=len(keys),
            what=many,
            names=", ".join(keys),
        )
    for key in keys:
        if _matches(key, wanted):
            return key
    raise LayerChoiceNeeded(
        N_("{file} has no {what} {wanted!r}; it has: {names}"),
        list(keys),
        file=display,
        what=one,
        wanted=wanted,
        names=", ".join(keys),
    )
