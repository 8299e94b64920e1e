"""Generate the fictional demo county's legacy-mine register (青山县 / Qingshan County).

Everything written here is invented: the county, its code 430599 (a Hunan prefix with a county
number that no real county uses), its mines, companies, towns, roads and measurements. The
magnitudes are chosen to look like a real Hunan county (see README.md for the reasons), so that
the rest of Restora can be exercised on realistic data.

The output is deterministic: one seeded ``numpy.random.default_rng`` drives every random draw
and nothing depends on the clock. Run::

    .venv/bin/python examples/demo-county/generate.py [OUTPUT_DIR]

(default: this script's directory). It writes ``register.gpkg`` (layer ``sites``),
``soil_samples.csv``, ``hazards.csv`` and ``context.gpkg``.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from restora.inventory.geometry import equal_area_hm2, reproject

SEED = 20250430
CRS = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E [m]
REGION_CODE = "430599"  # Hunan prefix 43, fictional county number 0599
CENTRE_LONLAT = (112.9, 27.6)
ABSENT = "absent"
GRID = 0.01  # [m] coordinates are snapped to 1 cm so the files compare exactly
SITE_GAP_M = 60.0  # [m] minimum gap between any two site polygons

# Hand-written roster: (name, mineral, subtype, status). Statuses: 6 producing, the rest closed
# or abandoned. Subtype picks the site mix and the soil signature.
ROSTER: list[tuple[str, str, str, str]] = [
    ("青山煤矿一号井", "coal", "coal", "closed"),
    ("青山煤矿二号井", "coal", "coal", "closed"),
    ("青山煤矿三号井", "coal", "coal", "abandoned"),
    ("梅岭煤矿", "coal", "coal", "producing"),
    ("白沙塘煤矿", "coal", "coal", "abandoned"),
    ("杉木冲煤矿", "coal", "coal", "abandoned"),
    ("茶园坪煤矿", "coal", "coal", "closed"),
    ("柏树湾煤矿", "coal", "coal", "abandoned"),
    ("黄泥塘煤矿", "coal", "coal", "abandoned"),
    ("罗家冲煤矿", "coal", "coal", "closed"),
    ("石门冲石灰岩采石场", "building_stone", "limestone", "producing"),
    ("龙潭石灰岩矿", "building_stone", "limestone", "closed"),
    ("狮子岩建筑石料矿", "building_stone", "limestone", "abandoned"),
    ("岩门采石场", "building_stone", "limestone", "abandoned"),
    ("牛形山花岗岩采石场", "building_stone", "granite", "abandoned"),
    ("大坪石灰岩矿", "building_stone", "limestone", "producing"),
    ("红岩建筑石料矿", "building_stone", "sandstone", "closed"),
    ("乌石冲采石场", "building_stone", "limestone", "abandoned"),
    ("凤形坳石灰岩矿", "building_stone", "limestone", "abandoned"),
    ("鹅公岭砂岩采石场", "building_stone", "sandstone", "closed"),
    ("沙子岭采石场", "building_stone", "granite", "abandoned"),
    ("花桥石灰岩矿", "building_stone", "limestone", "closed"),
    ("铁炉冲铅锌矿", "metal", "lead_zinc", "producing"),
    ("青龙湾铅锌矿", "metal", "lead_zinc", "abandoned"),
    ("桐子坳铅锌矿", "metal", "lead_zinc", "abandoned"),
    ("竹山冲铅锌矿", "metal", "lead_zinc", "closed"),
    ("谭家坪铅锌矿", "metal", "lead_zinc", "abandoned"),
    ("栗山坪铅锌矿", "metal", "lead_zinc", "abandoned"),
    ("高岭坡钨矿", "metal", "tungsten", "closed"),
    ("松柏岭钨矿", "metal", "tungsten", "producing"),
    ("樟树湾钨矿", "metal", "tungsten", "abandoned"),
    ("曾家垅钨矿", "metal", "tungsten", "abandoned"),
    ("黄土岭锑矿", "metal", "antimony", "abandoned"),
    ("石燕冲锑矿", "metal", "antimony", "closed"),
    ("周家山锑矿", "metal", "antimony", "abandoned"),
    ("杨梅坳萤石矿", "non_metal", "fluorite", "producing"),
    ("桂花坪高岭土矿", "non_metal", "kaolin", "abandoned"),
    ("双溪口石英砂矿", "non_metal", "quartz_sand", "closed"),
    ("板桥重晶石矿", "non_metal", "barite", "abandoned"),
    ("五里牌长石矿", "non_metal", "feldspar", "closed"),
]

# Towns: (name, kind, local x [m], local y [m], population [persons]); local = offset from the
# county centre in EPSG:4547. Township populations are drawn in 5 000-30 000.
TOWNS: list[tuple[str, str, float, float]] = [
    ("城关镇", "county_seat", 1500.0, -1000.0),
    ("云溪镇", "township", 11500.0, 6000.0),
    ("枫林镇", "township", 4000.0, 13500.0),
    ("金溪乡", "township", -8500.0, 10500.0),
    ("长岭镇", "township", -13500.0, -1500.0),
    ("白马乡", "township", -7500.0, -12000.0),
    ("松溪镇", "township", 5000.0, -14000.0),
    ("清水镇", "township", 14000.0, -6500.0),
]

# Soil: background [mg/kg] (order of magnitude of Hunan topsoil background values) and the
# concentration at a source (tailings pond or waste dump) for each signature; see README.md.
METALS = ("Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn")
BACKGROUND = {
    "Cd": 0.13,
    "Hg": 0.11,
    "As": 15.0,
    "Pb": 36.0,
    "Cr": 70.0,
    "Cu": 27.0,
    "Ni": 32.0,
    "Zn": 100.0,
}
SOURCE_PEAK = {
    "lead_zinc": {"Cd": 6.0, "Hg": 1.2, "As": 60.0, "Pb": 1200.0, "Cu": 120.0, "Zn": 2000.0},
    "tungsten": {"Cd": 2.0, "Hg": 0.5, "As": 200.0, "Pb": 300.0, "Cu": 320.0, "Ni": 70.0},
    "antimony": {"Cd": 1.5, "Hg": 2.2, "As": 220.0, "Pb": 250.0, "Cu": 90.0, "Zn": 450.0},
    "coal": {"Cd": 0.35, "Hg": 0.35, "As": 25.0},
    "limestone": {"Cd": 0.45, "Cr": 110.0, "Ni": 45.0},
}
# Every value is kept inside these bounds [mg/kg] (the ranges the README documents).
BOUNDS = {
    "Cd": (0.1, 8.0),
    "Hg": (0.05, 3.0),
    "As": (8.0, 250.0),
    "Pb": (30.0, 1500.0),
    "Cr": (40.0, 300.0),
    "Cu": (15.0, 400.0),
    "Ni": (15.0, 120.0),
    "Zn": (80.0, 2500.0),
}
DECIMALS = {"Cd": 2, "Hg": 3, "As": 1, "Pb": 1, "Cr": 1, "Cu": 1, "Ni": 1, "Zn": 1}
LABS = ("青山县环境监测站", "湖南湘测检测技术有限公司", "长沙华谱检测技术有限公司")


@dataclass
class SiteRec:
    site_id: str
    mine_id: str
    kind: str
    geometry: Polygon
    slope_deg: float
    water: bool
    water_depth_m: float | None
    soil_thickness_m: float


@dataclass
class MineRec:
    mine_id: str
    name: str
    mineral: str
    subtype: str
    status: str
    responsible_party: str
    closure_year: int | None
    landscape_value: str
    centre: tuple[float, float]
    sites: list[SiteRec] = field(default_factory=list)


# ----------------------------------------------------------------------------- geometry helpers


def snap(geom: shapely.Geometry) -> shapely.Geometry:
    """Snap to the 1 cm grid; set_precision returns a valid geometry (the make_valid guard)."""
    out = shapely.set_precision(geom, GRID)
    if not out.is_valid:
        out = shapely.make_valid(out)
    return out


def blob(
    rng: np.random.Generator,
    cx: float,
    cy: float,
    area_m2: float,
    aspect: float,
    n: int = 40,
    wobble: float = 0.25,
) -> Polygon:
    """A perturbed ellipse of the given area [m²] centred on (cx, cy).

    The radius r(θ) = ellipse(θ) · (1 + Σ a_k cos(kθ + φ_k)) with Σ|a_k| ≤ ``wobble`` < 1 stays
    positive, so the polygon is star-shaped about its centre and therefore simple.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    a, b = math.sqrt(aspect), 1.0 / math.sqrt(aspect)
    r = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2)
    amps = rng.dirichlet(np.ones(4)) * wobble * rng.uniform(0.5, 1.0)
    phases = rng.uniform(0.0, 2.0 * np.pi, 4)
    for k, (amp, ph) in enumerate(zip(amps, phases, strict=True), start=2):
        r = r * (1.0 + amp * np.cos(k * theta + ph))
    rot = rng.uniform(0.0, np.pi)
    x = r * np.cos(theta + rot)
    y = r * np.sin(theta + rot)
    unit = Polygon(np.column_stack([x, y]))
    scale = math.sqrt(area_m2 / unit.area)
    return snap(Polygon(np.column_stack([cx + scale * x, cy + scale * y])))


