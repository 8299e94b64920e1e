"""A small register (3 mines, 4 sites, 4 samples, 2 hazards) and writers for every format.

Sites are exact rectangles in EPSG:4547 (CGCS2000 3-degree Gauss–Krüger, CM 114° E); the
other files carry the same polygons reprojected, so every file describes the same register.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from restora.inventory.geometry import equal_area_hm2, reproject

GK = "EPSG:4547"
X0, Y0 = 500_000.0, 3_320_000.0  # false easting at the CM; ~30° N

MINES = [
    {
        "mine_id": "M1",
        "name": "铅锌矿甲",
        "region_code": "430181",
        "mineral": "metal",
        "status": "abandoned",
        "responsible_party": "absent",
        "closure_year": 2005,
        "landscape_value": "high",
    },
    {
        "mine_id": "M2",
        "name": "煤矿乙",
        "region_code": "140202",
        "mineral": "coal",
        "status": "closed",
        "responsible_party": "某煤业有限公司",
        "closure_year": 2012,
        "landscape_value": None,
    },
    {
        "mine_id": "M3",
        "name": "石料场丙",
        "region_code": "420102",
        "mineral": "building_stone",
        "status": "abandoned",
        "responsible_party": "absent",
        "closure_year": None,
        "landscape_value": "low",
    },
]
# site id, mine, kind, (x offset, y offset, width, height) [m] in EPSG:4547, extras
SITES = [
    ("S1", "M1", "open_pit", (0, 0, 300, 200), {"slope_deg": 35.0, "water": False}),
    ("S2", "M1", "tailings_pond", (400, 0, 250, 250), {"water": True, "water_depth_m": 2.5}),
    ("S3", "M2", "waste_rock_dump", (0, 600, 500, 120), {"soil_thickness_m": 0.3}),
    ("S4", "M3", "open_pit", (900, 900, 150, 180), {"slope_deg": 60.0}),
]
SAMPLES = [
    ("P1", "M1", "S1", 114.001, 29.9971, 0.2, 5.6, "paddy", {"Cd": 0.8, "Pb": 120.0}),
    ("P2", "M1", "S2", 114.0052, 29.9973, 0.2, 6.8, "other", {"Cd": 0.25, "As": 31.5}),
    ("P3", "M2", None, 114.002, 30.0025, 0.5, 7.9, "orchard", {"Zn": 310.0, "Cu": 45.0}),
    ("P4", "M3", "S4", 114.0098, 30.0085, 0.2, 4.9, "paddy", {"Hg": 0.35, "Ni": 40.0}),
]
HAZARDS = [
    {
        "hazard_id": "H1",
        "mine_id": "M1",
        "site_id": "S1",
        "kind": "collapse",
        "volume_m3": 1200.0,
        "people_threatened": 15,
        "property_threatened_cny": 300000.0,
        "distance_to_buildings_m": 80.0,
        "lon": 114.0012,
        "lat": 29.9972,
    },
    {
        "hazard_id": "H2",
        "mine_id": "M2",
        "site_id": None,
        "kind": "subsidence",
        "volume_m3": None,
        "people_threatened": None,
        "property_threatened_cny": None,
        "distance_to_buildings_m": 300.0,
        "lon": 114.0021,
        "lat": 30.0027,
    },
]


def gk_polygons() -> np.ndarray:
    return np.array(
        [
            shapely.box(X0 + dx, Y0 + dy, X0 + dx + w, Y0 + dy + h)
            for _, _, _, (dx, dy, w, h), _ in SITES
        ],
        dtype=object,
    )


def site_rows(crs: str = GK) -> gpd.GeoDataFrame:
    """Sites with their mines' columns (English headers) and polygons in ``crs``."""
    geoms = reproject(gk_polygons(), GK, crs)
    areas = equal_area_hm2(gk_polygons(), GK)
    mines = {m["mine_id"]: m for m in MINES}
    rows = []
    for (sid, mid, kind, _, extra), area in zip(SITES, areas, strict=True):
        rows.append(
            {
                **mines[mid],
                "site_id": sid,
                "kind": kind,
                "declared_area_hm2": round(float(area), 2),
                **extra,
            }
        )
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=list(geoms), crs=crs)


