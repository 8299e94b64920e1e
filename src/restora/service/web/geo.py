"""The register map's data, served as GeoJSON from the app itself (no external tiles):

- ``/web/geo/sites.geojson`` — every live site of the register in the caller's region scope,
  its polygon with its mine, the mine's restoration priority (rank, score and class of the
  platform's ranking, :mod:`restora.service.ranking`, as the mines API gives them) and its worst
  soil class (GB 15618-2018, :func:`restora.diagnosis.county.pollution_by_mine`);
- ``/web/geo/county.geojson`` — the county boundary: the ``county_boundary`` layer of the
  context GeoPackage named by ``RESTORA_CONTEXT`` (WGS 84), else the hull of the register's
  sites buffered by a tenth of its extent, so the map always has a frame.

The basemap beneath is Natural Earth's countries (world-atlas, vendored); both layers are drawn by
MapLibre GL JS in ``static/js/map.js``. The soil classes are computed once per state of the
register (the last ``changes`` row) and kept in memory, as the ranking is.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from restora.service.permissions import region_prefix
from restora.service.security import Principal, authorize
from restora.store.tables import changes as CHANGES
from restora.store.tables import mines as MINES
from restora.store.tables import sites as SITES

router = APIRouter(prefix="/web/geo", include_in_schema=False)
CanReadRegister = Depends(authorize("register.read"))

_lock = threading.Lock()
_cache: dict[tuple[str, Any, str], RegisterView] = {}


@dataclass(frozen=True)
class RegisterView:
    """The register as the map and the mine pages show it.

    Attributes
    ----------
    mines : dict
        ``mine_id`` → mine fields with ``rank`` [1], ``score`` [0-1], ``pollution_class``,
        ``hazard_grade``, ``damaged_area_hm2`` [hm²].
    method : dict
        The ranking's method (weights, dropped indicators, rule codes).
    error : str or None
        Why there is no ranking (an empty register), else None.
    """

    mines: dict[str, dict[str, Any]]
    method: dict[str, Any]
    error: str | None = None


def _state(engine: sa.Engine) -> Any:
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        return conn.execute(sa.select(sa.func.max(CHANGES.c.id))).scalar()


def register_view(request: Request) -> RegisterView:
    """The ranked register of the app's store (cached per register state and context)."""
    store = request.app.state.store
    ctx_file = getattr(request.app.state.settings, "context_file", None)
    key = (str(store.engine.url), _state(store.engine), str(ctx_file or ""))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        view = _rank(store, ctx_file)
        _cache.clear()
        _cache[key] = view
        return view


def _rank(store: Any, ctx_file: Any) -> RegisterView:
    """The mines with their worst soil class; rank, score and priority class from the
    platform's one ranking (:func:`restora.service.ranking.priorities`, merged per request)."""
    from restora.diagnosis import county
    from restora.errors import RestoraError

    register = store.load_register()
    base = {
        str(r["mine_id"]): {k: _plain(v) for k, v in r.items()}
        for r in register.mines.to_dict("records")
    }
    if not len(register.mines):
        return RegisterView(mines=base, method={}, error="the register is empty")
    try:
        pol, _source, _tables = county.pollution_by_mine(register, None, None, "register")
    except RestoraError as exc:
        return RegisterView(mines=base, method={}, error=str(exc))
    if pol is not None:
        for r in pol.to_dict("records"):
            base.setdefault(str(r["mine_id"]), {})["pollution_class"] = _plain(
                r.get("pollution_class")
            )
    return RegisterView(mines=base, method={})


def ranked_mines(request: Request) -> dict[str, dict[str, Any]]:
    """Every live mine with its soil class and its place in the platform's ranking: ``rank``
    (1 = restore first), ``score`` [0-1], ``priority_class`` (refdata ``priority/classes``),
    as the mines API gives them."""
    from restora.service.ranking import priorities

    view = register_view(request)
    ranks = priorities(request)
    out: dict[str, dict[str, Any]] = {}
    for mine_id, mine in view.mines.items():
        p = ranks.get(mine_id)
        out[mine_id] = {
            **mine,
            "rank": p.rank if p else None,
            "score": p.score if p else None,
            "priority_class": p.priority_class if p else None,
        }
    return out