def road_strip(
    rng: np.random.Generator, x0: float, y0: float, heading: float, length_m: float, width_m: float
) -> Polygon:
    """A mine road: a gently winding centreline buffered to ``width_m`` [m] with flat ends."""
    n = 8
    step = length_m / n
    pts = [(x0, y0)]
    for _ in range(n):
        heading += rng.normal(0.0, 0.18)
        x, y = pts[-1]
        pts.append((x + step * math.cos(heading), y + step * math.sin(heading)))
    return snap(LineString(pts).buffer(width_m / 2.0, cap_style="flat", join_style="round"))


def winding_line(
    rng: np.random.Generator, p0: tuple[float, float], p1: tuple[float, float]
) -> LineString:
    """A road between two points with smooth sideways meanders (amplitude ~4 % of its length)."""
    t = np.linspace(0.0, 1.0, 25)
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    off = np.zeros_like(t)
    for k in (1, 2, 3):
        off += rng.normal(0.0, 0.04 * length / k) * np.sin(k * np.pi * t)
    x = p0[0] + t * dx + off * nx
    y = p0[1] + t * dy + off * ny
    return snap(LineString(np.column_stack([x, y])))


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


# ----------------------------------------------------------------------------- the county


@dataclass
class County:
    cx: float
    cy: float
    boundary: Polygon
    seat: tuple[float, float]
    urban: Polygon
    towns: list[tuple[str, str, float, float, int]]


