"""Mapbox Vector Tile 2.1 in plain Python: :func:`encode_layer` / :func:`encode_mvt` write
tiles, :func:`gridmap.mvt_decode.decode_mvt` reads them back.

Protobuf written by hand (the format has four message types): the SpatiaLite side of what
PostGIS does with ``ST_AsMVTGeom`` + ``ST_AsMVT``. Geometries come in tile space, from
:func:`gridmap.vector.tile_geometries`. Pure: numpy and shapely only.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

MVT_EXTENT = 4096
MVT_BUFFER = 64


# --- vectorised polygon encoding (the common case: building footprints) --------------------
def _varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Protobuf varints of non-negative ``values`` (< 2**35): (bytes, byte length of each)."""
    v = values.astype(np.uint64)
    nbytes = np.ones(len(v), dtype=np.int64)
    for k in range(1, 5):
        nbytes += (v >= np.uint64(1 << (7 * k))).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(nbytes)[:-1]])
    out = np.zeros(int(nbytes.sum()), dtype=np.uint8)
    for k in range(5):
        has = nbytes > k
        chunk = (v[has] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[has] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[has] + k] = (chunk | more).astype(np.uint8)
    return out, nbytes


def _polygon_payloads(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packed geometry commands of every Polygon/MultiPolygon in ``geoms`` (tile space,
    integer coordinates), vectorised: (bytes, start, length) with length -1 for other
    geometry types and 0 where the polygon collapsed (the caller drops those). The same
    commands as :func:`_geometry_commands` writes for polygons."""
    n = len(geoms)
    start = np.zeros(n, np.int64)
    length = np.full(n, -1, np.int64)
    type_id = shapely.get_type_id(geoms)
    poly_like = np.flatnonzero(np.isin(type_id, (3, 6)))  # Polygon, MultiPolygon
    length[poly_like] = 0
    if not len(poly_like):
        return np.zeros(0, np.uint8), start, length
    xy, ridx, rfeat, counts, ok_ring = _tile_rings(geoms[poly_like], poly_like)
    ints, ring_start, good = _ring_command_ints(xy, ridx, rfeat, counts, ok_ring)
    data, nbytes = _varints(ints)
    # the byte range of each feature (its rings are consecutive)
    ring_feat = rfeat[good]
    ring_bytes = np.add.reduceat(nbytes, ring_start) if len(ints) else np.zeros(0, np.int64)
    byte_start = np.concatenate([[0], np.cumsum(ring_bytes)[:-1]])
    np.add.at(length, ring_feat, ring_bytes)
    first_ring = (
        np.flatnonzero(np.r_[True, ring_feat[1:] != ring_feat[:-1]])
        if len(ring_feat)
        else np.zeros(0, np.int64)
    )
    start[ring_feat[first_ring]] = byte_start[first_ring]
    return data, start, length


def _tile_rings(
    polygons: np.ndarray, feature_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rings of ``polygons`` as integer points, wound the MVT way: (points, ring of each
    point, feature of each ring, point count per ring, whether each ring is kept). A ring
    is dropped when it collapsed, and with its exterior every hole of the polygon."""
    polys, feat = shapely.get_parts(polygons, return_index=True)
    feat = feature_of[feat]
    rings, pidx = shapely.get_rings(polys, return_index=True)
    exterior = np.ones(len(rings), bool)
    exterior[1:] = pidx[1:] != pidx[:-1]
    xy, ridx = shapely.get_coordinates(rings, return_index=True)
    xy = np.round(xy).astype(np.int64)
    # drop each ring's closing point and repeated points
    last = np.ones(len(ridx), bool)
    last[:-1] = ridx[1:] != ridx[:-1]
    keep = ~last
    same = np.zeros(len(ridx), bool)
    same[1:] = (ridx[1:] == ridx[:-1]) & np.all(xy[1:] == xy[:-1], axis=1)
    keep &= ~same
    xy, ridx = xy[keep], ridx[keep]
    counts = np.bincount(ridx, minlength=len(rings))
    # signed area (x2) per ring, closing back to the first point
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    nxt = np.arange(len(xy)) + 1
    ends = first + counts - 1
    has = counts > 0
    nxt[ends[has]] = first[has]
    nxt = np.minimum(nxt, max(len(xy) - 1, 0))
    cross = xy[:, 0] * xy[nxt, 1] - xy[nxt, 0] * xy[:, 1] if len(xy) else np.zeros(0, np.int64)
    area2 = np.zeros(len(rings), np.int64)
    np.add.at(area2, ridx, cross)
    ok_ring = (counts >= 3) & (area2 != 0)
    # a polygon whose exterior collapsed goes whole (its holes with it)
    ok_poly = np.zeros(len(polys), bool)
    ok_poly[pidx[exterior & ok_ring]] = True
    ok_ring &= ok_poly[pidx]
    flip = ok_ring & ((area2 > 0) != exterior)
    point_ok = ok_ring[ridx]
    # reverse the points of rings that wind the wrong way
    pos = np.arange(len(xy)) - first[ridx]
    rev = np.where(flip[ridx], first[ridx] + counts[ridx] - 1 - pos, np.arange(len(xy)))
    return xy[rev][point_ok], ridx[point_ok], feat[pidx], counts, ok_ring


def _ring_command_ints(
    xy: np.ndarray, ridx: np.ndarray, rfeat: np.ndarray, counts: np.ndarray, ok_ring: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The command integers of the kept rings (see :func:`_tile_rings`), all in one array:
    (integers, where each kept ring starts, index of each kept ring)."""
    pfeat = rfeat[ridx]
    # deltas from the previous point of the same feature (the cursor runs across rings)
    d = np.zeros_like(xy)
    if len(xy):
        d[0] = xy[0]
        d[1:] = xy[1:] - xy[:-1]
        new_feat = np.ones(len(xy), bool)
        new_feat[1:] = pfeat[1:] != pfeat[:-1]
        d[new_feat] = xy[new_feat]
    zz = (d << 1) ^ (d >> 63)
    # commands: per ring MoveTo(1) x y, LineTo(n-1) x y ..., ClosePath
    good = np.flatnonzero(ok_ring)
    cnt = counts[good]
    ring_len = 2 * cnt + 3
    ring_start = np.concatenate([[0], np.cumsum(ring_len)[:-1]])
    total = int(ring_len.sum())
    ints = np.empty(total, np.int64)
    ints[ring_start] = 9  # MoveTo, count 1
    ints[ring_start + 3] = 2 | ((cnt - 1) << 3)  # LineTo
    ints[ring_start + ring_len - 1] = 15  # ClosePath, count 1
    pt_first = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    k = np.arange(len(xy)) - np.repeat(pt_first, cnt)  # point number inside its ring
    slot = np.repeat(ring_start, cnt) + np.where(k == 0, 1, 2 * k + 2)
    ints[slot] = zz[:, 0]
    ints[slot + 1] = zz[:, 1]
    return ints, ring_start, good


def _polygon_commands_fast(geoms: np.ndarray) -> list[bytes | None]:
    """:func:`_polygon_payloads` as one bytes object per geometry (None: not a polygon, or
    collapsed)."""
    data, start, length = _polygon_payloads(geoms)
    blob = data.tobytes()
    return [blob[a : a + n] if n > 0 else None for a, n in zip(start, length, strict=True)]


def _interleave(fields: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate, per row, variable-length byte fields given as (all bytes, length per
    row) in field order: (bytes, length per row)."""
    lens = np.stack([ln for _d, ln in fields])
    per_row = lens.sum(axis=0)
    out = np.empty(int(per_row.sum()), np.uint8)
    offset = np.concatenate([[0], np.cumsum(per_row)[:-1]])
    for data, ln in fields:
        total = int(ln.sum())
        if total:
            within = np.arange(total) - np.repeat(np.cumsum(ln) - ln, ln)
            out[np.repeat(offset, ln) + within] = data
        offset = offset + ln
    return out, per_row


def _const(value: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tile(np.frombuffer(value, np.uint8), n), np.full(n, len(value), np.int64)


def _varint_field(
    values: np.ndarray, present: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    data, nbytes = _varints(np.where(present, values, 0) if present is not None else values)
    if present is None:
        return data, nbytes
    keep = np.repeat(present, nbytes)
    return data[keep], np.where(present, nbytes, 0)


def _encode_polygon_features(
    payload: tuple[np.ndarray, np.ndarray, np.ndarray],
    value_ix: list[np.ndarray],
    ids: np.ndarray | None,
) -> bytes:
    """Every feature message of a layer whose geometries are all polygons, vectorised.
    ``value_ix``: per column, each feature's value index (-1: no tag)."""
    data, start, length = payload
    rows = np.flatnonzero(length > 0)
    n = len(rows)
    if not n:
        return b""
    plen = length[rows]
    within = np.arange(int(plen.sum())) - np.repeat(np.cumsum(plen) - plen, plen)
    geom_bytes = data[np.repeat(start[rows], plen) + within]
    tag_fields = []
    for k, ix in enumerate(value_ix):
        present = ix[rows] >= 0
        key = _varint_field(np.full(n, k), present)
        tag_fields += [key, _varint_field(ix[rows], present)]
    tags, tlen = (
        _interleave(tag_fields) if tag_fields else (np.zeros(0, np.uint8), np.zeros(n, np.int64))
    )
    body = []
    if ids is not None:
        body += [_const(b"\x08", n), _varints(np.asarray(ids)[rows])]
    body += [
        _const(b"\x12", n),
        _varints(tlen),
        (tags, tlen),
        _const(b"\x18\x03", n),
        _const(b"\x22", n),
        _varints(plen),
        (geom_bytes, plen),
    ]
    body_bytes, blen = _interleave(body)
    out, _ = _interleave([_const(b"\x12", n), _varints(blen), (body_bytes, blen)])
    return out.tobytes()


# --- protobuf writing ------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _bytes_field(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data


def _packed(field: int, values: Sequence[int]) -> bytes:
    return _bytes_field(field, b"".join(_varint(v) for v in values))


def _value(v: object) -> bytes:
    if isinstance(v, bool):
        return _key(7, 0) + _varint(int(v))
    if isinstance(v, int):
        return _key(6, 0) + _varint(_zigzag(v) & 0xFFFFFFFFFFFFFFFF)
    if isinstance(v, float):
        return _key(3, 1) + struct.pack("<d", v)
    return _bytes_field(1, str(v).encode("utf-8"))


def _ring_area2(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _ring_commands(ring: np.ndarray, cursor: list[int], *, exterior: bool) -> list[int]:
    pts = np.round(ring[:-1]).astype(np.int64)  # drop the closing point
    keep = np.ones(len(pts), bool)
    keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
    pts = pts[keep]
    if len(pts) > 1 and np.all(pts[0] == pts[-1]):
        pts = pts[:-1]
    if len(pts) < 3:
        return []
    closed = np.vstack([pts, pts[:1]]).astype(float)
    area2 = _ring_area2(closed)
    if area2 == 0:
        return []
    # MVT: exterior rings positive area in tile space (clockwise on screen), holes negative.
    if (area2 > 0) != exterior:
        pts = pts[::-1]
    return _path(pts, cursor, close=True)


def _path(pts: np.ndarray, cursor: list[int], *, close: bool) -> list[int]:
    out = [(1 & 0x7) | (1 << 3)]
    dx, dy = int(pts[0][0]) - cursor[0], int(pts[0][1]) - cursor[1]
    out += [_zigzag(dx), _zigzag(dy)]
    cursor[0], cursor[1] = int(pts[0][0]), int(pts[0][1])
    rest = pts[1:]
    if len(rest):
        out.append((2 & 0x7) | (len(rest) << 3))
        for px, py in rest:
            out += [_zigzag(int(px) - cursor[0]), _zigzag(int(py) - cursor[1])]
            cursor[0], cursor[1] = int(px), int(py)
    if close:
        out.append((7 & 0x7) | (1 << 3))
    return out


def _geometry_commands(geom: BaseGeometry) -> tuple[int, list[int]]:
    """(MVT geometry type, command integers) of a tile-space geometry; type 0 when empty."""
    cursor = [0, 0]
    kind = geom.geom_type
    if kind in ("Polygon", "MultiPolygon"):
        cmds: list[int] = []
        for poly in getattr(geom, "geoms", [geom]):
            ext = _ring_commands(np.asarray(poly.exterior.coords), cursor, exterior=True)
            if not ext:
                continue
            cmds += ext
            for hole in poly.interiors:
                cmds += _ring_commands(np.asarray(hole.coords), cursor, exterior=False)
        return (3, cmds) if cmds else (0, [])
    if kind in ("LineString", "MultiLineString"):
        cmds = []
        for line in getattr(geom, "geoms", [geom]):
            pts = np.round(np.asarray(line.coords)).astype(np.int64)
            keep = np.ones(len(pts), bool)
            keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
            pts = pts[keep]
            if len(pts) >= 2:
                cmds += _path(pts, cursor, close=False)
        return (2, cmds) if cmds else (0, [])
    if kind in ("Point", "MultiPoint"):
        pts = np.round(np.asarray([p.coords[0] for p in getattr(geom, "geoms", [geom])])).astype(
            int
        )
        if not len(pts):
            return 0, []
        cmds = [(1 & 0x7) | (len(pts) << 3)]
        for px, py in pts:
            cmds += [_zigzag(int(px) - cursor[0]), _zigzag(int(py) - cursor[1])]
            cursor[0], cursor[1] = int(px), int(py)
        return 1, cmds
    if kind == "GeometryCollection":  # make_valid may leave polygons with stray lines
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        if polys:
            return _geometry_commands(shapely.union_all(polys))
    return 0, []


_SMALL = [bytes([v]) if v < 128 else bytes([(v & 0x7F) | 0x80, v >> 7]) for v in range(16384)]


def _vb(v: int) -> bytes:
    """Varint bytes, from a table for the small values that make up most of a tile."""
    return _SMALL[v] if v < 16384 else _varint(v)


def encode_layer(
    name: str,
    geoms: Sequence[BaseGeometry],
    properties: Sequence[dict[str, Any]] | None = None,
    *,
    columns: dict[str, Sequence[Any]] | None = None,
    ids: Sequence[int] | None = None,
    extent: int = MVT_EXTENT,
) -> bytes:
    """One Mapbox vector tile layer from tile-space geometries and their properties.

    Features whose geometry is empty are left out, and so are None property values.

    Parameters
    ----------
    name : str
        Name of the layer inside the tile.
    geoms : sequence of shapely geometries
        Geometries in tile space (see :func:`gridmap.vector.tile_geometries`).
    properties : sequence of dict, optional
        One dict of properties per feature.
    columns : dict of str to sequence, optional
        Property name -> one value per feature: the faster way for many features.
    ids : sequence of int, optional
        Feature ids, one per geometry.
    extent : int
        Tile extent in tile units.

    Returns
    -------
    bytes
        The encoded layer (a protobuf ``Layer`` message).
    """
    n = len(geoms)
    if columns is None:
        names = list(dict.fromkeys(k for p in (properties or []) for k in p))
        columns = {k: [p.get(k) for p in properties or []] for k in names}
    keys = {k: i for i, k in enumerate(columns)}
    values, value_ix = _value_indices(columns)
    key_bytes = [_vb(i) for i in range(len(keys))]
    garr = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(garr) if n else np.zeros(0, int)
    if n and np.all(np.isin(types, (-1, 3, 6)) | shapely.is_empty(garr)):
        tag_ix = [
            np.array([-1 if v is None else v for v in col], np.int64)
            if any(v is None for v in col)
            else np.asarray(col, np.int64)
            for col in value_ix
        ]
        feats_bytes = _encode_polygon_features(
            _polygon_payloads(garr), tag_ix, None if ids is None else np.asarray(ids, np.int64)
        )
        return _layer(name, feats_bytes, keys, values, extent)
    id_list = [int(i) for i in ids] if ids is not None else None
    feats = _encode_features(garr, id_list, key_bytes, value_ix)
    return _layer(name, feats, keys, values, extent)


def _value_indices(
    columns: dict[str, Sequence[Any]],
) -> tuple[dict[tuple[str, Any], int], list[Any]]:
    """The layer's distinct values (by type and value) and, per column, the value index of
    every feature (None: no tag)."""
    values: dict[tuple[str, Any], int] = {}
    value_ix = []
    for col in columns.values():
        arr = np.asarray(col)
        if arr.dtype.kind in "iu" and len(arr):  # whole numbers: one lookup per distinct value
            uniq, inverse = np.unique(arr, return_inverse=True)
            lut = [values.setdefault(("int", int(u)), len(values)) for u in uniq]
            value_ix.append(list(np.asarray(lut)[inverse]))
            continue
        ix: list[int | None] = []
        seen: dict[Any, int] = {}
        for v in col:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                ix.append(None)
                continue
            hit = seen.get(v)
            if hit is None:
                w = v.item() if hasattr(v, "item") else v
                hit = seen[v] = values.setdefault((type(w).__name__, w), len(values))
            ix.append(hit)
        value_ix.append(ix)
    return values, value_ix


def _encode_features(
    garr: np.ndarray, id_list: list[int] | None, key_bytes: list[bytes], value_ix: list[Any]
) -> bytes:
    """The features of a layer of any geometry types, empty and collapsed ones left out."""
    n = len(garr)
    fast = _polygon_commands_fast(garr) if n else []
    poly_types = shapely.get_type_id(garr) if n else []
    feats = []
    for i in range(n):
        geom = garr[i]
        if geom is None or geom.is_empty:
            continue
        if poly_types[i] in (3, 6):  # done above, vectorised; None: collapsed
            payload = fast[i]
            if payload is None:
                continue
            gtype = b"\x18\x03"
        else:
            t, cmds = _geometry_commands(geom)
            if not t:
                continue
            gtype, payload = b"\x18" + _vb(t), b"".join(_vb(c) for c in cmds)
        tags = b"".join(
            key_bytes[k] + _vb(ix[i]) for k, ix in enumerate(value_ix) if ix[i] is not None
        )
        body = b"\x08" + _varint(id_list[i]) if id_list is not None else b""
        body += b"\x12" + _vb(len(tags)) + tags + gtype + b"\x22" + _varint(len(payload)) + payload
        feats.append(b"\x12" + _varint(len(body)) + body)
    return b"".join(feats)


def _layer(
    name: str, feats: bytes, keys: dict[str, int], values: dict[tuple[str, Any], int], extent: int
) -> bytes:
    layer = _key(15, 0) + _varint(2) + _bytes_field(1, name.encode("utf-8"))
    layer += feats
    layer += b"".join(_bytes_field(3, k.encode("utf-8")) for k in keys)
    layer += b"".join(_bytes_field(4, _value(v[1])) for v in values)
    layer += _key(5, 0) + _varint(extent)
    return _bytes_field(3, layer)


def encode_mvt(layers: Sequence[bytes]) -> bytes:
    """A tile from layers made by :func:`encode_layer`.

    Parameters
    ----------
    layers : sequence of bytes
        The encoded layers.

    Returns
    -------
    bytes
        The tile.
    """
    return b"".join(layers)
