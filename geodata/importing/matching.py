"""Codes of rows without one, duplicates in the file, and insert or update."""

from __future__ import annotations

import hashlib

import shapely
import sqlalchemy as sa

from geodata.importing.fields import _column_length
from geodata.importing.state import BuilderState
from gridmap.notes import N_


def _short_hash(*parts) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:10]


class MatchingMixin(BuilderState):
    """Codes and the existing record each row updates (``_id``)."""

    def _assign_codes(self, rows: list[dict]) -> None:
        """Rows without a code: grids get scheme codes later; others a stable hash of their
        name (boundaries), or name, address and location (the rest), so a re-import finds
        them again."""
        spec = self.spec
        length = _column_length(self.model, "code") or 48
        for rec in rows:
            if rec.get("code"):
                if len(rec["code"]) > length:
                    self.add(
                        rec["_row"],
                        "bad_code",
                        "error",
                        N_("code {code!r} is longer than {n} characters"),
                        code=rec["code"],
                        n=length,
                    )
                continue
            if spec.name == "grids":
                continue  # scheme codes once parents and existing grids are known
            geom = rec.get("_geom")
            where = ""
            if geom is not None and spec.geometry == "point":
                where = f"{geom.x:.5f},{geom.y:.5f}"
            elif geom is not None and not spec.boundary:
                # Names repeat (1号楼 in every compound) or are missing: footprints and lines
                # are told apart by their shape (to 1e-6 degree, 0.1 m) too; the same shape
                # twice (tiled exports repeat it) is one feature. Boundaries go by name alone.
                where = hashlib.sha1(
                    shapely.to_wkb(shapely.normalize(shapely.set_precision(geom, 1e-6)))
                ).hexdigest()
            # Layers without names (hazards, tracks) are told apart by all their fields.
            extra = (
                ()
                if "name" in self.model.__table__.c
                else tuple(str(rec.get(f)) for f in spec.fields)
            )
            rec["_key"] = (rec.get("name"), rec.get("address"), where, *extra)
            rec["code"] = f"{spec.prefix}{_short_hash(spec.name, *rec['_key'])}"[:length]
            rec["_generated"] = True
        if spec.name != "grids":
            self._flag_duplicates(rows)

    def _flag_duplicates(self, rows: list[dict]) -> None:
        by_code: dict[str, list[dict]] = {}
        for rec in rows:
            if rec.get("code"):
                by_code.setdefault(rec["code"], []).append(rec)
        for code, recs in by_code.items():
            if len(recs) < 2:
                continue
            if recs[0].get("_generated"):
                first = recs[0]["_row"]
                for rec in recs[1:]:
                    self.add(
                        rec["_row"],
                        "duplicate",
                        "warning",
                        N_("same name, address and place as row {first}; skipped"),
                        first=first,
                    )
                    rec["_skip"] = True
            else:
                rownums = ", ".join(str(r["_row"]) for r in recs)
                for rec in recs:
                    self.add(
                        rec["_row"],
                        "duplicate_code",
                        "error",
                        N_("code {code} appears in rows {rows}; codes must be unique"),
                        code=code,
                        rows=rownums,
                    )
        rows[:] = [r for r in rows if not r.get("_skip")]

    def _match_existing(self, rows: list[dict]) -> None:
        model = self.model
        if self.spec.name == "residents":
            existing = self.session.execute(
                sa.select(model.id, model.household_id, model.name, model.id_number)
            ).all()
            by_id = {r.id_number.upper(): r.id for r in existing if r.id_number}
            by_hh = {(r.household_id, r.name): r.id for r in existing}
            for rec in rows:
                key = rec["_key"]
                rec["_id"] = by_id.get(key[1]) if key[0] == "id" else by_hh.get(key[1:])
            return
        cols = [model.id, model.code]
        if "name" in model.__table__.c:
            cols.append(model.name)
        same_parent = "community_id" in model.__table__.c
        if same_parent:
            cols.append(model.community_id)
        existing = self.session.execute(sa.select(*cols)).all()
        by_code = {r.code: r.id for r in existing}
        by_name: dict[str, list] = {}
        if "name" in model.__table__.c:
            for r in existing:
                by_name.setdefault(r.name, []).append(r)
        claimed = {rec["code"] for rec in rows if rec.get("code") in by_code}
        file_names: dict[str, int] = {}
        for rec in rows:
            if rec.get("name"):
                file_names[rec["name"]] = file_names.get(rec["name"], 0) + 1
        for rec in rows:
            code = rec.get("code")
            if code and code in by_code:
                rec["_id"] = by_code[code]
                continue
            if code and not rec.get("_generated"):
                continue
            # No code of its own: match by name (in the same community) when that is
            # unambiguous on both sides.
            name = rec.get("name")
            if not name:
                continue
            same = [
                r
                for r in by_name.get(name, [])
                if r.code not in claimed
                and (not same_parent or r.community_id == rec.get("community_id"))
            ]
            if len(same) == 1 and file_names.get(name) == 1:
                rec["_id"] = same[0].id
                rec["code"] = same[0].code
                rec["_generated"] = False
                claimed.add(same[0].code)
                self.add(
                    rec["_row"],
                    "matched_by_name",
                    "info",
                    N_("no code in the file; matched existing {code} by name"),
                    code=same[0].code,
                )
        self._taken_codes = set(by_code)
