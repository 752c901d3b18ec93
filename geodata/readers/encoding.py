"""Text encodings: names, the .cpg/.dbf language id, and detection of GBK and UTF-8."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from geodata.readers.source import MB
from gridmap.notes import N_, Note, note, rejected

_ENCODING_ALIASES = {
    "utf8": "UTF-8",
    "utf-8": "UTF-8",
    "65001": "UTF-8",
    "utf-8-sig": "UTF-8",
    "936": "CP936",
    "cp936": "CP936",
    "gbk": "CP936",
    "ansi 936": "CP936",
    "ms936": "CP936",
    "gb2312": "CP936",
    "euc-cn": "CP936",
    "gb18030": "GB18030",
    "54936": "GB18030",
    "950": "CP950",
    "big5": "CP950",
    "cp950": "CP950",
    "ansi 950": "CP950",
    "1252": "CP1252",
    "cp1252": "CP1252",
    "ansi 1252": "CP1252",
    "latin1": "ISO-8859-1",
    "88591": "ISO-8859-1",
    "8859_1": "ISO-8859-1",
    "iso-8859-1": "ISO-8859-1",
    "iso8859-1": "ISO-8859-1",
    "437": "CP437",
    "cp437": "CP437",
}


# DBF byte 29 (language driver id) -> code page, for the ids Chinese data carries.
_LDID: dict[int, str | None] = {
    0x4D: "CP936",
    0x7A: "CP936",
    0x4F: "CP950",
    0x78: "CP950",
    0x4E: "CP949",
    0x7B: "CP932",
    0x13: "CP932",
    0x01: "CP437",
    0x02: "CP850",
    0x03: "CP1252",
    0x57: None,
    0x00: None,
}


_CJK_LDID = {"CP936", "CP950", "CP949", "CP932"}


def normalise_encoding(name: str, display: str = "--encoding") -> str:
    """The canonical name of an encoding a person gave ('gbk', 'cp936', 'utf8' ...).

    Parameters
    ----------
    name : str
        The encoding as given.
    display : str
        Where it was given, shown in the error when it is unknown.

    Returns
    -------
    str
        'UTF-8', 'CP936', 'GB18030' or another codec name in upper case.
    """
    key = str(name).strip().lower().replace("_", "-") if name else ""
    key2 = key.replace("-", "") if key.replace("-", "").isdigit() else key
    canonical = _ENCODING_ALIASES.get(key2) or _ENCODING_ALIASES.get(key.replace("-", ""))
    if canonical:
        return canonical
    try:
        codecs.lookup(key)
    except LookupError as exc:
        raise rejected(
            N_("{where}: unknown encoding {name!r}; use UTF-8, GBK or GB18030"),
            where=display,
            name=name,
        ) from exc
    return key.upper()


def python_codec(encoding: str) -> str:
    """The Python codec that decodes ``encoding``.

    Parameters
    ----------
    encoding : str
        A canonical encoding name (see :func:`normalise_encoding`).

    Returns
    -------
    str
    """
    return {"CP936": "gbk", "GB18030": "gb18030", "UTF-8": "utf-8"}.get(encoding, encoding.lower())


_CJK = re.compile(r"[\u3400-\u9fff]")


def guess_text_encoding(data: bytes) -> tuple[str, Note] | None:
    """UTF-8 versus GB18030 from the bytes themselves.

    Parameters
    ----------
    data : bytes
        The text, or a sample of it.

    Returns
    -------
    tuple of (str, Note) or None
        The encoding and why; None when it is neither.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "UTF-8", note(N_("UTF-8 byte-order mark at the start of the file"))
    if not any(b >= 0x80 for b in data):
        return "UTF-8", note(N_("the text is plain ASCII (any encoding reads it); UTF-8 used"))
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample may cut the last character in half.
        text = data[: exc.start].decode("utf-8") if exc.start >= len(data) - 3 else None
    if text is not None:
        return "UTF-8", note(
            N_("detected from the bytes: valid UTF-8 with {n} Chinese characters"),
            n=len(_CJK.findall(text)),
        )
    text = data.decode("gb18030", errors="replace")
    if text.count("\ufffd") > 2 + len(text) // 2000:
        return None
    return "GB18030", note(
        N_(
            "detected from the bytes: not valid UTF-8, reads as GBK/GB18030 "
            "with {n} Chinese characters"
        ),
        n=len(_CJK.findall(text)),
    )


