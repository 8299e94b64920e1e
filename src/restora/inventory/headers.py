"""Header names users write → the register's column names, and what kind of table a file is.

Headers are matched case-insensitively after Unicode NFKC normalisation (full-width brackets
and letters become ASCII, ``m²`` becomes ``m2``), trimming, and folding runs of spaces,
underscores and hyphens to ``_``; so ``Mine ID``, ``mine_id`` and ``矿山编号`` all name
``mine_id``, and ``面积（亩）`` names the declared area in 亩.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from restora.inventory.schema import (
    AREA_ALIASES_M2,
    AREA_ALIASES_MU,
    HAZARD_COLUMNS,
    METAL_ALIASES,
    METALS,
    MINE_COLUMNS,
    SAMPLE_COLUMNS,
    SITE_COLUMNS,
    Column,
)

TableKind = str  # "mines" | "sites" | "samples" | "hazards"

GEOMETRY_ALIASES = ("wkt", "geometry", "geom", "the_geom", "几何", "wkb")
CRS_ALIASES = ("crs", "坐标系", "坐标参考系", "srid", "epsg")
# Declared area in other units: canonical pseudo-columns, converted to hm² by the reader.
AREA_MU = "declared_area_mu"
AREA_M2 = "declared_area_m2"
# An area header naming its unit in brackets (``损毁面积（亩）``, ``面积(hm²)``) or none
# (``面积``: the unit comes from ``--area-unit``); the reader reads the unit from the header.
AREA_ANY = "declared_area"
# Centre point of a site (point registers): x/lon and y/lat in the table's CRS.
SITE_POINT_ALIASES = {
    "lon": ("lon", "经度", "longitude", "x", "中心点经度", "中心经度", "中心点x", "x坐标"),
    "lat": ("lat", "纬度", "latitude", "y", "中心点纬度", "中心纬度", "中心点y", "y坐标"),
}
GEOMETRY = "geometry"
CRS = "crs"
# Written by the exporters for people to read; ignored on import (recomputed from geometry).
COMPUTED_AREA = "geometry_area_hm2"

_FOLD = re.compile(r"[\s_\-]+")
_AROUND_BRACKETS = re.compile(r"_?([()\[\]])_?")
_UNIT_SUFFIX = re.compile(r"[(\[](mg/kg|毫克/千克|mg_kg)[)\]]$")
# 面积, 损毁面积, 占地面积, 图斑面积 …, area, damaged_area …, with an optional unit in brackets
# (a mine's licensed area, 矿区面积, is not a site's area and is not matched)
AREA_PREFIXES = (
    "损毁", "破坏", "压占", "挖损", "占用", "占地", "图斑", "场地", "治理", "修复", "待修复",
    "复垦", "待复垦",
)  # fmt: skip
AREA_ENGLISH = ("area", "damaged_area", "site_area", "declared_area")
_AREA_HEADER = re.compile(
    rf"^(?:(?:{'|'.join(AREA_PREFIXES)})?(?:土地)?面积|(?:{'|'.join(AREA_ENGLISH)}))"
    r"(?:[(\[]([^()\[\]]+)[)\]])?$"
)


def header_key(header: object) -> str:
    """The normalised form of a header used for matching.

    >>> header_key(" Mine ID ")
    'mine_id'
    >>> header_key("面积（亩）")
    '面积(亩)'
    """
    s = unicodedata.normalize("NFKC", str(header)).strip().lower()
    s = _FOLD.sub("_", s)
    return _AROUND_BRACKETS.sub(r"\1", s).strip("_")


def _alias_map(columns: Iterable[Column]) -> dict[str, str]:
    out: dict[str, str] = {}
    for col in columns:
        for alias in (col.name, *col.aliases):
            out.setdefault(header_key(alias), col.name)
    return out


def _extras(kind: TableKind) -> dict[str, str]:
    out = {header_key(a): GEOMETRY for a in GEOMETRY_ALIASES}
    out.update({header_key(a): CRS for a in CRS_ALIASES})
    if kind == "sites":
        out.update({header_key(a): AREA_MU for a in AREA_ALIASES_MU})
        out.update({header_key(a): AREA_M2 for a in AREA_ALIASES_M2})
        out[header_key(COMPUTED_AREA)] = COMPUTED_AREA
        for name, aliases in SITE_POINT_ALIASES.items():
            out.update({header_key(a): name for a in aliases})
    if kind == "samples":
        out.update({header_key(m): m for m in METALS})
        out.update({header_key(k): v for k, v in METAL_ALIASES.items()})
    return out


#: The names a declared-area column may take in a sites table (any unit).
AREA_NAMES = frozenset({"declared_area_hm2", AREA_MU, AREA_M2, AREA_ANY})

TABLE_COLUMNS: dict[TableKind, tuple[Column, ...]] = {
    "mines": MINE_COLUMNS,
    # a sites file carries its mine's columns on every row
    "sites": MINE_COLUMNS + tuple(c for c in SITE_COLUMNS if c.name != "mine_id"),
    "samples": SAMPLE_COLUMNS,
    "hazards": HAZARD_COLUMNS,
}
ALIASES: dict[TableKind, dict[str, str]] = {
    kind: {**_alias_map(cols), **_extras(kind)} for kind, cols in TABLE_COLUMNS.items()
}
_ID_OF = (("samples", "sample_id"), ("hazards", "hazard_id"), ("sites", "site_id"))


def canonical(header: object, kind: TableKind) -> str | None:
    """The register column a header names in a table of ``kind``, or None if unknown."""
    key = header_key(header)
    aliases = ALIASES[kind]
    if key in aliases:
        return aliases[key]
    if kind == "samples":
        bare = _UNIT_SUFFIX.sub("", key)
        return aliases.get(bare)
    if kind == "sites" and _AREA_HEADER.match(key):
        return AREA_ANY
    return None


def area_header_unit(header: object) -> str | None:
    """The unit an area header names in brackets, as written, or None.

    >>> area_header_unit("损毁面积（亩）")
    '亩'
    >>> area_header_unit("面积(hm²)")
    'hm2'
    >>> area_header_unit("面积") is None
    True
    """
    m = _AREA_HEADER.match(header_key(header))
    return m.group(1) if m else None


def is_known(header: object) -> bool:
    """True if a header names a register column of any table (used to find the header row)."""
    if header is None or (isinstance(header, float) and header != header):
        return False
    if not str(header).strip():
        return False
    return any(canonical(header, kind) is not None for kind in TABLE_COLUMNS)


def detect_kind(headers: Iterable[object], has_polygons: bool = False) -> TableKind | None:
    """What a table holds, from its headers: samples, hazards, sites, mines, or None.

    A ``sample_id`` column makes a samples table, ``hazard_id`` a hazards table, ``site_id``
    (or polygon geometry) a sites table; ``mine_id`` with a centre point (lon/lat, x/y) or a
    site area is a point register (sites); ``mine_id`` alone is a mines table.
    """
    heads = list(headers)
    for kind, id_col in _ID_OF:
        if id_col in {canonical(h, kind) for h in heads}:
            return kind
    names = {canonical(h, "sites") for h in heads}
    if has_polygons or GEOMETRY in names:
        return "sites"
    # a point register: a centre point or a site area on each mine's row
    if "mine_id" in names and ({"lon", "lat"} & names or names & AREA_NAMES):
        return "sites"
    if "mine_id" in {canonical(h, "mines") for h in heads}:
        return "mines"
    return None


def accepted_names(name: str, kind: TableKind) -> list[str]:
    """Header names accepted for column ``name`` in a table of ``kind`` (for messages, docs)."""
    for col in TABLE_COLUMNS[kind]:
        if col.name == name:
            return [col.name, *col.aliases]
    if name == GEOMETRY:
        return list(GEOMETRY_ALIASES)
    return [name]


def columns_markdown() -> str:
    """The accepted headers of every table as Markdown (kept in ``docs/register.md``)."""
    from restora.inventory.schema import TABLES

    lines: list[str] = []
    for table, cols in TABLES.items():
        lines += [f"#### {table}", "", "| column | type | unit | required | accepted headers |"]
        lines.append("|---|---|---|---|---|")
        for c in cols:
            heads = ", ".join(f"`{a}`" for a in (c.name, *c.aliases))
            if table == "sites" and c.name == "declared_area_hm2":
                heads += " — or in 亩: " + ", ".join(f"`{a}`" for a in AREA_ALIASES_MU)
                heads += "; in m²: " + ", ".join(f"`{a}`" for a in AREA_ALIASES_M2)
            req = "yes" if c.required else ""
            lines.append(f"| `{c.name}` | {c.kind} | {c.unit or ''} | {req} | {heads} |")
        if table == "samples":
            metals = ", ".join(f"`{m}`/`{zh}`" for zh, m in METAL_ALIASES.items())
            lines.append(
                f"| metals | float | mg/kg |  | {metals} (a `(mg/kg)` suffix is allowed) |"
            )
        lines.append("")
    geo = ", ".join(f"`{a}`" for a in GEOMETRY_ALIASES)
    crs = ", ".join(f"`{a}`" for a in CRS_ALIASES)
    lon = ", ".join(f"`{a}`" for a in SITE_POINT_ALIASES["lon"])
    lat = ", ".join(f"`{a}`" for a in SITE_POINT_ALIASES["lat"])
    lines += [
        "#### geometry and CRS columns (tables)",
        "",
        f"- geometry (WKT or hex WKB): {geo}",
        f"- CRS of the coordinates: {crs}",
        f"- centre point of a site without polygon (point registers): x/lon {lon}; y/lat {lat}",
        "- a site's declared area in any unit: `面积`, "
        + ", ".join(f"`{p}面积`" for p in AREA_PREFIXES)
        + " (`土地` may stand before `面积`), "
        + ", ".join(f"`{e}`" for e in AREA_ENGLISH)
        + ", with the unit in brackets — `损毁面积（亩）`, `面积(hm²)`, `area (m2)` — or none "
        "and `--area-unit`",
        "",
    ]
    return "\n".join(lines)


def codes_markdown() -> str:
    """The accepted spellings of every coded column as Markdown (in ``docs/register.md``)."""
    from restora.inventory.schema import TABLES

    lines = ["| column | value | accepted spellings (case-insensitive) |", "|---|---|---|"]
    seen: set[tuple[str, str]] = set()
    for cols in TABLES.values():
        for c in cols:
            if not c.choices or (c.name, next(iter(c.choices.values()))) in seen:
                continue
            seen.add((c.name, next(iter(c.choices.values()))))
            by_value: dict[str, list[str]] = {}
            for spelling, value in c.choices.items():
                by_value.setdefault(value, []).append(spelling)
            for value, spellings in by_value.items():
                shown = ", ".join(f"`{s}`" for s in spellings if s != value)
                lines.append(f"| `{c.name}` | `{value}` | {shown} |")
    return "\n".join(lines) + "\n"
