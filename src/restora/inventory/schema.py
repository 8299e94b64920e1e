"""The register's tables: columns, types, units, and the header names users write.

One spec drives reading (header aliases in Chinese and English), validation, the store's
columns and the export. A register is four tables (see :class:`restora.inventory.model.Register`):

- ``mines``: one row per mine;
- ``sites``: one row per site polygon (open pit, dump, tailings pond ...), each in a mine;
- ``samples``: soil samples (points), each in a mine, optionally in a site;
- ``hazards``: geohazards, each in a mine, optionally in a site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MINERALS = ("coal", "metal", "non_metal", "building_stone", "oil_gas")
STATUSES = ("producing", "closed", "abandoned")
SITE_KINDS = (
    "open_pit",
    "waste_rock_dump",
    "tailings_pond",
    "subsidence_area",
    "industrial_yard",
    "road",
)
HAZARD_KINDS = ("collapse", "landslide", "debris_flow", "subsidence", "ground_fissure")
LAND_USES = ("paddy", "orchard", "other", "construction")
ABSENT = "absent"  # 无主: no responsible party can be found

Kind = Literal["str", "int", "float", "bool", "date"]


@dataclass(frozen=True)
class Column:
    """One column of a register table.

    ``aliases`` are header names users write (case-insensitive; Chinese and English);
    ``choices`` maps accepted spellings to the canonical value for coded columns.
    """

    name: str
    kind: Kind
    required: bool = False
    unit: str | None = None
    description: str = ""
    aliases: tuple[str, ...] = ()
    choices: dict[str, str] = field(default_factory=dict)


def _choices(canonical: tuple[str, ...], extra: dict[str, str]) -> dict[str, str]:
    out = {c: c for c in canonical}
    out.update({c.replace("_", " "): c for c in canonical})
    out.update({c.replace("_", "-"): c for c in canonical})
    out.update(extra)
    return {k.lower(): v for k, v in out.items()}


MINERAL_CHOICES = _choices(
    MINERALS,
    {
        "煤": "coal",
        "煤炭": "coal",
        "煤矿": "coal",
        "金属": "metal",
        "金属矿": "metal",
        "铁矿": "metal",
        "铅锌矿": "metal",
        "铜矿": "metal",
        "锰矿": "metal",
        "金矿": "metal",
        "钨矿": "metal",
        "锑矿": "metal",
        "非金属": "non_metal",
        "非金属矿": "non_metal",
        "nonmetal": "non_metal",
        "建材": "building_stone",
        "建筑石料": "building_stone",
        "石灰岩": "building_stone",
        "石料": "building_stone",
        "砂石": "building_stone",
        "building stone": "building_stone",
        "油气": "oil_gas",
        "石油": "oil_gas",
        "天然气": "oil_gas",
        "oil and gas": "oil_gas",
    },
)
STATUS_CHOICES = _choices(
    STATUSES,
    {
        "生产": "producing",
        "在产": "producing",
        "关闭": "closed",
        "闭坑": "closed",
        "废弃": "abandoned",
        "历史遗留": "abandoned",
    },
)
SITE_KIND_CHOICES = _choices(
    SITE_KINDS,
    {
        "采坑": "open_pit",
        "露天采场": "open_pit",
        "采场": "open_pit",
        "pit": "open_pit",
        "废石堆": "waste_rock_dump",
        "排土场": "waste_rock_dump",
        "渣堆": "waste_rock_dump",
        "waste dump": "waste_rock_dump",
        "dump": "waste_rock_dump",
        "尾矿库": "tailings_pond",
        "tailings": "tailings_pond",
        "塌陷区": "subsidence_area",
        "采煤塌陷区": "subsidence_area",
        "subsidence": "subsidence_area",
        "工业场地": "industrial_yard",
        "工业广场": "industrial_yard",
        "道路": "road",
        "矿山道路": "road",
    },
)
HAZARD_KIND_CHOICES = _choices(
    HAZARD_KINDS,
    {
        "崩塌": "collapse",
        "滑坡": "landslide",
        "泥石流": "debris_flow",
        "地面塌陷": "subsidence",
        "塌陷": "subsidence",
        "地裂缝": "ground_fissure",
        "debris flow": "debris_flow",
        "ground fissure": "ground_fissure",
    },
)
LAND_USE_CHOICES = _choices(
    LAND_USES,
    {
        "水田": "paddy",
        "果园": "orchard",
        "其他": "other",
        "旱地": "other",
        "建设用地": "construction",
    },
)

LEVELS = ("low", "medium", "high")
LEVEL_CHOICES = _choices(LEVELS, {"低": "low", "中": "medium", "高": "high"})

MINE_COLUMNS: tuple[Column, ...] = (
    Column(
        "mine_id",
        "str",
        True,
        description="stable mine id",
        aliases=("矿山编号", "矿山id", "mine id"),
    ),
    Column("name", "str", True, description="mine name", aliases=("矿山名称", "mine_name", "名称")),
    Column(
        "region_code",
        "str",
        True,
        description="6-digit GB/T 2260 administrative code",
        aliases=("行政区划代码", "行政区代码", "adcode", "region"),
    ),
    Column(
        "mineral",
        "str",
        True,
        description="mineral type",
        aliases=("矿种", "矿种类型", "mineral_type"),
        choices=MINERAL_CHOICES,
    ),
    Column(
        "status",
        "str",
        True,
        description="producing, closed or abandoned",
        aliases=("状态", "矿山状态", "生产状态"),
        choices=STATUS_CHOICES,
    ),
    Column(
        "responsible_party",
        "str",
        False,
        description=f"the party responsible for restoration, or '{ABSENT}' (无主)",
        aliases=("责任主体", "责任人", "采矿权人"),
    ),
    Column(
        "closure_year",
        "int",
        False,
        unit="year",
        description="year of closure",
        aliases=("闭坑年份", "关闭年份"),
    ),
    Column(
        "landscape_value",
        "str",
        False,
        description="landscape or cultural value: low, medium, high",
        aliases=("景观价值", "景观文化价值"),
        choices=LEVEL_CHOICES,
    ),
)

SITE_COLUMNS: tuple[Column, ...] = (
    Column(
        "site_id",
        "str",
        True,
        description="stable site id",
        aliases=("图斑编号", "场地编号", "site id"),
    ),
    Column(
        "mine_id",
        "str",
        True,
        description="the mine the site belongs to",
        aliases=("矿山编号", "矿山id"),
    ),
    Column(
        "kind",
        "str",
        True,
        description="site kind",
        aliases=("场地类型", "损毁类型", "site_kind", "类型"),
        choices=SITE_KIND_CHOICES,
    ),
    Column(
        "declared_area_hm2",
        "float",
        False,
        unit="hm2",
        description="area stated by the source (checked against the geometry)",
        aliases=("面积(公顷)", "面积（公顷）", "面积(hm2)", "area_hm2", "area_ha"),
    ),
    Column(
        "slope_deg",
        "float",
        False,
        unit="degree",
        description="mean slope",
        aliases=("坡度", "坡度(度)", "slope"),
    ),
    Column(
        "water",
        "bool",
        False,
        description="standing water on the site",
        aliases=("积水", "是否积水", "has_water"),
    ),
    Column(
        "water_depth_m",
        "float",
        False,
        unit="m",
        description="mean water depth",
        aliases=("水深", "水深(m)"),
    ),
    Column(
        "soil_thickness_m",
        "float",
        False,
        unit="m",
        description="thickness of soil or cover available",
        aliases=("土层厚度", "土层厚度(m)", "soil_thickness"),
    ),
)
# Declared area may come in 亩 or m²; readers convert to hm².
AREA_ALIASES_MU = ("面积(亩)", "面积（亩）", "area_mu")
AREA_ALIASES_M2 = ("面积(平方米)", "面积（平方米）", "area_m2")

SAMPLE_COLUMNS: tuple[Column, ...] = (
    Column("sample_id", "str", True, aliases=("样品编号", "样点编号", "sample id")),
    Column("mine_id", "str", True, aliases=("矿山编号",)),
    Column("site_id", "str", False, aliases=("图斑编号", "场地编号")),
    Column("lon", "float", False, unit="degree", aliases=("经度", "longitude", "x")),
    Column("lat", "float", False, unit="degree", aliases=("纬度", "latitude", "y")),
    Column("depth_m", "float", False, unit="m", aliases=("采样深度", "深度(m)", "depth")),
    Column("ph", "float", True, aliases=("pH", "酸碱度")),
    Column("land_use", "str", True, aliases=("土地利用", "用地类型"), choices=LAND_USE_CHOICES),
    Column("lab", "str", False, aliases=("检测单位", "实验室")),
    Column("sampled_on", "date", False, aliases=("采样日期", "date")),
    Column(
        "qualifiers",
        "str",
        False,
        description="what the lab wrote for results below detection, e.g. 'Hg=ND; Cd=<0.05'",
        aliases=("检出说明", "qualifier"),
    ),
)
METALS = ("Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn")
METAL_ALIASES = {
    "镉": "Cd",
    "汞": "Hg",
    "砷": "As",
    "铅": "Pb",
    "铬": "Cr",
    "铜": "Cu",
    "镍": "Ni",
    "锌": "Zn",
}

HAZARD_COLUMNS: tuple[Column, ...] = (
    Column("hazard_id", "str", True, aliases=("隐患点编号", "灾害点编号", "hazard id")),
    Column("mine_id", "str", True, aliases=("矿山编号",)),
    Column("site_id", "str", False, aliases=("图斑编号", "场地编号")),
    Column("kind", "str", True, aliases=("灾害类型", "隐患类型"), choices=HAZARD_KIND_CHOICES),
    Column("volume_m3", "float", False, unit="m**3", aliases=("规模(m3)", "体积", "规模")),
    Column("people_threatened", "int", False, unit="person", aliases=("威胁人数", "受威胁人数")),
    Column(
        "property_threatened_cny", "float", False, unit="CNY", aliases=("威胁财产(元)", "威胁财产")
    ),
    Column(
        "distance_to_buildings_m",
        "float",
        False,
        unit="m",
        aliases=("距建筑物距离", "距居民点距离(m)"),
    ),
    Column("lon", "float", False, unit="degree", aliases=("经度", "longitude")),
    Column("lat", "float", False, unit="degree", aliases=("纬度", "latitude")),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "mines": MINE_COLUMNS,
    "sites": SITE_COLUMNS,
    "samples": SAMPLE_COLUMNS,
    "hazards": HAZARD_COLUMNS,
}