def detect_text_encoding(data: bytes, display: str = "the file") -> tuple[str, Note]:
    """As :func:`guess_text_encoding`, refusing text that is neither UTF-8 nor GB18030.

    Parameters
    ----------
    data : bytes
        The text, or a sample of it.
    display : str
        The file's name, shown in the error.

    Returns
    -------
    tuple of (str, Note)
        The encoding and why.
    """
    found = guess_text_encoding(data)
    if found is None:
        raise rejected(
            N_("{file}: the text is neither UTF-8 nor GBK/GB18030; pass --encoding"), file=display
        )
    return found


def _dbf_records(dbf: Path, limit: int = 4 * MB) -> tuple[int, bytes]:
    with open(dbf, "rb") as f:
        header = f.read(32)
        if len(header) < 32:
            raise rejected(N_("{file} is too short to be a dBASE table"), file=dbf.name)
        header_len = int.from_bytes(header[8:10], "little")
        f.seek(header_len)
        return header[29], f.read(limit)


def dbf_encoding(dbf: Path, display: str) -> tuple[str, Note]:
    """Encoding of a Shapefile's .dbf: .cpg, then the language-driver byte, then the bytes.

    Parameters
    ----------
    dbf : Path
        The .dbf file.
    display : str
        The Shapefile's name, shown in messages.

    Returns
    -------
    tuple of (str, Note)
        The encoding and why.
    """
    for cpg in (dbf.with_suffix(".cpg"), dbf.with_suffix(".CPG")):
        if cpg.exists():
            raw = cpg.read_bytes().decode("ascii", errors="replace").strip()
            try:
                enc = normalise_encoding(raw, cpg.name)
            except Exception:  # noqa: BLE001 - a broken .cpg falls back to the next rule
                break
            _ldid, records = _dbf_records(dbf)
            try:
                records.decode(python_codec(enc))
            except UnicodeDecodeError:
                found = guess_text_encoding(records)
                if found is not None:
                    return found[0], note(
                        N_("the .cpg says {value}, but the text is not valid {value}; {detail}"),
                        value=raw,
                        detail=found[1],
                    )
            except LookupError:
                pass
            return enc, note(N_("from the .cpg file ({value})"), value=raw)
    ldid, records = _dbf_records(dbf)
    declared = _LDID.get(ldid, "unknown")
    if declared in _CJK_LDID:
        return declared, note(
            N_("no .cpg; the DBF language-driver byte is 0x{ldid:02X} ({codepage})"),
            ldid=ldid,
            codepage=declared,
        )
    named = declared if declared not in (None, "unknown") else None  # a code page it names
    if named and not any(b >= 0x80 for b in records):
        return named, note(
            N_("no .cpg; the DBF language-driver byte is 0x{ldid:02X} ({codepage})"),
            ldid=ldid,
            codepage=declared,
        )
    found = guess_text_encoding(records)
    if found is None:
        if named:
            return named, note(
                N_("no .cpg; the DBF language-driver byte is 0x{ldid:02X} ({codepage})"),
                ldid=ldid,
                codepage=declared,
            )
        raise rejected(
            N_("{file}: the text is neither UTF-8 nor GBK/GB18030; pass --encoding"), file=display
        )
    enc, why = found
    if named:
        # A western code page next to valid UTF-8 or Chinese GBK text: the bytes win.
        return enc, note(
            N_("no .cpg; the DBF language-driver byte says {codepage} but {detail}"),
            codepage=declared,
            detail=why,
        )
    return enc, note(
        N_("no .cpg; the DBF language-driver byte 0x{ldid:02X} names no code page; {detail}"),
        ldid=ldid,
        detail=why,
    )