def make_county(rng: np.random.Generator) -> County:
    to_proj = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    cx, cy = (round(v, 2) for v in to_proj.transform(*CENTRE_LONLAT))
    # ~1 600 km² (a 40 km x 40 km county), mildly irregular outline.
    boundary = blob(rng, cx, cy, 1.65e9, aspect=1.15, n=96, wobble=0.22)
    towns = []
    for name, kind, lx, ly in TOWNS:
        pop = 120_000 if kind == "county_seat" else int(round(rng.uniform(5_000, 30_000), -2))
        towns.append((name, kind, cx + lx, cy + ly, pop))
    seat = (towns[0][2], towns[0][3])
    urban = blob(rng, seat[0], seat[1], 2.6e7, aspect=1.4, n=48, wobble=0.2)  # ~26 km²
    return County(cx, cy, boundary, seat, urban, towns)


def in_zone(subtype: str, lx: float, ly: float) -> bool:
    """Geological belts of the fictional county (local coordinates [m] from the centre)."""
    if subtype == "coal":  # a coal basin in the north and north-west
        return ly > -2000.0 and lx < 9000.0
    if subtype in ("lead_zinc", "tungsten", "antimony"):  # ore-bearing hills in the south-east
        return ly < 3000.0 and lx > -6000.0
    if subtype in ("limestone", "sandstone", "granite"):  # quarries within reach of the seat
        return 4000.0 < math.hypot(lx - 1500.0, ly + 1000.0) < 17000.0
    return True


def site_plan(rng: np.random.Generator, subtype: str) -> list[tuple[str, float]]:
    """The kinds and target areas [m²] of a mine's sites; the first one is the main site."""
    ha = 1.0e4
    plan: list[tuple[str, float]] = []
    if subtype == "coal":
        plan.append(("subsidence_area", log_uniform(rng, 55.0, 580.0) * ha))
        if rng.random() < 0.3:
            plan.append(("subsidence_area", log_uniform(rng, 50.0, 120.0) * ha))
        plan.append(("waste_rock_dump", log_uniform(rng, 2.0, 12.0) * ha))  # gangue pile
        plan.append(("industrial_yard", log_uniform(rng, 1.5, 8.0) * ha))
        if rng.random() < 0.5:
            plan.append(("road", 0.0))
    elif subtype in ("limestone", "sandstone", "granite"):
        plan.append(("open_pit", log_uniform(rng, 2.2, 75.0) * ha))
        if rng.random() < 0.85:
            plan.append(("waste_rock_dump", log_uniform(rng, 1.2, 15.0) * ha))
        if rng.random() < 0.4:
            plan.append(("industrial_yard", log_uniform(rng, 1.2, 5.0) * ha))
        if rng.random() < 0.3:
            plan.append(("road", 0.0))
    elif subtype in ("lead_zinc", "tungsten", "antimony"):
        plan.append(("tailings_pond", log_uniform(rng, 3.2, 38.0) * ha))
        if rng.random() < 0.3:
            plan.append(("tailings_pond", log_uniform(rng, 3.2, 12.0) * ha))
        plan.append(("waste_rock_dump", log_uniform(rng, 2.0, 20.0) * ha))
        plan.append(("industrial_yard", log_uniform(rng, 1.2, 6.0) * ha))
        if rng.random() < 0.35:
            plan.append(("open_pit", log_uniform(rng, 3.0, 30.0) * ha))
        if rng.random() < 0.4:
            plan.append(("road", 0.0))
    else:  # non-metal
        plan.append(("open_pit", log_uniform(rng, 2.2, 30.0) * ha))
        plan.append(("waste_rock_dump", log_uniform(rng, 1.2, 10.0) * ha))
        if subtype in ("fluorite", "barite"):
            plan.append(("tailings_pond", log_uniform(rng, 3.2, 10.0) * ha))
    return plan