def samples_frame() -> pd.DataFrame:
    rows = []
    for sid, mid, site, lon, lat, depth, ph, use, metals in SAMPLES:
        rows.append(
            {
                "sample_id": sid,
                "mine_id": mid,
                "site_id": site,
                "lon": lon,
                "lat": lat,
                "depth_m": depth,
                "ph": ph,
                "land_use": use,
                **metals,
            }
        )
    return pd.DataFrame(rows)


CHINESE = {
    "mine_id": "矿山编号",
    "name": "矿山名称",
    "region_code": "行政区代码",
    "mineral": "矿种",
    "status": "状态",
    "responsible_party": "责任主体",
    "closure_year": "闭坑年份",
    "landscape_value": "景观价值",
    "site_id": "图斑编号",
    "kind": "场地类型",
    "declared_area_hm2": "面积（公顷）",
    "slope_deg": "坡度",
    "water": "积水",
    "water_depth_m": "水深",
    "soil_thickness_m": "土层厚度",
}
CHINESE_VALUES = {
    "metal": "金属矿",
    "coal": "煤",
    "building_stone": "建筑石料",
    "abandoned": "废弃",
    "closed": "闭坑",
    "absent": "无主",
    "open_pit": "露天采场",
    "tailings_pond": "尾矿库",
    "waste_rock_dump": "排土场",
}


def write_geojson(path: Path) -> Path:
    pyogrio.write_dataframe(site_rows("EPSG:4326"), path, driver="GeoJSON")
    return path


def write_gpkg(path: Path) -> Path:
    pyogrio.write_dataframe(site_rows(GK), path, layer="sites", driver="GPKG")
    return path


def write_shapefile_zip(path: Path, crs: str = "EPSG:32650", cpg: bool = False) -> Path:
    """Zipped Shapefile in UTM 50N, Chinese values, DBF in GBK (the .cpg dropped by default)."""
    folder = path.parent / (path.stem + "_shp")
    folder.mkdir()
    gdf = site_rows(crs)
    for col in ("mineral", "status", "kind", "responsible_party"):
        gdf[col] = gdf[col].map(lambda v: CHINESE_VALUES.get(v, v))
    # DBF field names are at most 10 bytes: short English names for the long ones
    gdf = gdf.rename(
        columns={
            "responsible_party": "责任主体",
            "declared_area_hm2": "area_ha",
            "landscape_value": "景观价值",
            "water_depth_m": "水深",
            "soil_thickness_m": "土层厚度",
            "closure_year": "闭坑年份",
            "region_code": "adcode",
        }
    )
    pyogrio.write_dataframe(gdf, folder / "sites.shp", encoding="GBK")
    if not cpg:
        (folder / "sites.cpg").unlink()
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return path


def write_gbk_csv(path: Path) -> Path:
    """GBK CSV, Chinese headers and values, WKT in EPSG:4547, area in 亩."""
    gdf = site_rows(GK)
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    for col in ("mineral", "status", "kind", "responsible_party"):
        frame[col] = frame[col].map(lambda v: CHINESE_VALUES.get(v, v))
    frame["water"] = frame["water"].map({True: "是", False: "否"}).fillna("")
    frame["declared_area_hm2"] = frame["declared_area_hm2"] * 15  # 亩
    frame = frame.rename(columns={**CHINESE, "declared_area_hm2": "面积（亩）"})
    frame["几何"] = shapely.to_wkt(gdf.geometry.to_numpy(), rounding_precision=-1)
    path.write_bytes(frame.to_csv(index=False).encode("gbk"))
    return path


def write_samples_xlsx(path: Path) -> Path:
    frame = samples_frame().rename(
        columns={
            "sample_id": "样品编号",
            "mine_id": "矿山编号",
            "site_id": "图斑编号",
            "lon": "经度",
            "lat": "纬度",
            "ph": "pH",
            "land_use": "土地利用",
            "Cd": "镉",
            "Pb": "铅(mg/kg)",
        }
    )
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        frame.to_excel(xw, sheet_name="土壤样品", index=False)
        pd.DataFrame(HAZARDS).to_excel(xw, sheet_name="隐患点", index=False)
    return path
