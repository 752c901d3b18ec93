"""Households and residents: their buildings and households, found by code or address."""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa

from geodata import fields as F
from geodata.column_mapping import normalise_name
from geodata.db import models as m
from geodata.importing.fields import _per_value
from geodata.importing.state import BuilderState
from gridmap.notes import N_
from gridmap.privacy import mask_id_number, mask_name


def _address_key(address: str) -> str:
    return normalise_name(address)


class PeopleMixin(BuilderState):
    """Rows of households and residents."""

    def _building_index(self) -> tuple[dict, dict, dict]:
        res = self.session.execute(
            sa.select(m.Building.id, m.Building.code, m.Building.address, m.Building.grid_id)
        ).all()
        by_code = {r.code: r.id for r in res}
        by_address: dict[str, list[int]] = {}
        for r in res:
            if r.address:
                by_address.setdefault(_address_key(r.address), []).append(r.id)
        grid_of = {r.id: r.grid_id for r in res}
        codes = {r.id: r.code for r in res}
        self._building_codes = codes
        return by_code, by_address, grid_of

    def _household_rows(self) -> list[dict]:
        """Households in bulk: each column converted once per distinct value and buildings
        matched by code, else by address, with lookups over whole columns, so a city's
        register of a million rows takes a few passes rather than a million lookups. The
        checks and messages are those of the other layers."""
        frame = self.frame
        by_code, by_address, grid_of = self._building_index()
        rows_no = frame["_row"].to_numpy()
        bid = self._household_buildings(frame, by_code, by_address)
        values = {f: self._bulk_field(frame, f) for f in self.spec.fields}
        values["size"] = np.array([v or 1 for v in values["size"]], dtype=object)
        own = _per_value(self.column(frame, "code"), F.text)
        props = frame["_props"].to_numpy()
        rows = []
        for j in range(len(frame)):
            rec: dict[str, Any] = {
                "_row": int(rows_no[j]),
                "_id": None,
                "building_id": bid[j],
                **{f: values[f][j] for f in values},
                "props": props[j] or None,
            }
            code = own[j]
            if not code and bid[j] is not None:
                if not (rec["unit"] or rec["room"]):
                    self.add(
                        rec["_row"],
                        "missing_code",
                        "error",
                        N_("no household code and no unit/room to make one from"),
                    )
                code = "-".join(
                    [self._building_codes[bid[j]], rec["unit"] or "", rec["room"] or ""]
                )
            rec["code"] = code
            rec["_place"] = grid_of.get(bid[j])
            rows.append(rec)
        self._flag_duplicates(rows)
        return rows

    def _household_buildings(self, frame, by_code: dict, by_address: dict) -> np.ndarray:
        """The building id of each household row (None where unmatched, each with its
        error): by building code, else by a unique address."""
        rows_no = frame["_row"].to_numpy()
        given = _per_value(self.column(frame, "building"), F.text)
        bid = np.array([by_code.get(c) if c is not None else None for c in given], dtype=object)
        keys = _per_value(
            self.column(frame, "address"), lambda a: _address_key(t) if (t := F.text(a)) else None
        )
        for i in np.flatnonzero(bid == None):  # noqa: E711 - element-wise on an object array
            row, code, key = int(rows_no[i]), given[i], keys[i]
            if code is not None:
                self.add(
                    row,
                    "unknown_building",
                    "error",
                    N_("building {code!r} does not exist; import the buildings first"),
                    code=code,
                )
            elif key is not None:
                found = by_address.get(key, [])
                if len(found) == 1:
                    bid[i] = found[0]
                elif found:
                    self.add(
                        row,
                        "ambiguous_address",
                        "error",
                        N_("address {address!r} matches {n} buildings; give the building code"),
                        address=F.text(self.column(frame, "address").iloc[i]),
                        n=len(found),
                    )
                else:
                    self.add(
                        row,
                        "unknown_building",
                        "error",
                        N_("no building has the address {address!r}"),
                        address=F.text(self.column(frame, "address").iloc[i]),
                    )
            else:
                self.add(
                    row,
                    "unknown_building",
                    "error",
                    N_("neither a building code (楼栋编码) nor an address (地址) is given"),
                )
        return bid

    def _find_building(self, frame, k, row, by_code, by_address) -> int | None:
        code = F.text(self.value(frame, k, "building"))
        address = F.text(self.value(frame, k, "address"))
        if code:
            if code in by_code:
                return by_code[code]
            self.add(
                row,
                "unknown_building",
                "error",
                N_("building {code!r} does not exist; import the buildings first"),
                code=code,
            )
            return None
        if address:
            found = by_address.get(_address_key(address), [])
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                self.add(
                    row,
                    "ambiguous_address",
                    "error",
                    N_("address {address!r} matches {n} buildings; give the building code"),
                    address=address,
                    n=len(found),
                )
            else:
                self.add(
                    row,
                    "unknown_building",
                    "error",
                    N_("no building has the address {address!r}"),
                    address=address,
                )
            return None
        self.add(
            row,
            "unknown_building",
            "error",
            N_("neither a building code (楼栋编码) nor an address (地址) is given"),
        )
        return None

    def _resident_rows(self) -> list[dict]:
        frame = self.frame
        households = self.session.execute(
            sa.select(m.Household.id, m.Household.code, m.Household.building_id)
        ).all()
        hh_by_code = {h.code: h.id for h in households}
        hh_building = {h.id: h.building_id for h in households}
        need_buildings = "household" not in frame.columns
        if need_buildings:
            by_code, by_address, grid_of = self._building_index()
        else:
            grid_of = dict(self.session.execute(sa.select(m.Building.id, m.Building.grid_id)).all())
        rows = []
        for k in frame.index:
            row = int(frame.at[k, "_row"])
            hcode = F.text(self.value(frame, k, "household"))
            if hcode is None and need_buildings:
                bid = self._find_building(frame, k, row, by_code, by_address)
                unit = F.text(self.value(frame, k, "unit"), 16) or ""
                room = F.text(self.value(frame, k, "room"), 16) or ""
                hcode = "-".join([self._building_codes[bid], unit, room]) if bid else None
            hid = hh_by_code.get(hcode) if hcode else None
            if hid is None and hcode is not None:
                self.add(
                    row,
                    "unknown_household",
                    "error",
                    N_("household {code!r} does not exist; import the households first"),
                    code=hcode,
                )
            elif hcode is None and not need_buildings:
                self.add(row, "unknown_household", "error", N_("no household code (户编码)"))
            name = F.text(self.value(frame, k, "name"), 50)
            if not name:
                self.add(row, "missing_name", "error", N_("the name is empty"))
            rec: dict[str, Any] = {"_row": row, "_id": None, "household_id": hid, "name": name}
            for f in self.spec.fields:
                rec[f] = self._field_value(frame, k, f, row)
            idn = rec.get("id_number")
            if idn:
                rec["id_number"] = idn.upper()
                if not F.id_number_ok(idn):
                    self.add(
                        row,
                        "bad_id_number",
                        "warning",
                        N_("ID number {masked} fails the GB 11643 check digit"),
                        masked=mask_id_number(idn),
                    )
                elif rec.get("birth_year") is None:
                    rec["birth_year"] = int(idn[6:10])
                if rec.get("sex") is None and F.id_number_ok(idn):
                    rec["sex"] = "M" if int(idn[16]) % 2 else "F"
            rec["props"] = frame.at[k, "_props"] or None
            rec["_label"] = mask_name(name)
            rec["_place"] = grid_of.get(hh_building.get(hid))
            rows.append(rec)
        seen: dict[tuple, int] = {}
        for rec in rows:
            key = (
                ("id", rec["id_number"])
                if rec.get("id_number")
                else ("hh", rec["household_id"], rec["name"])
            )
            rec["_key"] = key
            if key in seen:
                self.add(
                    rec["_row"],
                    "duplicate",
                    "error",
                    N_("the same person as row {first}"),
                    first=seen[key],
                )
            else:
                seen[key] = rec["_row"]
        return rows
