"""Reading soil-sample tables (CSV) for the standards: headers, units, non-detects, validation.

The reader returns ``(samples, metadata)``: a :class:`SoilSamples` with concentrations in mg/kg
(one column per pollutant of the chosen standard) and a metadata dict with the file's SHA-256,
the units found and the warnings raised. Every problem with the input is an
:class:`~restora.errors.InputError` naming the file, the 1-based data row and the column.

Rules (also in docs/diagnosis-soil.md):

- Headers: ``sample_id``, ``ph``, ``land_use`` (GB 15618) or ``land_class`` (GB 36600), and one
  column per pollutant, English symbol or Chinese name (镉 汞 砷 铅 铬 铜 镍 锌 六价铬), optionally
  with a unit in brackets: ``Cd (mg/kg)``, ``镉(µg/kg)``. Other register columns (``mine_id``,
  ``site_id``, ``lon``, ``lat``, ``x``, ``y``, ``depth_m``, ``lab``, ``sampled_on``) are read and
  passed on; free-text ``notes``/``备注`` columns are ignored; any other column is an error.
- Units: mg/kg as is; other mass fractions (µg/g, µg/kg, g/kg, mg/g) are converted with a
  warning; ``ppm``/``ppb`` are refused because their basis (mass or volume) is unknown, unless
  written ``ppmw``/``ppm (w/w)``.
- Empty cells (or ``NA``, ``-``): not measured; left out of the class and the indices.
- Below detection: ``<x`` becomes ``x`` times ``fraction_of_lod`` (``soil/indices/non-detect``,
  0.5) and keeps ``x`` as its detection limit; ``ND``, ``<LOD``, ``未检出`` without a limit
  become ``value_without_lod`` (0). Both are flagged ``below_lod``.
- Plausibility: a value above its limit in ``soil/plausible-ranges`` (e.g. Pb 80 000 mg/kg, a
  ``[g/kg]`` column of mg/kg numbers) gives a warning naming file, row, column and value, and
  the likely unit mix-up; it does not block the import.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pint
from numpy.typing import NDArray

from restora import refdata
from restora.diagnosis import soil_plausibility
from restora.diagnosis.soil import label, load_standard
from restora.errors import InputError, Problem
from restora.inventory.censored import LESS_THAN, ND_TOKENS
from restora.inventory.schema import LAND_USE_CHOICES, SAMPLE_COLUMNS
from restora.units import ureg

NON_DETECT_TABLE = "soil/indices/non-detect"

# Nomenclature: the names users write for each pollutant code (not coefficients).
POLLUTANT_ALIASES: dict[str, tuple[str, ...]] = {
    "Cd": ("镉", "cadmium", "总镉"),
    "Hg": ("汞", "mercury", "总汞"),
    "As": ("砷", "arsenic", "总砷"),
    "Pb": ("铅", "lead", "总铅"),
    "Cr": ("铬", "chromium", "总铬", "Cr_total"),
    "Cu": ("铜", "copper", "总铜"),
    "Ni": ("镍", "nickel", "总镍"),
    "Zn": ("锌", "zinc", "总锌"),
    "Cr6": ("Cr(VI)", "CrVI", "Cr 6+", "Cr6+", "Cr(6+)", "六价铬", "hexavalent chromium"),
}
_POLLUTANT_BY_NAME = {
    a.lower(): code for code, names in POLLUTANT_ALIASES.items() for a in (code, *names)
}
IGNORED_COLUMNS = frozenset({"notes", "note", "remark", "remarks", "comment", "备注", "说明"})
LAND_CLASS_ALIASES = ("land_class", "用地类别", "用地分类", "建设用地类别", "land class")
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "-", "--", "—", "/", "null", "none"})
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_WITH_UNIT = re.compile(rf"^({_NUMBER})\s*(\S.*)$")
_HEADER_UNIT = re.compile(r"^(.+?)\s*[\(（\[]([^\(\)（）\[\]]*)[\)）\]]\s*$")


@dataclass(frozen=True)
class SoilSamples:
    """Samples read from a file, ready for :func:`restora.diagnosis.soil.classify`.

    ``concentration`` [mg/kg] has one column per entry of ``pollutants`` (NaN: not measured);
    ``land`` holds land-use codes (GB 15618) or land classes ``"1"``/``"2"`` (GB 36600);
    ``ph`` [pH units] is None when the file has no pH column (allowed for GB 36600).
    ``columns`` holds the other register columns found (``site_id``, ``lon``, ``x`` ...).
    ``detection_limit`` [mg/kg] holds the stated limit of each ``<x`` result (NaN elsewhere;
    None: not read), for :func:`restora.diagnosis.soil.classify`.
    """

    standard: str
    sample_id: NDArray[np.object_]
    pollutants: tuple[str, ...]
    concentration: NDArray[np.float64]
    censored: NDArray[np.bool_]
    land: NDArray[np.object_]
    ph: NDArray[np.float64] | None
    columns: dict[str, NDArray[Any]] = field(default_factory=dict)
    detection_limit: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return int(self.concentration.shape[0])


def _read_text(path: str | Path) -> tuple[str, bytes]:
    name = str(path)
    if name == "-":
        raw = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError("no such file", file=name)
        raw = p.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc), raw
        except UnicodeDecodeError:
            continue
    raise InputError("not UTF-8 or GB 18030 text", file=name)


def normalise_unit(unit: str) -> str:
    """A unit as pint reads it: ``µg/kg`` → ``ug/kg``, ``mg·kg-1`` → ``mg/kg``, drop "dry weight".

    ``ppm``/``ppb`` without a stated mass basis raise ``ValueError``.
    """
    u = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("−", "-")
    for tail in ("dry weight", "dry wt", "dw", "d.w.", "干重"):
        u = u.removesuffix(tail).strip()
    u = u.replace("·", " ").replace("⁻¹", "-1")
    u = re.sub(r"^(\w+)\s+(\w+)\s*-1$", r"\1/\2", u)
    compact = u.replace(" ", "")
    if compact in {"ppmw", "ppm(w/w)", "ppmw/w", "ppm(mass)", "ppmbymass", "ppm(m/m)"}:
        return "mg/kg"
    if compact in {"ppbw", "ppb(w/w)", "ppbw/w", "ppb(mass)", "ppbbymass", "ppb(m/m)"}:
        return "ug/kg"
    if compact.startswith(("ppm", "ppb")):
        raise ValueError(
            f"{unit!r}: ppm/ppb of unknown basis (mass or volume?); give mg/kg, or ppmw"
        )
    return compact


def to_mg_per_kg(unit: str) -> float:
    """Factor converting a mass fraction in ``unit`` to mg/kg (pint), e.g. ``ug/kg`` → 0.001."""
    u = normalise_unit(unit)
    try:
        q = ureg.Quantity(1.0, u)
        return float(q.to("mg/kg").magnitude)
    except (pint.errors.DimensionalityError, pint.errors.UndefinedUnitError) as exc:
        raise ValueError(f"{unit!r} is not a mass fraction such as mg/kg") from exc
    except Exception as exc:  # pint's parser raises assorted errors on garbage
        raise ValueError(f"{unit!r} is not a unit") from exc


def _field_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for col in SAMPLE_COLUMNS:
        for a in (col.name, *col.aliases):
            out[a.lower()] = col.name
    # x, y are projected coordinates [m] here, not lon/lat.
    out["x"], out["y"] = "x", "y"
    for a in LAND_CLASS_ALIASES:
        out[a.lower()] = "land_class"
    return out


def _parse_land_class(text: str) -> str | None:
    t = text.strip().lower()
    for code, words in (("1", ("1", "一", "first", "i")), ("2", ("2", "二", "second", "ii"))):
        for w in words:
            if t in {w, f"{w}.0", f"class {w}", f"class{w}", f"第{w}类", f"第{w}类用地", f"{w}类"}:
                return code
    return None


def read_samples(
    path: str | Path,
    standard: str = "gb15618",
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
    require_ph: bool | None = None,
) -> tuple[SoilSamples, dict[str, Any]]:
    """Read a soil-sample CSV for ``standard``.

    Parameters
    ----------
    path : str or Path
        CSV file (UTF-8 or GB 18030); ``-`` reads standard input.
    standard : {"gb15618", "gb36600"}
        Decides the pollutant columns and whether ``land_use`` or ``land_class`` is required.
    on : date or ISO string, optional
        Date for the non-detect rule and the standard's tables [date].
    region : str, optional
        6-digit GB/T 2260 code for regional tables.
    require_ph : bool, optional
        Whether pH is required (default: for GB 15618 only).

    Returns
    -------
    (SoilSamples, dict)
        The samples (concentrations in mg/kg) and metadata: ``file``, ``sha256``, ``rows``,
        ``units`` {pollutant: unit as written}, ``warnings`` [str], ``non_detect`` (the rule's
        table provenance), ``plausibility`` [dict] (see
        :func:`restora.diagnosis.soil_plausibility.check`; their messages are in ``warnings``
        too) and ``plausible_ranges`` (that table's provenance).

    Raises
    ------
    InputError
        Naming file, row and column for every problem found.
    """
    text, raw = _read_text(path)
    fname = "<stdin>" if str(path) == "-" else str(path)
    values = load_standard(standard, on, region)
    std = values.standard
    need_ph = (std == "gb15618") if require_ph is None else require_ph
    nd_t = refdata.get(NON_DETECT_TABLE, on=on, region=region)
    nd_fraction = float(nd_t.data["fraction_of_lod"])
    nd_value = float(nd_t.data["value_without_lod"])

    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty", file=fname) from exc
    except pd.errors.ParserError as exc:
        raise InputError(f"not a readable CSV table: {exc}", file=fname) from exc

    warnings: list[str] = []
    problems: list[Problem] = []
    fields = _field_aliases()
    field_cols: dict[str, str] = {}
    metal_cols: dict[str, tuple[str, str]] = {}  # code -> (header, unit)
    for header in df.columns:
        h = str(header).strip()
        key = h.lower()
        if key in fields:
            field_cols.setdefault(fields[key], header)
            continue
        if key in IGNORED_COLUMNS:
            continue
        name, unit = h, "mg/kg"
        if key not in _POLLUTANT_BY_NAME:
            m = _HEADER_UNIT.match(h)
            if m:
                name, unit = m.group(1).strip(), m.group(2).strip()
        code = _POLLUTANT_BY_NAME.get(name.lower())
        if code is None:
            problems.append(
                Problem(
                    f"unknown column {h!r}: not a pollutant of {label(std)} "
                    f"({', '.join(values.pollutants)}) nor a sample field "
                    f"(sample_id, ph, land_use, land_class, site_id, lon, lat, x, y ...)",
                    file=fname,
                    field=h,
                )
            )
            continue
        if code not in values.pollutants:
            warnings.append(
                f"{fname}: column {h!r} ignored: {code} has no value in {label(std)} "
                f"(its pollutants are {', '.join(values.pollutants)})"
            )
            continue
        if code in metal_cols:
            problems.append(
                Problem(
                    f"{code} appears twice (also as {metal_cols[code][0]!r})", file=fname, field=h
                )
            )
            continue
        metal_cols[code] = (header, unit)
    if problems:
        raise InputError(problems=problems)

    required = ["sample_id", "land_use" if std == "gb15618" else "land_class"]
    if need_ph:
        required.append("ph")
    for req in required:
        if req not in field_cols:
            raise InputError(f"the column {req!r} is missing", file=fname, field=req)
    if not metal_cols:
        raise InputError(
            f"no pollutant column of {label(std)} ({', '.join(values.pollutants)})",
            file=fname,
        )
    n = len(df)
    if n == 0:
        raise InputError("the file has a header but no samples", file=fname)
    rows = np.arange(1, n + 1)

    # sample_id
    sid = df[field_cols["sample_id"]].astype(str).str.strip()
    for r in rows[(sid == "").to_numpy()][:50]:
        problems.append(Problem("sample_id is empty", file=fname, row=int(r), field="sample_id"))
    dup = sid[sid.duplicated() & (sid != "")]
    if len(dup):
        warnings.append(f"{fname}: duplicate sample_id(s): {', '.join(dup.unique()[:10])}")

    # pH
    ph: NDArray[np.float64] | None = None
    if "ph" in field_cols:
        col = field_cols["ph"]
        s = df[col].astype(str).str.strip()
        ph_num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
        empty = (s == "").to_numpy()
        for r in rows[np.isnan(ph_num) & ~empty][:50]:
            problems.append(
                Problem(f"pH {s.iloc[r - 1]!r} is not a number", file=fname, row=int(r), field=col)
            )
        if need_ph:
            for r in rows[empty][:50]:
                problems.append(
                    Problem("pH is missing (GB 15618 needs it)", file=fname, row=int(r), field=col)
                )
        out_of_range = ~np.isnan(ph_num) & ((ph_num < 0) | (ph_num > 14))
        for r in rows[out_of_range][:50]:
            problems.append(
                Problem(f"pH {ph_num[r - 1]:g} is outside 0-14", file=fname, row=int(r), field=col)
            )
        ph = ph_num

    # land use (GB 15618) or land class (GB 36600)
    if std == "gb15618":
        col = field_cols["land_use"]
        s = df[col].astype(str).str.strip()
        land = s.str.lower().map(LAND_USE_CHOICES).to_numpy(dtype=object)
        for r in rows[pd.isna(land) | (land == "construction")][:50]:
            raw_v = s.iloc[r - 1]
            msg = (
                f"land use {raw_v!r} is construction land: use --standard gb36600"
                if land[r - 1] == "construction"
                else f"land use {raw_v!r} is not paddy, orchard or other (水田, 果园, 其他/旱地)"
            )
            problems.append(Problem(msg, file=fname, row=int(r), field=col))
    else:
        col = field_cols["land_class"]
        s = df[col].astype(str)
        uniq = {u: _parse_land_class(u) for u in s.unique()}
        land = s.map(uniq).to_numpy(dtype=object)
        for r in rows[pd.isna(land)][:50]:
            problems.append(
                Problem(
                    f"land class {s.iloc[r - 1]!r} is not 1 or 2 (第一类/第二类用地)",
                    file=fname,
                    row=int(r),
                    field=col,
                )
            )

    # pollutants
    pollutants = tuple(p for p in values.pollutants if p in metal_cols)
    absent = [p for p in values.pollutants if p not in metal_cols]
    if absent:
        warnings.append(f"{fname}: no column for {', '.join(absent)}: not assessed")
    conc = np.full((n, len(pollutants)), np.nan)
    censored = np.zeros((n, len(pollutants)), dtype=bool)
    detection_limit = np.full((n, len(pollutants)), np.nan)
    units: dict[str, str] = {}
    for j, p in enumerate(pollutants):
        header, unit = metal_cols[p]
        units[p] = unit
        try:
            factor = to_mg_per_kg(unit)
        except ValueError as exc:
            problems.append(Problem(str(exc), file=fname, field=str(header)))
            continue
        if normalise_unit(unit) != "mg/kg":
            warnings.append(
                f"{fname}: column {str(header)!r}: converted from {unit} to mg/kg (x {factor:g})"
            )
        s = df[header].astype(str).str.strip()
        num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        missing = s.str.lower().isin(MISSING_TOKENS).to_numpy()
        other = np.isnan(num) & ~missing
        for r in rows[other]:
            cell = s.iloc[r - 1]
            value, flag, limit, err = _parse_cell(cell, unit, nd_fraction, nd_value)
            if err is not None:
                problems.append(Problem(err, file=fname, row=int(r), field=str(header)))
                continue
            num[r - 1] = value / factor  # cell already in mg/kg; undone below
            censored[r - 1, j] = flag
            detection_limit[r - 1, j] = limit
        conc[:, j] = num * factor
        negative = conc[:, j] < 0
        for r in rows[negative][:50]:
            problems.append(
                Problem(
                    f"negative concentration {s.iloc[r - 1]!r}",
                    file=fname,
                    row=int(r),
                    field=str(header),
                )
            )
        if missing.any():
            first = ", ".join(str(r) for r in rows[missing][:10])
            warnings.append(
                f"{fname}: column {str(header)!r}: {int(missing.sum())} empty cell(s) "
                f"(rows {first}{' ...' if missing.sum() > 10 else ''}) not measured: "
                "left out of the class and the indices"
            )
        if censored[:, j].any():
            warnings.append(
                f"{fname}: column {str(header)!r}: {int(censored[:, j].sum())} result(s) "
                f"below detection: '<x' taken as {nd_fraction:g} x, 'ND' as {nd_value:g}"
            )
    if problems:
        raise InputError(problems=problems)
    nothing = np.isnan(conc).all(axis=1)
    for r in rows[nothing][:50]:
        problems.append(
            Problem(f"no pollutant of {label(std)} measured in this sample", file=fname, row=int(r))
        )
    if problems:
        raise InputError(problems=problems)

    columns: dict[str, NDArray[Any]] = {}
    for name in ("mine_id", "site_id", "lab", "sampled_on", "depth_m", "lon", "lat", "x", "y"):
        if name not in field_cols:
            continue
        s = df[field_cols[name]].astype(str).str.strip()
        if name in {"depth_m", "lon", "lat", "x", "y"}:
            num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
            for r in rows[np.isnan(num) & (s != "").to_numpy()][:50]:
                problems.append(
                    Problem(
                        f"{s.iloc[r - 1]!r} is not a number",
                        file=fname,
                        row=int(r),
                        field=field_cols[name],
                    )
                )
            columns[name] = num
        else:
            columns[name] = s.to_numpy(dtype=object)
    if problems:
        raise InputError(problems=problems)

    ranges = soil_plausibility.load_ranges(on=on, region=region)
    # a result below detection is a limit, not a measured magnitude: not checked
    implausible = soil_plausibility.check(
        np.where(censored, np.nan, conc),
        pollutants,
        ranges,
        file=fname,
        columns=[str(metal_cols[p][0]) for p in pollutants],
        units=[units[p] for p in pollutants],
        sample_ids=sid.tolist(),
    )
    warnings.extend(w["message"] for w in implausible)

    samples = SoilSamples(
        standard=std,
        sample_id=sid.to_numpy(dtype=object),
        pollutants=pollutants,
        concentration=conc,
        censored=censored,
        land=np.asarray(land, dtype=object),
        ph=ph,
        columns=columns,
        detection_limit=detection_limit,
    )
    meta = {
        "file": fname,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "rows": n,
        "units": units,
        "warnings": warnings,
        "non_detect": nd_t.provenance(),
        "plausibility": implausible,
        "plausible_ranges": ranges.table.provenance(),
    }
    return samples, meta


def _parse_cell(
    cell: str, column_unit: str, nd_fraction: float, nd_value: float
) -> tuple[float, bool, float, str | None]:
    """Value [mg/kg], below-LOD flag, stated detection limit [mg/kg] (NaN: none) and error
    message of a non-numeric cell."""
    low = cell.strip().lower()
    hint = "(give a number, leave empty if not measured, or ND / <LOD / <x for below detection)"
    if low in ND_TOKENS:
        return nd_value, True, np.nan, None
    m = LESS_THAN.match(cell.strip())
    if m:
        unit = m.group(2).strip() or column_unit
        try:
            limit = float(m.group(1)) * to_mg_per_kg(unit)
        except ValueError as exc:
            return np.nan, False, np.nan, f"{cell!r}: {exc}"
        return limit * nd_fraction, True, limit, None
    m = _WITH_UNIT.match(cell.strip())
    if m:
        try:
            return float(m.group(1)) * to_mg_per_kg(m.group(2)), False, np.nan, None
        except ValueError as exc:
            return np.nan, False, np.nan, f"{cell!r}: {exc}"
    return np.nan, False, np.nan, f"{cell!r} is not a number {hint}"