def site_attributes(rng: np.random.Generator, kind: str, subtype: str) -> dict[str, object]:
    """Slope [°], standing water, water depth [m] and soil thickness [m] of a site."""
    water = False
    depth: float | None = None
    if kind == "open_pit":
        quarry = subtype in ("limestone", "sandstone", "granite")
        slope = rng.uniform(45.0, 75.0) if quarry else rng.uniform(35.0, 55.0)
        soil = rng.uniform(0.0, 0.1)
        if rng.random() < 0.15:  # a pit lake
            water, depth = True, rng.uniform(2.0, 12.0)
    elif kind == "waste_rock_dump":
        slope, soil = rng.uniform(28.0, 38.0), rng.uniform(0.0, 0.2)
    elif kind == "tailings_pond":
        slope, soil = rng.uniform(1.0, 5.0), 0.0
        if rng.random() < 0.4:  # supernatant pond on the beach
            water, depth = True, rng.uniform(0.5, 3.0)
    elif kind == "subsidence_area":
        slope, soil = rng.uniform(2.0, 10.0), rng.uniform(0.4, 1.0)
        if rng.random() < 0.5:
            water, depth = True, rng.uniform(1.0, 6.0)
    elif kind == "industrial_yard":
        slope, soil = rng.uniform(1.0, 6.0), rng.uniform(0.1, 0.3)
    else:  # road
        slope, soil = rng.uniform(3.0, 12.0), rng.uniform(0.0, 0.1)
    return {
        "slope_deg": round(float(slope), 1),
        "water": water,
        "water_depth_m": None if depth is None else round(float(depth), 1),
        "soil_thickness_m": round(float(soil), 2),
    }


class Placed:
    """All site polygons placed so far, for the non-overlap test."""

    def __init__(self) -> None:
        self.geoms: list[Polygon] = []

    def clear_of(self, geom: shapely.Geometry, gap: float = SITE_GAP_M) -> bool:
        if not self.geoms:
            return True
        return not bool(np.any(shapely.dwithin(np.asarray(self.geoms, dtype=object), geom, gap)))


def company(rng: np.random.Generator, name: str, mineral: str) -> str:
    if name.startswith("青山煤矿"):
        return "湖南青山煤业集团有限公司"
    place = name[:3] if name[2] in "冲坳湾坪岭岩塘垅口山坡牌" else name[:2]
    suffix = {
        "coal": "煤业有限责任公司",
        "building_stone": "建材有限公司",
        "metal": "矿业有限公司",
        "non_metal": "矿产品开发有限公司",
    }[mineral]
    prefix = "湖南" if mineral == "metal" and rng.random() < 0.5 else "青山县"
    return f"{prefix}{place}{suffix}"


def make_mines(rng: np.random.Generator, county: County) -> list[MineRec]:
    inner = county.boundary.buffer(-1500.0)
    keep_out = [county.urban.buffer(400.0)] + [
        Point(t[2], t[3]).buffer(1000.0) for t in county.towns
    ]
    placed = Placed()
    mines: list[MineRec] = []
    centres: list[tuple[float, float]] = []
    xmin, ymin, xmax, ymax = inner.bounds
    for i, (name, mineral, subtype, status) in enumerate(ROSTER, start=1):
        mine_id = f"QS-M{i:02d}"
        plan = site_plan(rng, subtype)
        geoms: list[tuple[str, Polygon]] = []
        for _attempt in range(4000):
            x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
            if not in_zone(subtype, x - county.cx, y - county.cy):
                continue
            # the three shafts of 青山煤矿 lie next to each other
            if name.startswith("青山煤矿") and centres and i > 1:
                x0, y0 = centres[0]
                if math.hypot(x - x0, y - y0) > 7000.0:
                    continue
            if any(math.hypot(x - a, y - b) < 3000.0 for a, b in centres):
                continue
            geoms = place_sites(rng, x, y, plan, inner, keep_out, placed)
            if geoms:
                break
        if not geoms:
            raise RuntimeError(f"could not place {name}")
        centres.append((x, y))
        if status == "producing":
            party, year = company(rng, name, mineral), None
        elif status == "closed":
            party = ABSENT if rng.random() < 0.2 else company(rng, name, mineral)
            year = int(rng.integers(1998, 2021))
        else:
            party = company(rng, name, mineral) if rng.random() < 0.15 else ABSENT
            year = int(rng.integers(1985, 2013))
        landscape = str(rng.choice(["low", "medium", "high"], p=[0.55, 0.3, 0.15]))
        mine = MineRec(mine_id, name, mineral, subtype, status, party, year, landscape, (x, y))
        for j, (kind, geom) in enumerate(geoms, start=1):
            attrs = site_attributes(rng, kind, subtype)
            mine.sites.append(SiteRec(f"{mine_id}-S{j}", mine_id, kind, geom, **attrs))  # type: ignore[arg-type]
            placed.geoms.append(geom)
        mines.append(mine)
    return mines


