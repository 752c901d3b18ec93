"""The street overview: street -> communities -> grids with counts and coverage, on a map
whose layers load by bbox and zoom (buildings as vector tiles above a threshold)."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from geodata.db import layers, repo
from geodata.db.overview import street_tree
from gridmap.errors import InvalidInput
from gridmap.maps.overview import street_map
from web.api import mvt_threshold
from web.db import db_session, engine
from web.maps import render_map

bp = Blueprint("pages", __name__)


def layer_urls() -> dict[str, str]:
    """Endpoints of the dynamic layers, as the map's JavaScript wants them."""
    urls = {name: url_for("api.layer_geojson", layer=name) for name in layers.LAYERS}
    urls["tiles"] = url_for("api.building_tile", z=0, x=0, y=0).replace(
        "/0/0/0.mvt", "/{z}/{x}/{y}.mvt"
    )
    urls["building"] = url_for("api.building", building_id=0).replace("/0", "/__ID__")
    urls["grid_page"] = url_for("grid.grid_page", code="__ID__")
    urls["hazard_page"] = url_for("hazards.detail", code="__ID__")
    return urls


def _focus(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InvalidInput(_("focus must be longitude,latitude")) from exc
    return lon, lat


@bp.route("/")
def overview():
    session = db_session()
    communities, grids = street_tree(session)
    chosen = request.args.get("community") or None
    fit = None
    if chosen is not None and (communities["code"] == chosen).any():
        fit = tuple(communities[communities["code"] == chosen].total_bounds)
    many = layers.building_count(session) > mvt_threshold()
    if many:
        layers.warm_building_index(engine())
    m, legends = street_map(
        communities,
        grids,
        urls=layer_urls(),
        buildings_as_tiles=many,
        focus=_focus(request.args.get("focus")),
        fit=fit,
        boundaries=repo.boundary_extents(session),
        _=_,
    )
    street = repo.street_summary(session)
    totals = {
        "communities": len(communities),
        "grids": len(grids),
        "buildings": int(grids["buildings"].sum()) if len(grids) else 0,
        "households": int(grids["households"].sum()) if len(grids) else 0,
        "residents": int(grids["residents"].sum()) if len(grids) else 0,
    }
    tree = []
    for c in communities.drop(columns="geometry").to_dict("records"):
        members = grids[grids["community_code"] == c["code"]].drop(columns="geometry")
        tree.append({**c, "grid_rows": members.to_dict("records")})
    return render_template(
        "overview.html",
        map=render_map(m, legends=legends),
        street=street,
        totals=totals,
        tree=tree,
        chosen=chosen,
        buildings_as_tiles=many,
        grids=grids.drop(columns="geometry").to_dict("records"),
    )
