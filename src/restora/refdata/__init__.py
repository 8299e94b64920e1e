"""Reference data: published coefficients as data files, with their provenance.

Every coefficient that comes from a standard, a guideline, a paper or a market lives in a YAML
file under ``refdata/tables/`` (OpenFisca's "parameters" pattern). One file is one table; it
names its ``source``, ``unit`` and carries one or more dated ``versions``, each optionally for a
region (6-digit GB/T 2260 code; ``"000000"`` is national)::

    title: GB 15618-2018 risk screening values
    source: GB 15618-2018, Table 1
    unit: mg/kg
    versions:
      - valid_from: 2018-08-01
        version: "2018"
        region: "000000"
        data: [...]            # rows, a mapping, a scalar, or ``csv: file.csv`` beside the YAML

Formulas read the values in force: :func:`get` picks, for a date and a region, the newest
version with ``valid_from <= on`` (and ``on < valid_to`` when set), falling back from the
county to its province (``xx0000``) to the nation. Users add tables or versions without
touching code by pointing ``RESTORA_REFDATA_PATH`` (``os.pathsep``-separated) at folders laid
out like ``tables/``; their versions are merged over the shipped ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from restora.errors import InputError, RestoraError
from restora.textio import decode_text

TABLES_DIR = Path(__file__).parent / "tables"
# libyaml's safe loader when PyYAML was built with it (several times faster), else pure Python
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NATIONAL = "000000"
REQUIRED_KEYS = ("source", "unit")


@dataclass(frozen=True)
class Version:
    """One dated (and possibly regional) version of a table."""

    valid_from: dt.date
    valid_to: dt.date | None
    region: str
    version: str
    data: Any
    origin: Path


@dataclass(frozen=True)
class RefTable:
    """A reference table as in force on a date for a region, with its provenance."""

    name: str
    title: str
    source: str
    unit: Any
    meta: dict[str, Any]
    valid_from: dt.date
    valid_to: dt.date | None
    region: str
    version: str
    data: Any
    origin: str = field(repr=False)

    def frame(self) -> pd.DataFrame:
        """The table's rows as a DataFrame (for row-shaped data)."""
        if isinstance(self.data, pd.DataFrame):
            return self.data.copy()
        if isinstance(self.data, list):
            return pd.DataFrame(self.data)
        raise TypeError(f"reference table {self.name} is not row-shaped")

    @property
    def digest(self) -> str:
        """SHA-256 of the version's data, so a report can prove which figures it used."""
        if isinstance(self.data, pd.DataFrame):
            payload = self.data.to_csv(index=False)
        else:
            payload = json.dumps(self.data, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def provenance(self) -> dict[str, Any]:
        """What a report states about this table: name, version, dates, region, source, hash."""
        return {
            "name": self.name,
            "version": self.version,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "region": self.region,
            "source": self.source,
            "unit": self.unit,
            "sha256": self.digest,
        }


@dataclass(frozen=True)
class TableFile:
    name: str
    meta: dict[str, Any]
    versions: tuple[Version, ...]


def _search_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("RESTORA_REFDATA_PATH", "").split(os.pathsep) if p]
    return [TABLES_DIR, *extra]


def _as_date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(f"{value!r} is not an ISO date (YYYY-MM-DD)", file=where) from exc


def _read_rows(path: Path, where: str) -> pd.DataFrame:
    """A version's rows from a CSV (UTF-8 with or without BOM, or GBK) or an Excel sheet."""
    if not path.is_file():
        raise InputError(f"the table file {path.name!r} it names does not exist", file=where)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype={"region": str})
        else:
            text, _ = decode_text(
                path.read_bytes(), str(path), hint="save it as UTF-8 or GBK CSV, or as .xlsx"
            )
            frame = pd.read_csv(io.StringIO(text), dtype={"region": str})
    except InputError:
        raise
    except Exception as exc:  # pandas/openpyxl parse errors: say which file, keep the reason
        raise InputError(f"cannot read the table: {exc}", file=str(path)) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _parse_file(path: Path, name: str) -> TableFile:
    try:
        text, _ = decode_text(path.read_bytes(), str(path), hint="save it as UTF-8")
        doc = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=str(path)) from exc
    if not isinstance(doc, dict) or "versions" not in doc:
        raise InputError("a reference table needs a 'versions' list", file=str(path))
    versions = []
    for i, v in enumerate(doc["versions"], start=1):
        where = f"{path} (version {i})"
        if "valid_from" not in v:
            raise InputError("each version needs valid_from", file=where)
        name_of_file = v.get("csv") or v.get("xlsx") or v.get("file")
        origin = path
        if name_of_file:
            origin = path.parent / str(name_of_file)  # errors in rows name the data file
            data: Any = _read_rows(origin, where)
        elif "data" in v:
            data = v["data"]
        else:
            raise InputError("each version needs 'data' or 'csv' (or 'xlsx')", file=where)
        versions.append(
            Version(
                valid_from=_as_date(v["valid_from"], where),
                valid_to=_as_date(v["valid_to"], where) if v.get("valid_to") else None,
                region=str(v.get("region", doc.get("region", NATIONAL))).zfill(6),
                version=str(v.get("version", v["valid_from"])),
                data=data,
                origin=origin,
            )
        )
    meta = {k: val for k, val in doc.items() if k != "versions"}
    return TableFile(name=name, meta=meta, versions=tuple(versions))