def place_sites(
    rng: np.random.Generator,
    x: float,
    y: float,
    plan: list[tuple[str, float]],
    inner: Polygon,
    keep_out: list[shapely.Geometry],
    placed: Placed,
) -> list[tuple[str, Polygon]]:
    """Try to lay out one mine's sites around (x, y); [] if they do not fit."""
    out: list[tuple[str, Polygon]] = []
    main_kind, main_area = plan[0]
    main = blob(rng, x, y, main_area, aspect=rng.uniform(1.0, 2.2))
    if not ok(main, inner, keep_out, placed, out):
        return []
    out.append((main_kind, main))
    r_main = math.sqrt(main_area / math.pi)
    for kind, area in plan[1:]:
        for _ in range(60):
            ang = rng.uniform(0.0, 2.0 * math.pi)
            if kind == "road":
                length, width = rng.uniform(2000.0, 4000.0), rng.uniform(6.0, 9.0)
                start = r_main + 150.0
                geom = road_strip(
                    rng, x + start * math.cos(ang), y + start * math.sin(ang), ang, length, width
                )
            else:
                r = math.sqrt(area / math.pi)
                dist = r_main + r + rng.uniform(150.0, 1500.0)
                geom = blob(
                    rng,
                    x + dist * math.cos(ang),
                    y + dist * math.sin(ang),
                    area,
                    rng.uniform(1.0, 2.5),
                )
            if ok(geom, inner, keep_out, placed, out):
                out.append((kind, geom))
                break
        else:
            return []
    return out


def ok(
    geom: shapely.Geometry,
    inner: Polygon,
    keep_out: list[shapely.Geometry],
    placed: Placed,
    same_mine: list[tuple[str, Polygon]],
) -> bool:
    if geom.geom_type != "Polygon" or not geom.is_valid or not inner.contains(geom):
        return False
    if any(geom.intersects(k) for k in keep_out):
        return False
    if any(geom.distance(g) < SITE_GAP_M for _, g in same_mine):
        return False
    return placed.clear_of(geom)


# ----------------------------------------------------------------------------- tables


def area_hm2_projected(geom: shapely.Geometry) -> float:
    """Planar area in EPSG:4547 [hm²]."""
    return float(geom.area) / 1.0e4


def sites_frame(mines: list[MineRec]) -> gpd.GeoDataFrame:
    rows = []
    for m in mines:
        for s in m.sites:
            rows.append(
                {
                    "mine_id": m.mine_id,
                    "name": m.name,
                    "region_code": REGION_CODE,
                    "mineral": m.mineral,
                    "status": m.status,
                    "responsible_party": m.responsible_party,
                    "closure_year": m.closure_year,
                    "landscape_value": m.landscape_value,
                    "site_id": s.site_id,
                    "kind": s.kind,
                    "declared_area_hm2": round(area_hm2_projected(s.geometry), 2),
                    "slope_deg": s.slope_deg,
                    "water": s.water,
                    "water_depth_m": s.water_depth_m,
                    "soil_thickness_m": s.soil_thickness_m,
                    "geometry": s.geometry,
                }
            )
    df = pd.DataFrame(rows)
    df["closure_year"] = df["closure_year"].astype("Int64")
    df["water_depth_m"] = df["water_depth_m"].astype("float64")
    gdf = gpd.GeoDataFrame(df, geometry="geometry", crs=CRS)
    # Guard: the declared (Gauss-Kruger) area agrees with the equal-area area within 1 %.
    lonlat = reproject(gdf.geometry.to_numpy(), CRS, "EPSG:4326")
    ea = equal_area_hm2(lonlat)
    rel = np.abs(gdf["declared_area_hm2"].to_numpy() - ea) / ea
    if rel.max() > 0.01:
        raise AssertionError(f"declared area differs from equal-area area by {rel.max():.3%}")
    return gdf


