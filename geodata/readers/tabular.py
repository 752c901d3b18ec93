"""CSV and XLSX: lon/lat or WKT columns, Excel numbers, text kept as text."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import shapely

from geodata.readers.archive import _pick
from geodata.readers.crs import _place
from geodata.readers.encoding import detect_text_encoding, normalise_encoding, python_codec
from geodata.readers.ogr import _first_line
from geodata.readers.source import MB, ReadOptions, SourceData
from gridmap.notes import N_, Note, Problem, note, problem, rejected

LON_NAMES = (
    "lon",
    "lng",
    "long",
    "longitude",
    "x",
    "经度",
    "东经",
    "x坐标",
    "横坐标",
    "gcj_lng",
    "wgs84_lng",
    "bd_lng",
    "point_x",
    "coord_x",
)


LAT_NAMES = (
    "lat",
    "latitude",
    "y",
    "纬度",
    "北纬",
    "y坐标",
    "纵坐标",
    "gcj_lat",
    "wgs84_lat",
    "bd_lat",
    "point_y",
    "coord_y",
)


WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "空间信息", "坐标串")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-()（）]", "", str(name)).lower()


def _find_column(columns, names) -> str | None:
    """The column named one of ``names``; else one starting with the first few (经度(GCJ02),
    longitude_wgs84 ...)."""
    wanted = [_norm(n) for n in names]
    for c in columns:
        if _norm(c) in wanted:
            return c
    prefixes = [w for w in wanted if len(w) >= 2 and not w.isascii() or len(w) >= 8]
    for c in columns:
        if any(_norm(c).startswith(p) for p in prefixes):
            return c
    return None


def _table_geometry(
    frame: pd.DataFrame, display: str
) -> tuple[np.ndarray | None, list[Problem], list[str]]:
    """Point geometry from lon/lat columns, or geometry from a WKT column; None if neither."""
    lon_col = _find_column(frame.columns, LON_NAMES)
    lat_col = _find_column(frame.columns, LAT_NAMES)
    problems: list[Problem] = []
    if lon_col and lat_col:
        lon = pd.to_numeric(frame[lon_col].astype(str).str.strip(), errors="coerce")
        lat = pd.to_numeric(frame[lat_col].astype(str).str.strip(), errors="coerce")
        bad = lon.isna() | lat.isna()
        for k in np.flatnonzero(bad.to_numpy()):
            problems.append(
                problem(
                    int(k) + 1,
                    "no_coordinates",
                    "error",
                    N_("{lon}/{lat} are empty or not numbers ({x!r}, {y!r})"),
                    lon=lon_col,
                    lat=lat_col,
                    x=frame[lon_col].iloc[k],
                    y=frame[lat_col].iloc[k],
                )
            )
        geoms = shapely.points(lon.to_numpy(float), lat.to_numpy(float))
        geoms[bad.to_numpy()] = None
        return geoms, problems, [lon_col, lat_col]
    wkt_col = _find_column(frame.columns, WKT_NAMES)
    if wkt_col:
        text = frame[wkt_col].astype(object).where(frame[wkt_col].notna(), None)
        geoms = shapely.from_wkt(text.to_numpy(), on_invalid="ignore")
        for k in np.flatnonzero(shapely.is_missing(geoms)):
            problems.append(
                problem(
                    int(k) + 1,
                    "no_coordinates",
                    "error",
                    N_("column {col} holds no readable WKT ({value!r})"),
                    col=wkt_col,
                    value=str(frame[wkt_col].iloc[k])[:60],
                )
            )
        return geoms, problems, [wkt_col]
    return None, problems, []


def _read_csv(path: Path, display: str, opts: ReadOptions) -> SourceData:
    data = path.read_bytes()
    if opts.encoding:
        encoding, why = normalise_encoding(opts.encoding), note(N_("given with --encoding"))
    else:
        encoding, why = detect_text_encoding(data[: 8 * MB])
    codec = "utf-8-sig" if encoding == "UTF-8" else python_codec(encoding)
    text = data.decode(codec, errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",\t;|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise rejected(
            N_("{file} is not a readable CSV table ({reason})"),
            file=display,
            reason=_first_line(exc),
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return _tabular(frame, display, "csv", path.stem, [path.stem], encoding, why, opts)


def _read_xlsx(path: Path, display: str, opts: ReadOptions) -> SourceData:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for broken files
        raise rejected(
            N_("{file} is not a readable Excel workbook ({reason})"),
            file=display,
            reason=_first_line(exc),
        ) from exc
    try:
        sheets = [str(s) for s in book.sheetnames]
        if opts.layer is None:
            nonempty = [s for s in sheets if (book[s].max_row or 0) > 1]
            chosen = nonempty[0] if len(nonempty) == 1 else _pick(sheets, None, display, "sheet")
        else:
            chosen = _pick(sheets, opts.layer, display, "sheet")
        rows = list(book[chosen].iter_rows(values_only=True))
    finally:
        book.close()
    header = [
        str(c).strip() if c is not None else f"column{k + 1}"
        for k, c in enumerate(rows[0] if rows else [])
    ]
    # Text as the sheet shows it: codes keep their digits, times become datetimes later.
    frame = pd.DataFrame(
        [
            [
                None
                if v is None
                else (
                    v
                    if not isinstance(v, (int, float)) or isinstance(v, bool)
                    else _excel_number(v)
                )
                for v in r
            ]
            for r in rows[1:]
        ],
        columns=header,
        dtype=object,
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.dropna(how="all").reset_index(drop=True)
    return _tabular(
        frame,
        display,
        "xlsx",
        chosen,
        sheets,
        "UTF-8",
        note(N_("Excel workbooks store Unicode text")),
        opts,
    )


def _excel_number(v) -> str:
    """1.0 -> '1', 310101001001 -> '310101001001', 121.47 -> '121.47' (as Excel shows it)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def _tabular(
    frame: pd.DataFrame,
    display: str,
    fmt: str,
    layer: str,
    layers: list[str],
    encoding: str,
    why: Note,
    opts: ReadOptions,
) -> SourceData:
    geoms, problems, used = _table_geometry(frame, display)
    spatial = geoms is not None
    out = SourceData(
        name=display,
        format=fmt,
        layer=layer,
        layers=layers,
        frame=gpd.GeoDataFrame(
            frame.drop(columns=used),
            geometry=gpd.GeoSeries(geoms if spatial else [None] * len(frame)),
        ),
        spatial=spatial,
        encoding=encoding,
        encoding_reason=why,
        problems=problems,
    )
    if spatial:
        _place(out, None, opts)
    return out
