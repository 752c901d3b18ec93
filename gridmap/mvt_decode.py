"""Reading Mapbox Vector Tiles back: :func:`decode_mvt`, for tests, tools and comparing the
tiles of the two database backends (the encoder is :mod:`gridmap.mvt`)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.mvt import MVT_EXTENT, _ring_area2


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value: int for varints, bytes otherwise) of a message."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        val: int | bytes
        if wire == 0:
            val, pos = _read_varint(buf, pos)
        elif wire == 1:
            val, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            val, pos = buf[pos : pos + n], pos + n
        elif wire == 5:
            val, pos = buf[pos : pos + 4], pos + 4
        else:
            raise fail(
                InvalidInput,
                N_("not a vector tile: wire type {wire} at byte {pos}"),
                wire=wire,
                pos=pos,
            )
        yield field, wire, val


def _unzig(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _packed_ints(buf: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(buf):
        v, pos = _read_varint(buf, pos)
        out.append(v)
    return out


def _decode_value(buf: bytes) -> Any:
    for field, _wire, val in _fields(buf):
        if field == 1:
            return val.decode("utf-8")
        if field == 2:
            return struct.unpack("<f", val)[0]
        if field == 3:
            return struct.unpack("<d", val)[0]
        if field in (4, 5):
            return val if field == 5 or val < 2**63 else val - 2**64
        if field == 6:
            return _unzig(val)
        if field == 7:
            return bool(val)
    return None


def _decode_geometry(gtype: int, cmds: list[int]) -> BaseGeometry | None:
    x = y = 0
    i = 0
    parts: list[list[tuple[int, int]]] = []
    while i < len(cmds):
        cid, count = cmds[i] & 7, cmds[i] >> 3
        i += 1
        if cid in (1, 2):
            for _ in range(count):
                x += _unzig(cmds[i])
                y += _unzig(cmds[i + 1])
                i += 2
                if cid == 1:
                    parts.append([(x, y)])
                else:
                    parts[-1].append((x, y))
        elif cid == 7:
            parts[-1].append(parts[-1][0])
    if gtype == 1:
        pts = [p[0] for p in parts]
        return shapely.Point(pts[0]) if len(pts) == 1 else shapely.MultiPoint(pts)
    if gtype == 2:
        lines = [shapely.LineString(p) for p in parts]
        return lines[0] if len(lines) == 1 else shapely.MultiLineString(lines)
    if gtype == 3:
        polys: list[tuple[list[tuple[int, int]], list[list[tuple[int, int]]]]] = []
        for ring in parts:
            area2 = _ring_area2(np.asarray(ring, float))
            if area2 > 0 or not polys:
                polys.append((ring, []))
            else:
                polys[-1][1].append(ring)
        shapes = [shapely.Polygon(e, holes) for e, holes in polys]
        return shapes[0] if len(shapes) == 1 else shapely.MultiPolygon(shapes)
    return None


def decode_mvt(data: bytes) -> dict[str, dict[str, Any]]:
    """The layers and features of a Mapbox vector tile.

    Parameters
    ----------
    data : bytes
        The encoded tile.

    Returns
    -------
    dict
        {layer name: {"extent": int, "features": [{"id", "properties", "geometry"}]}}, the
        geometries in tile space (shapely).
    """
    out: dict[str, dict[str, Any]] = {}
    for field, _w, layer_buf in _fields(data):
        if field != 3:
            continue
        name, extent, keys, values, raw = "", MVT_EXTENT, [], [], []
        for f, _wire, val in _fields(layer_buf):
            if f == 1:
                name = val.decode("utf-8")
            elif f == 2:
                raw.append(val)
            elif f == 3:
                keys.append(val.decode("utf-8"))
            elif f == 4:
                values.append(_decode_value(val))
            elif f == 5:
                extent = val
        feats = []
        for fb in raw:
            fid, tags, gtype, cmds = None, [], 0, []
            for f, _wire, val in _fields(fb):
                if f == 1:
                    fid = val
                elif f == 2:
                    tags = _packed_ints(val)
                elif f == 3:
                    gtype = val
                elif f == 4:
                    cmds = _packed_ints(val)
            props = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            feats.append(
                {"id": fid, "properties": props, "geometry": _decode_geometry(gtype, cmds)}
            )
        out[name] = {"extent": extent, "features": feats}
    return out