def point_around(rng: np.random.Generator, site: Polygon, max_out: float, inside: bool) -> Point:
    """A random point inside ``site`` or within ``max_out`` [m] outside it."""
    outer = site if inside else site.buffer(max_out)
    x0, y0, x1, y1 = outer.bounds
    while True:
        p = Point(round(rng.uniform(x0, x1), 2), round(rng.uniform(y0, y1), 2))
        if outer.contains(p) and (inside or not site.contains(p)):
            return p


def fmt(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:.{decimals}f}"


def soil_samples(
    rng: np.random.Generator, mines: list[MineRec], county: County
) -> list[dict[str, str]]:
    to_ll = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    all_sites = [(m.mine_id, s) for m in mines for s in m.sites]
    all_geoms = np.asarray([s.geometry for _, s in all_sites], dtype=object)
    rows: list[dict[str, object]] = []
    for m in mines:
        n = int(rng.integers(8, 16))
        lab = LABS[int(rng.integers(0, len(LABS)))]
        start = dt.date(2025, 3, 1) + dt.timedelta(days=int(rng.integers(0, 240)))
        metal = m.mineral == "metal"
        sources = [s for s in m.sites if s.kind in ("tailings_pond", "waste_rock_dump")]
        peak = SOURCE_PEAK.get(m.subtype, {})
        strength = rng.uniform(0.45, 1.0)
        decay = rng.uniform(250.0, 550.0)  # [m] e-folding distance of the deposition
        weights = np.array([3.0 if s in sources else 1.0 for s in m.sites])
        for k in range(1, n + 1):
            while True:
                ref = m.sites[int(rng.choice(len(m.sites), p=weights / weights.sum()))]
                p = point_around(rng, ref.geometry, 900.0, inside=rng.random() < 0.3)
                hits = np.flatnonzero(shapely.contains(all_geoms, p))
                owners = {all_sites[h][0] for h in hits}
                if owners <= {m.mine_id} and county.boundary.contains(p):
                    break
            if hits.size:
                site = all_sites[int(hits[0])][1]
                land_use = "other"
            else:
                site = min(m.sites, key=lambda s: s.geometry.distance(p))
                land_use = str(rng.choice(["paddy", "orchard", "other"], p=[0.5, 0.2, 0.3]))
            d = min((s.geometry.distance(p) for s in sources), default=1.0e4)
            reach = math.exp(-d / decay)
            conc: dict[str, float] = {}
            for metal_name in METALS:
                lo, hi = BOUNDS[metal_name]
                if metal_name == "Cd" and metal:
                    lo = 0.2
                if metal_name == "Cd" and m.mineral == "coal":
                    hi = 0.5
                top = peak.get(metal_name, BACKGROUND[metal_name])
                extra = max(top - BACKGROUND[metal_name], 0.0) * strength * reach
                # redraw the noise (truncated log-normal) rather than clip, so no value
                # piles up on a bound
                for _ in range(100):
                    bg = BACKGROUND[metal_name] * rng.lognormal(0.0, 0.25)
                    value = bg + extra * rng.lognormal(0.0, 0.2)
                    if lo <= value <= hi:
                        break
                conc[metal_name] = round(min(max(value, lo), hi), DECIMALS[metal_name])
            if metal:
                ph = rng.normal(5.0 + 1.0 * (1.0 - reach), 0.4)  # acid drainage near the source
            elif m.subtype == "limestone":
                ph = rng.normal(7.6, 0.4)
            else:
                ph = rng.normal(6.0, 0.5)
            lon, lat = to_ll.transform(p.x, p.y)
            rows.append(
                {
                    "sample_id": f"{m.mine_id}-T{k:02d}",
                    "mine_id": m.mine_id,
                    "site_id": site.site_id,
                    "lon": f"{lon:.6f}",
                    "lat": f"{lat:.6f}",
                    "depth_m": "0.2",
                    "ph": f"{min(max(ph, 4.5), 8.5):.2f}",
                    "land_use": land_use,
                    **conc,
                    "lab": lab,
                    "sampled_on": (start + dt.timedelta(days=(k - 1) // 5)).isoformat(),
                }
            )
    # Exercise readers: a few Hg results reported as "ND" and one missing Ni value.
    hg = np.array([float(r["Hg"]) for r in rows])  # type: ignore[arg-type]
    nd = set(np.argsort(hg, kind="stable")[:4].tolist())
    no_ni = int(rng.integers(0, len(rows)))
    out: list[dict[str, str]] = []
    for i, r in enumerate(rows):
        rec = {
            k: (fmt(v, DECIMALS[k]) if k in DECIMALS else str(v))  # type: ignore[arg-type]
            for k, v in r.items()
        }
        if i in nd:
            rec["Hg"] = "ND"
        if i == no_ni:
            rec["Ni"] = ""
        out.append(rec)
    return out


HAZARD_RULES: dict[str, list[tuple[str, float, tuple[float, float] | None]]] = {
    # site kind -> [(hazard kind, probability, volume range [m³] or None)]
    "open_pit": [("collapse", 0.75, (1.0e2, 1.0e5))],
    "waste_rock_dump": [("landslide", 0.35, (1.0e3, 1.0e6)), ("debris_flow", 0.15, (1.0e4, 1.0e6))],
    "tailings_pond": [("debris_flow", 0.35, (1.0e4, 1.0e6))],
    "subsidence_area": [("subsidence", 0.6, None), ("ground_fissure", 0.35, None)],
}


def hazards(rng: np.random.Generator, mines: list[MineRec]) -> list[dict[str, str]]:
    to_ll = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    rows: list[dict[str, str]] = []
    for m in mines:
        for s in m.sites:
            for kind, prob, vol_range in HAZARD_RULES.get(s.kind, []):
                if rng.random() >= prob:
                    continue
                area_m2 = s.geometry.area
                if kind in ("collapse", "landslide", "debris_flow"):
                    assert vol_range is not None
                    lo, hi = vol_range
                    # the mass cannot exceed the site's area times a 15 m thick slab
                    volume: float | None = min(log_uniform(rng, lo, hi), max(lo, area_m2 * 15.0))
                    p = s.geometry.exterior.interpolate(rng.uniform(0.0, 1.0), normalized=True)
                elif kind == "subsidence":
                    # sinking trough: part of the area times its mean subsidence depth
                    volume = area_m2 * rng.uniform(0.05, 0.3) * rng.uniform(0.5, 3.0)
                    p = point_around(rng, s.geometry, 0.0, inside=True)
                else:  # ground fissures are measured by length, not volume
                    volume = None
                    p = point_around(rng, s.geometry, 0.0, inside=True)
                distance = log_uniform(rng, 15.0, 1500.0)
                exposed = log_uniform(rng, 20.0, 800.0) * math.exp(-distance / 400.0)
                # beyond ~900 m no dwelling lies in the runout; only roads and land are exposed
                people = 0 if distance > 900.0 else int(min(800, round(exposed)))
                property_cny = min(
                    5.0e7, people * rng.uniform(2.0e4, 6.0e4) + log_uniform(rng, 1.0e5, 5.0e6)
                )
                lon, lat = to_ll.transform(round(p.x, 2), round(p.y, 2))
                rows.append(
                    {
                        "hazard_id": f"QS-H{len(rows) + 1:03d}",
                        "mine_id": m.mine_id,
                        "site_id": s.site_id,
                        "kind": kind,
                        "volume_m3": "" if volume is None else f"{round(volume, -1):.0f}",
                        "people_threatened": str(people),
                        "property_threatened_cny": f"{round(property_cny, -3):.0f}",
                        "distance_to_buildings_m": f"{distance:.0f}",
                        "lon": f"{lon:.6f}",
                        "lat": f"{lat:.6f}",
                    }
                )
    return rows


# ----------------------------------------------------------------------------- context layers


def context_layers(
    rng: np.random.Generator, county: County, mines: list[MineRec]
) -> dict[str, gpd.GeoDataFrame]:
    cx, cy = county.cx, county.cy
    seat = county.seat
    towns = gpd.GeoDataFrame(
        {
            "name": [t[0] for t in county.towns],
            "kind": [t[1] for t in county.towns],
            "population": [t[4] for t in county.towns],
        },
        geometry=[Point(t[2], t[3]) for t in county.towns],
        crs=CRS,
    )
    by_name = {t[0]: (t[2], t[3]) for t in county.towns}
    far = 40000.0
    # (name, class, waypoints); roads run on past the boundary and are clipped to it
    roads_spec: list[tuple[str, str, list[tuple[float, float]]]] = [
        ("G999", "national", [(cx - far, cy - 0.45 * far), seat, (cx + far, cy + 0.5 * far)]),
        ("S998", "provincial", [seat, by_name["枫林镇"], (cx + 0.15 * far, cy + far)]),
        ("S999", "provincial", [seat, by_name["松溪镇"], (cx + 0.2 * far, cy - far)]),
        ("X001", "county", [seat, by_name["金溪乡"]]),
        ("X002", "county", [seat, by_name["长岭镇"], by_name["白马乡"]]),
        ("X003", "county", [seat, by_name["清水镇"], by_name["云溪镇"]]),
    ]
    lines = []
    for _name, _cls, waypoints in roads_spec:
        coords: list[tuple[float, float]] = []
        for p0, p1 in itertools.pairwise(waypoints):
            leg = list(winding_line(rng, p0, p1).coords)
            coords.extend(leg if not coords else leg[1:])
        seg = snap(LineString(coords).intersection(county.boundary))
        parts = [g for g in shapely.get_parts(seg) if g.geom_type == "LineString"]
        lines.append(MultiLineString(parts))
    roads = gpd.GeoDataFrame(
        {"name": [r[0] for r in roads_spec], "class": [r[1] for r in roads_spec]},
        geometry=lines,
        crs=CRS,
    )

    # Ecological red line: a forested ridge that takes in the two closest abandoned metal
    # mines (so some mines overlap it), a reservoir's water-source area and a wetland park.
    site_union = shapely.union_all([s.geometry for m in mines for s in m.sites])
    metal = [m for m in mines if m.mineral == "metal" and m.status == "abandoned"]
    pairs = sorted(
        (math.dist(a.centre, b.centre), a.mine_id, b.mine_id, a, b)
        for i, a in enumerate(metal)
        for b in metal[i + 1 :]
    )
    _, _, _, a, b = pairs[0]
    mid = ((a.centre[0] + b.centre[0]) / 2.0, (a.centre[1] + b.centre[1]) / 2.0)
    ridge_r = math.dist(a.centre, b.centre) / 2.0 + 900.0
    redlines = [
        ("森林生态保护红线（青峰岭）", blob(rng, *mid, math.pi * ridge_r**2, 1.3, 60, 0.12))
    ]
    for label, area in (
        ("饮用水水源保护红线（青山水库）", 1.2e7),
        ("湿地生态保护红线（双溪湿地）", 8.0e6),
    ):
        inner = county.boundary.buffer(-3000.0)
        x0, y0, x1, y1 = inner.bounds
        while True:
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            geom = blob(rng, x, y, area, rng.uniform(1.2, 2.5), 60, 0.2)
            taken = [g for _, g in redlines] + [county.urban]
            if (
                inner.contains(geom)
                and geom.distance(site_union) > 500.0
                and all(geom.distance(g) > 1000.0 for g in taken)
            ):
                break
        redlines.append((label, geom))
    redline = gpd.GeoDataFrame(
        {"name": [r[0] for r in redlines]}, geometry=[r[1] for r in redlines], crs=CRS
    )

    # Permanent basic farmland: valley patches, outside the red line, the urban boundary and
    # every site except subsidence areas (coal subsidence on designated farmland is common).
    patches: list[Polygon] = []
    inner = county.boundary.buffer(-500.0)
    x0, y0, x1, y1 = inner.bounds
    while len(patches) < 14:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        geom = blob(rng, x, y, log_uniform(rng, 6.0e6, 3.0e7), rng.uniform(1.5, 3.5), 48, 0.3)
        if inner.contains(geom):
            patches.append(geom)
    exclude = shapely.union_all(
        [county.urban, *redline.geometry]
        + [s.geometry for m in mines for s in m.sites if s.kind != "subsidence_area"]
    )
    farmland = snap(shapely.union_all(patches).difference(exclude))
    parts = [p for p in shapely.get_parts(farmland) if p.geom_type == "Polygon" and p.area >= 1.0e4]
    parts.sort(key=lambda p: (round(p.centroid.x, 2), round(p.centroid.y, 2)))
    farmland_gdf = gpd.GeoDataFrame(
        {"patch_id": [f"JBNT-{i:03d}" for i in range(1, len(parts) + 1)]},
        geometry=parts,
        crs=CRS,
    )
    return {
        "county_boundary": gpd.GeoDataFrame(
            {"name": ["青山县"], "region_code": [REGION_CODE]}, geometry=[county.boundary], crs=CRS
        ),
        "towns": towns,
        "roads": roads,
        "ecological_redline": redline,
        "permanent_basic_farmland": farmland_gdf,
        "urban_development_boundary": gpd.GeoDataFrame(
            {"name": ["青山县城镇开发边界"]}, geometry=[county.urban], crs=CRS
        ),
    }


# ----------------------------------------------------------------------------- writing


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    if path.exists():
        path.unlink()
    for name, gdf in layers.items():
        gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


def generate(out_dir: Path) -> None:
    """Write the demo county's files into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    county = make_county(rng)
    mines = make_mines(rng, county)
    sites = sites_frame(mines)
    samples = soil_samples(rng, mines, county)
    hazard_rows = hazards(rng, mines)
    context = context_layers(rng, county, mines)
    write_gpkg(out_dir / "register.gpkg", {"sites": sites})
    write_csv(out_dir / "soil_samples.csv", samples)
    write_csv(out_dir / "hazards.csv", hazard_rows)
    write_gpkg(out_dir / "context.gpkg", context)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    generate(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