def _plain(v: Any) -> Any:
    """A JSON-able scalar (numpy numbers to Python, NaN to None)."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _scope_filter(principal: Principal, column: sa.ColumnElement[Any]) -> Any:
    prefix = region_prefix(principal.region) if principal.role != "admin" else ""
    return column.startswith(prefix) if prefix else sa.true()


def sites_features(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """GeoJSON features of the live sites in the principal's scope (polygons in WGS 84)."""
    import shapely

    mines = ranked_mines(request)
    q = (
        sa.select(
            SITES.c.site_id,
            SITES.c.mine_id,
            SITES.c.kind,
            SITES.c.area_hm2,
            SITES.c.geometry,
            MINES.c.region_code,
        )
        .select_from(SITES.join(MINES, MINES.c.mine_id == SITES.c.mine_id))
        .where(
            SITES.c.deleted_at.is_(None),
            MINES.c.deleted_at.is_(None),
            _scope_filter(principal, MINES.c.region_code),
        )
        .order_by(SITES.c.site_id)
    )
    with request.app.state.store.engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        rows = conn.execute(q).all()
    out = []
    for row in rows:
        if row.geometry is None:
            continue
        geom = shapely.from_wkb(row.geometry)
        mine = mines.get(row.mine_id, {})
        out.append(
            {
                "type": "Feature",
                "id": row.site_id,
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "site_id": row.site_id,
                    "mine_id": row.mine_id,
                    "mine_name": mine.get("name"),
                    "kind": row.kind,
                    "area_hm2": _plain(row.area_hm2),
                    "rank": mine.get("rank"),
                    "score": mine.get("score"),
                    "priority_class": mine.get("priority_class") or "none",
                    "pollution_class": mine.get("pollution_class") or "none",
                    "hazard_grade": mine.get("hazard_grade"),
                },
            }
        )
    return out


def mine_points(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per mine: the centroid of its sites, with the first site's mine properties and
    the mine's total site area [hm²] (the map draws mines as circles at county scale)."""
    import shapely

    by_mine: dict[str, list[dict[str, Any]]] = {}
    for f in features:
        by_mine.setdefault(f["properties"]["mine_id"], []).append(f)
    out = []
    for mine_id, fs in by_mine.items():
        geom = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in fs])
        props = {
            k: fs[0]["properties"][k]
            for k in ("mine_id", "mine_name", "rank", "score", "priority_class", "pollution_class")
        }
        props["area_hm2"] = sum(f["properties"]["area_hm2"] or 0.0 for f in fs)
        props["sites"] = len(fs)
        out.append(
            {
                "type": "Feature",
                "id": mine_id,
                "geometry": shapely.geometry.mapping(geom.centroid),
                "properties": props,
            }
        )
    return out


def county_feature(request: Request, features: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The county boundary in WGS 84: the context's ``county_boundary``, else the sites' hull."""
    import shapely

    ctx_file = getattr(request.app.state.settings, "context_file", None)
    if ctx_file:
        return _context_boundary(str(ctx_file))
    if not features:
        return None
    geoms = [shapely.geometry.shape(f["geometry"]) for f in features]
    hull = shapely.union_all(geoms).convex_hull
    minx, miny, maxx, maxy = hull.bounds
    frame = hull.buffer(max(maxx - minx, maxy - miny, 0.01) / 10.0)
    return {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(frame),
        "properties": {"source": "hull"},
    }


_boundaries: dict[str, dict[str, Any] | None] = {}


def _context_boundary(path: str) -> dict[str, Any] | None:
    if path in _boundaries:
        return _boundaries[path]
    import pyogrio
    import shapely

    from restora.errors import InputError

    try:
        layers = {str(name) for name, _ in pyogrio.list_layers(path)}
        if "county_boundary" not in layers:
            feature = None
        else:
            frame = pyogrio.read_dataframe(path, layer="county_boundary").to_crs(4326)
            geom = shapely.union_all(frame.geometry.to_numpy()).simplify(0.0005)
            name = next((str(frame[c].iloc[0]) for c in ("name", "NAME") if c in frame), None)
            feature = {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {"source": "context", "name": name},
            }
    except Exception as exc:  # a broken context file is said, not a 500
        raise InputError(f"cannot read the county boundary: {exc}", file=path) from exc
    _boundaries[path] = feature
    return feature


def _geojson(features: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        {"type": "FeatureCollection", "features": features},
        media_type="application/geo+json",
        headers={"Cache-Control": "private, max-age=60"},
    )


@router.get("/sites.geojson")
def sites_geojson(request: Request, principal: Principal = CanReadRegister) -> JSONResponse:
    """The sites of the register map."""
    return _geojson(sites_features(request, principal))


@router.get("/mines.geojson")
def mines_geojson(request: Request, principal: Principal = CanReadRegister) -> JSONResponse:
    """One point per mine (the centroid of its sites)."""
    return _geojson(mine_points(sites_features(request, principal)))


@router.get("/county.geojson")
def county_geojson(request: Request, principal: Principal = CanReadRegister) -> JSONResponse:
    """The county boundary beneath the sites."""
    feature = county_feature(request, sites_features(request, principal))
    return _geojson([feature] if feature else [])