def _merge(found: list[TableFile], name: str) -> TableFile:
    """Shipped file first, then users' files: their versions are added; later ones win ties."""
    meta: dict[str, Any] = {}
    versions: tuple[Version, ...] = ()
    for tf in found:
        meta = {**meta, **tf.meta}
        versions = versions + tf.versions
    return TableFile(name, meta, versions)


@lru_cache(maxsize=1)
def _catalogue(search_key: str) -> dict[str, TableFile]:
    return {name: _table(name, search_key) for name in _names(search_key)}


@lru_cache(maxsize=1)
def _names(search_key: str) -> tuple[str, ...]:
    found: set[str] = set()
    for base in [Path(p) for p in search_key.split("\x00")]:
        if base.is_dir():
            found |= {p.relative_to(base).with_suffix("").as_posix() for p in base.rglob("*.yaml")}
    return tuple(sorted(found))


@cache
def _table(name: str, search_key: str) -> TableFile:
    """One table, parsed from the files of that name in every search folder (only those)."""
    found = [
        _parse_file(path, name)
        for base in [Path(p) for p in search_key.split("\x00")]
        if (path := base / f"{name}.yaml").is_file()
    ]
    return _merge(found, name)


def _search_key() -> str:
    return "\x00".join(str(p) for p in _search_dirs())


def catalogue() -> dict[str, TableFile]:
    """All known tables (shipped and user-added), by name (parses every file)."""
    return _catalogue(_search_key())


def reload() -> None:
    """Forget cached tables (after editing files or changing ``RESTORA_REFDATA_PATH``)."""
    _catalogue.cache_clear()
    _names.cache_clear()
    _table.cache_clear()


def names() -> list[str]:
    """Names of all known tables."""
    return list(_names(_search_key()))


def region_chain(region: str | None) -> list[str]:
    """Codes tried for ``region``, most specific first: county, prefecture, province, nation."""
    if not region or region == NATIONAL:
        return [NATIONAL]
    code = str(region).zfill(6)
    chain = [code]
    if code[2:] != "0000":
        if code[4:] != "00":
            chain.append(code[:4] + "00")  # prefecture
        chain.append(code[:2] + "0000")  # province
    chain.append(NATIONAL)
    return list(dict.fromkeys(chain))


def get(name: str, on: dt.date | str | None = None, region: str | None = None) -> RefTable:
    """The version of table ``name`` in force on date ``on`` for ``region``.

    Parameters
    ----------
    name : str
        Table name, its path under ``tables/`` without ``.yaml`` (e.g.
        ``"soil/gb15618-2018/screening"``).
    on : date or ISO string, optional
        The date whose values apply; default today.
    region : str, optional
        6-digit GB/T 2260 code; falls back to the prefecture, province, then national version.

    Raises
    ------
    RestoraError
        If there is no such table, or no version in force on that date for that region.
    """
    key = _search_key()
    if name not in _names(key):
        raise RestoraError(f"no reference table named {name!r} (see `restora refdata list`)")
    tf = _table(name, key)
    when = _as_date(on, name) if on is not None else dt.date.today()
    for code in region_chain(region):
        candidates = [
            v
            for i, v in enumerate(tf.versions)
            if v.region == code
            and v.valid_from <= when
            and (v.valid_to is None or when < v.valid_to)
        ]
        if candidates:
            # newest valid_from wins; among equal dates the one loaded last (a user's) wins
            best = max(enumerate(candidates), key=lambda iv: (iv[1].valid_from, iv[0]))[1]
            return RefTable(
                name=name,
                title=str(tf.meta.get("title", name)),
                source=str(tf.meta.get("source", "")),
                unit=tf.meta.get("unit"),
                meta=dict(tf.meta),
                valid_from=best.valid_from,
                valid_to=best.valid_to,
                region=best.region,
                version=best.version,
                data=best.data,
                origin=str(best.origin),
            )
    raise RestoraError(
        f"reference table {name!r} has no version in force on {when.isoformat()} "
        f"for region {region or NATIONAL}"
    )


def iter_versions(name: str) -> Iterator[Version]:
    """Every version of a table, in file order."""
    yield from _table(name, _search_key()).versions


def missing_metadata() -> dict[str, list[str]]:
    """Tables lacking a required key (source, unit), for the completeness test."""
    out: dict[str, list[str]] = {}
    for name, tf in catalogue().items():
        lacking = [k for k in REQUIRED_KEYS if not tf.meta.get(k)]
        if lacking:
            out[name] = lacking
    return out
