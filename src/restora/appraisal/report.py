"""The bank-grade report: HTML and PDF (WeasyPrint) from ``appraisal.json`` only.

The appraisal computes; this module lays out (InVEST's ``reporter.py`` + template pattern). The
HTML comes from the Jinja2 templates in ``appraisal/templates`` (autoescaped): ``report.html.j2``
lists the sections in order, each section is one partial ``sections/<name>.html.j2``. What the
templates need beyond the document — number formatting, labels of codes, notes recorded in
English — comes from the filters and globals set here.

Every figure printed is a value of the appraisal document, scaled to the report's unit and
rounded; each sits in ``<span class="n" data-scale="…" data-decimals="…">`` so that a reader
(or a test) can trace it back: printed value = round(JSON value × scale, decimals).
Codes are printed through the label catalogue (:mod:`restora.labels`), never raw. Free text the
computation recorded in English (methods, flags, notes) is printed inline in the English report;
the Chinese report gives a Chinese method note and prints the recorded text in appendix B.
Chinese text is set in Noto Sans CJK, loaded with ``@font-face`` from the font file that
fontconfig finds (no web font, no network); WeasyPrint embeds the subset it uses.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from restora.appraisal.charts import draw_all, money_scale
from restora.appraisal.fonts import CJK_FAMILY, font_face_src
from restora.labels import humanize, label, lookup

#: The sections of the report body, in order; each is ``templates/sections/<name>.html.j2``.
#: A new section is one template file and its name here.
SECTIONS: tuple[str, ...] = (
    "summary",
    "price_basis",
    "map",
    "diagnosis",
    "plan_cost",
    "value",
    "stages",
    "revenue",
    "cashflow",
    "financing",
    "structure",
    "risk",
    "modes",
)
#: The appendices, after the body: rule codes (A), notes as recorded (B), tables and inputs (C),
#: the financing structure in full (D, landscape pages; it cites no note, so it may follow B).
APPENDICES: tuple[str, ...] = (
    "appendix_rules",
    "appendix_notes",
    "appendix_tables",
    "appendix_structure",
)


class Fmt:
    """Number formatting of one report (language decides the money unit)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.k = money_scale(lang)

    def num(
        self, v: Any, *, scale: float = 1.0, decimals: int = 0, suffix: str = "", sep: bool = True
    ) -> Markup:
        if v is None or isinstance(v, bool) or (isinstance(v, float) and v != v):
            return Markup("–")
        x = float(v) * scale
        text = f"{x:,.{decimals}f}" if sep else f"{x:.{decimals}f}"
        if text in ("-0", "-0.0", "-0.00") or (text.startswith("-0.") and float(text) == 0):
            text = text[1:]
        return Markup(
            f'<span class="n" data-scale="{scale:g}" data-decimals="{decimals}">{text}</span>'
        ) + escape(suffix)

    def money(self, v: Any) -> Markup:
        return self.num(v, scale=self.k, decimals=1 if self.lang == "zh" else 2)

    def pct(self, v: Any, decimals: int = 1) -> Markup:
        return self.num(v, scale=100.0, decimals=decimals, suffix="%")

    def ratio(self, v: Any, decimals: int = 2) -> Markup:
        return self.num(v, decimals=decimals)

    def area(self, v: Any) -> Markup:
        return self.num(v, decimals=2)

    def year(self, v: Any) -> Markup:
        """A year or a count of years: traceable, without a thousands separator."""
        return self.num(v, sep=False)


# how a scalar of an instrument's summary or schedule is printed, by what its key names
RATE_KEYS = ("rate", "irr", "ltv", "share", "fraction", "coupon", "yield", "probability",
             "p_exhausted")  # fmt: skip
COVERAGE_KEYS = ("dscr", "llcr", "coverage", "ratio", "multiple", "leverage", "floor",
                 "threshold")  # fmt: skip
MONEY_KEYS = (
    "amount", "principal", "interest", "payment", "cash", "value", "capacity", "cost", "revenue",
    "outstanding", "repaid", "forfeited", "service", "loss", "fund", "total", "price", "cny",
    "income", "dividend", "topup", "capex", "premium", "claims", "exposure", "fees", "pays",
    "pv", "net", "subsid", "deduction", "residual", "due", "paid", "arrears", "minimum", "taxes",
    "benefit", "surplus", "cfads",
)  # fmt: skip
COUNT_KEYS = ("year", "years", "draws", "seed", "period", "rank")


def value_kind(key: str, v: Any) -> str:
    """How an instrument's value prints: text, bool, count, rate, coverage, money or number."""
    if isinstance(v, bool):
        return "bool"
    if v is None or isinstance(v, str):
        return "text"
    k = key.lower()
    if k == "value":  # a verified indicator value (performance-bond events), in its own unit
        return "number"
    if k in COUNT_KEYS or k.endswith("_year") or k.endswith("_years"):
        return "count"
    if any(t in k for t in COVERAGE_KEYS):
        return "coverage"
    if any(t in k for t in RATE_KEYS):
        return "rate"
    if any(t in k for t in MONEY_KEYS):
        return "money"
    return "number"


IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def as_words(text: str, lang: str) -> str:
    """Recorded text with the identifiers it quotes (``outcome_payment``) as their labels."""
    return IDENTIFIER.sub(lambda m: label(m.group(0), lang), text)


@dataclass
class Notes:
    """Text the computation recorded in English (methods, flags, notes, reasons).

    ``cite`` prints it where it belongs in the English report; in the Chinese report (and, with
    ``appendix=True``, in both: the method strings, which name modules and keys) the body cites
    it as "附注 B-n" / "note B-n" and appendix B prints it.
    """

    lang: str
    items: list[tuple[str, str]] = field(default_factory=list)

    def cite(self, section: str, text: Any, appendix: bool = False) -> Markup:
        if text is None or str(text).strip() == "":
            return Markup("")
        text = str(text)
        if self.lang == "en" and not appendix:
            return escape(as_words(text, self.lang))
        for i, (sec, t) in enumerate(self.items):
            if sec == section and t == text:
                return self._ref(i + 1)
        self.items.append((section, text))
        return self._ref(len(self.items))

    def _ref(self, n: int) -> Markup:
        return Markup('<span class="noteref">{}</span>').format(_phrase(self.lang, "note_ref", n=n))


@dataclass
class Labeller:
    """Labels of codes in one language; remembers codes the catalogue lacks (tests read it)."""

    lang: str
    missing: set[tuple[str, str]] = field(default_factory=set)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def __call__(self, code: Any, category: str | None = None) -> str:
        if code is None or code == "":
            return "–"
        found = lookup(code, self.lang, category)
        self.seen.add(
            (category or "", "true" if code is True else "false" if code is False else str(code))
        )
        if found is None:
            self.missing.add((category or "", str(code)))
            return humanize(code)
        return found

    def user(self, name: Any, category: str | None = None) -> str:
        """A name the project file gives (tranche, indicator, driver): its label where the
        catalogue has one, else the name as words."""
        if name is None or name == "":
            return "–"
        found = lookup(name, self.lang, category) if category else None
        return found if found is not None else humanize(name)


def _phrase(lang: str, key: str, **kw: Any) -> Markup:
    """A phrase of the report (catalogue category ``report``) with ``{name}`` fields filled."""
    text = lookup(key, lang, "report")
    if text is None:
        raise KeyError(f"report phrase {key!r} is not in the label catalogue")
    out = escape(text)
    for k, v in kw.items():
        out = out.replace("{" + k + "}", escape(v))
    return out


def _css_string(text: Any) -> Markup:
    """A CSS string literal (for ``@page`` margin boxes)."""
    s = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return Markup(f'"{s}"')


@functools.cache
def environment() -> jinja2.Environment:
    """The report's Jinja2 environment: package templates, autoescape, strict undefined."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("restora.appraisal", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters["css_string"] = _css_string
    env.globals["value_kind"] = value_kind
    return env


def _img(path: Path | None) -> str | None:
    if path is None:
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def stage_runs(years: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive years of one value stage: ``{stage_code, first, last}`` (rows of the JSON)."""
    runs: list[dict[str, Any]] = []
    for row in years:
        if runs and runs[-1]["stage_code"] == row["stage_code"]:
            runs[-1]["last"] = row
        else:
            runs.append({"stage_code": row["stage_code"], "first": row, "last": row})
    return runs


LOCATION_INPUTS = (
    ("town_km", "loc_town"),
    ("main_road_km", "loc_road"),
    ("population_per_km2", "loc_density"),
)


def location_notes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per mine, the location inputs that were missing (neutral terms) and whether the
    coefficient fell back to 1.0 because all of them were.

    The distance to an ecological function area is never computed (the method says so); it
    is listed only when another input is missing too.
    """
    out = []
    for r in rows:
        missing = [phrase for key, phrase in LOCATION_INPUTS if r.get(key) is None]
        if missing:
            if r.get("ecological_function_area_km") is None:
                missing.append("loc_eco")
            fallback = all(r.get(key) is None for key, _ in LOCATION_INPUTS)
            out.append({"mine_id": r["mine_id"], "missing": missing, "fallback": fallback})
    return out


# --- price years (issue 11, item 10) -----------------------------------------------------------

#: Stages whose money is nominal (CNY of the year paid) unless their section states its own
#: ``price_basis``: the revenue streams by year, the cash flows built on them (cost escalated
#: from its price year), the financing instruments and structure, the risk run.
NOMINAL_STAGES: tuple[str, ...] = ("revenue", "cashflow", "financing", "risk")


@dataclass(frozen=True)
class PriceBasis:
    """The price basis of a group of money figures.

    ``kind`` is ``real`` (constant prices of ``year``), ``nominal`` (CNY of the year paid) or
    ``source`` (as the source gives it, at ``year`` when the source states one, not converted).
    """

    kind: str
    year: int | None = None


def _basis_of(stated: dict[str, Any]) -> PriceBasis:
    kind = str(stated.get("basis") or "nominal")
    year = stated.get("price_year")
    if kind == "real" and year is None:  # a real basis without its year: the source's prices
        return PriceBasis("source", stated.get("source_price_year"))
    return PriceBasis(kind, None if year is None else int(year))


def price_bases(stages: dict[str, Any]) -> dict[str, PriceBasis]:
    """The price basis of each group of money figures, read from the appraisal document.

    Parameters
    ----------
    stages : dict
        ``appraisal.json["stages"]``.

    Returns
    -------
    dict
        ``cost`` (real, at ``cost.price_year``), ``value`` (``value.price_basis``: real at its
        ``price_year``, or the source's prices when that is null), ``gep`` (real at
        ``value.gep.price_year``, else as ``value``), and each of :data:`NOMINAL_STAGES`
        (its ``price_basis`` when the section states one, else nominal).
    """
    cost_year = (stages.get("cost") or {}).get("price_year")
    out = {"cost": PriceBasis("real", cost_year) if cost_year is not None else PriceBasis("source")}
    value = stages.get("value") or {}
    if value.get("price_basis"):
        out["value"] = _basis_of(value["price_basis"])
    elif value.get("price_year") is not None:  # documents written before price_basis existed
        out["value"] = PriceBasis("real", int(value["price_year"]))
    else:
        out["value"] = PriceBasis("source")
    gep_year = (value.get("gep") or {}).get("price_year")
    out["gep"] = PriceBasis("real", int(gep_year)) if gep_year is not None else out["value"]
    for name in NOMINAL_STAGES:
        stated = (stages.get(name) or {}).get("price_basis")
        out[name] = _basis_of(stated) if stated else PriceBasis("nominal")
    return out


@dataclass
class MoneyUnit:
    """The unit and price basis of money headers: ``mu('cost')`` → `` [万元, 2023 年不变价]``."""

    lang: str
    bases: dict[str, PriceBasis]

    def basis(self, group: str) -> Markup:
        """The basis of a group in words (``2023 年不变价``, ``名义值（含价格上涨）`` …)."""
        b = self.bases[group]
        if b.kind == "nominal":
            return _phrase(self.lang, "price_basis_nominal")
        if b.kind == "real" and b.year is not None:
            return _phrase(self.lang, "price_basis_cost", year=b.year)
        if b.year is not None:
            return _phrase(self.lang, "price_basis_source", year=b.year)
        return _phrase(self.lang, "price_basis_source_unstated")

    def __call__(self, group: str, per_year: bool = False) -> Markup:
        unit = _phrase(self.lang, "money_unit_yr" if per_year else "money_unit")
        return Markup(" [{}, {}]").format(unit, self.basis(group))


def milestone_years(years: list[int], works_end: list[int], most: int = 9) -> list[int]:
    """Years to show of a value path that ramps up after the works: the first year, the year
    the last works finish, then 1, 2, 3, 5, 10, 15 … years after it, and the last year.

    >>> milestone_years(list(range(2026, 2046)), [2027, 2028])
    [2026, 2028, 2029, 2030, 2031, 2033, 2038, 2043, 2045]
    """
    if not years:
        return []
    first, last = min(years), max(years)
    end = max([y for y in works_end if first <= y <= last], default=first)
    want = [first, end, *(end + k for k in (1, 2, 3, 5, 10, 15, 20, 25, 30, 40, 50))]
    picked = sorted({y for y in want if y in set(years)})[: most - 1]
    return sorted({*picked, last})


# --- flags through their rule codes -----------------------------------------------------------

FLAG_CODE = re.compile(r"^([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+):\s")
#: Label categories of the rule codes that flags start with, by prefix.
RULE_CATEGORIES = {"FIN": "finance_rule", "MODE": "mode_rule"}


def flag_groups(items: list[str] | None) -> list[dict[str, Any]]:
    """Flags grouped by the rule code they start with, in order of first appearance.

    Returns ``[{"code", "category", "texts"}]``; ``code`` and ``category`` are None for flags
    that start with no rule code of a labelled family (those are cited one by one).

    >>> [g["code"] for g in flag_groups(["FIN-PLEDGE-DSCR: y1", "FIN-PLEDGE-DSCR: y2", "x"])]
    ['FIN-PLEDGE-DSCR', None]
    """
    groups: list[dict[str, Any]] = []
    for text in items or []:
        m = FLAG_CODE.match(text)
        code = m.group(1) if m else None
        category = RULE_CATEGORIES.get(code.split("-", 1)[0]) if code else None
        if category is None:
            code = None
        for g in groups:
            if g["code"] == code:
                g["texts"].append(text)
                break
        else:
            groups.append({"code": code, "category": category, "texts": [text]})
    return groups


# --- the combined financing structure (issue 11, item 11) --------------------------------------

#: Column groups of the waterfall in the body, in the order of payment: (priority, keys, always).
#: A group shows when ``always`` or when some year has a non-zero value in it; when more than
#: :data:`WATERFALL_BODY_COLUMNS` would show, the groups of the lowest priority (largest number)
#: go to appendix D only, where every column is printed.
WATERFALL_BODY: tuple[tuple[int, tuple[str, ...], bool], ...] = (
    (0, ("cfads_cny",), True),
    (3, ("cash_from_construction_cny",), False),
    (1, ("sponsor_injection_operating_cny",), False),
    (0, ("senior_due_cny", "senior_paid_cny"), False),
    (2, ("dsra_draw_cny",), False),
    (4, ("dsra_topup_cny",), False),
    (3, ("dsra_balance_cny",), False),
    (0, ("bonds_due_cny", "bonds_paid_cny"), False),
    (2, ("investor_payments_cny",), False),
    (1, ("village_guaranteed_cny",), False),
    (3, ("village_dividend_cny",), False),
    (2, ("sponsor_village_topup_cny",), False),
    (0, ("distribution_to_equity_cny",), True),
    (0, ("arrears_end_cny",), False),
    (1, ("sponsor_injection_to_cure_cny",), False),
    (0, ("dscr_total",), True),
)
WATERFALL_BODY_COLUMNS = 12
#: The whole waterfall (appendix D), in two tables: the cash in, and who is paid from it.
WATERFALL_IN: tuple[str, ...] = (
    "revenue_cny", "opex_cny", "lifecycle_cost_cny", "cfads_cny", "earmarked_cny",
    "cash_from_construction_cny", "sponsor_injection_operating_cny", "dsra_draw_cny",
    "dsra_release_cny", "investor_payments_cny", "conservation_residual_cny",
)  # fmt: skip
WATERFALL_OUT: tuple[str, ...] = (
    "senior_due_cny", "senior_paid_cny", "dsra_topup_cny", "dsra_balance_cny", "bonds_due_cny",
    "bonds_paid_cny", "distributable_cny", "village_guaranteed_cny", "village_dividend_cny",
    "sponsor_village_topup_cny", "sponsor_priority_return_cny", "sponsor_dividend_cny",
    "distribution_to_equity_cny", "arrears_end_cny", "sponsor_injection_to_cure_cny",
    "dscr_total",
)  # fmt: skip
#: The waterfall's totals (``waterfall.totals``) under the column they add up.
WATERFALL_TOTALS = {
    "cfads_cny": "cfads_cny",
    "earmarked_cny": "earmarked_cny",
    "senior_paid_cny": "senior_debt_cny",
    "bonds_paid_cny": "bonds_cny",
    "distribution_to_equity_cny": "equity_cny",
}


def _nonzero(rows: list[dict[str, Any]], key: str) -> bool:
    return any(isinstance(r.get(key), (int, float)) and r.get(key) for r in rows)


def waterfall_columns(rows: list[dict[str, Any]], most: int = WATERFALL_BODY_COLUMNS) -> list[str]:
    """The waterfall's columns for the body: the groups of :data:`WATERFALL_BODY` that carry
    money, the most important first when there are more than ``most`` columns."""
    shown = [g for g in WATERFALL_BODY if g[2] or any(_nonzero(rows, k) for k in g[1])]
    while sum(len(g[1]) for g in shown) > most and any(g[0] > 0 for g in shown):
        worst = max(g[0] for g in shown)
        drop = [g for g in shown if g[0] == worst][-1]
        shown.remove(drop)
    return [k for g in shown for k in g[1]]


def nonzero_columns(rows: list[dict[str, Any]], keys: tuple[str, ...], keep: tuple[str, ...] = ()):
    """Of ``keys``, those some row gives a non-zero number (and those in ``keep``)."""
    return [k for k in keys if k in keep or _nonzero(rows, k)]


def cell_kind(key: str, v: Any) -> str:
    """How a value of the structure prints: bool, text, count, money, rate or coverage."""
    if isinstance(v, bool):
        return "bool"
    if v is None or isinstance(v, str):
        return "text"
    if key in ("year", "period", "rank", "instrument_year") or key.endswith(("_year", "_years")):
        return "count"
    if key.endswith("_cny"):
        return "money"
    if key in ("probability", "equity_share") or key.endswith("_rate"):
        return "rate"
    return "coverage"


def render_html(
    doc: dict[str, Any],
    lang: str,
    chart_dir: Path,
    font_file: str | None = None,
    *,
    labeller: Labeller | None = None,
) -> str:
    """The report as one self-contained HTML document (charts inlined as PNG data URIs).

    Parameters
    ----------
    doc : dict
        The appraisal document (``appraisal.json``, schema ``restora.appraisal/1``).
    lang : {"zh", "en"}
        Language of the report.
    chart_dir : pathlib.Path
        Folder the charts are drawn into (``<name>.png``).
    font_file : str, optional
        The ``src`` of the CJK ``@font-face`` (:func:`restora.appraisal.fonts.font_face_src`).
    labeller : Labeller, optional
        Collects the codes the catalogue lacks (tests pass one and check it stays empty).
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be zh or en, not {lang!r}")
    lbl = labeller or Labeller(lang)
    bases = price_bases(doc["stages"])
    charts = {name: _img(p) for name, p in draw_all(doc, lang, chart_dir).items()}
    project = doc["project"]
    context = {
        "doc": doc,
        "st": doc["stages"],
        "p": project,
        "lang": lang,
        "f": Fmt(lang),
        "lbl": lbl,
        "t": functools.partial(_phrase, lang),
        "notes": Notes(lang),
        "charts": charts,
        "fictional": project.get("fictional") is True,
        "title": project["name"] if lang == "zh" else (project.get("name_en") or project["name"]),
        "sections": SECTIONS,
        "appendices": APPENDICES,
        "cjk_family": CJK_FAMILY,
        "font_file": font_file,
        "stage_runs": stage_runs,
        "location_notes": location_notes,
        "bases": bases,
        "mu": MoneyUnit(lang, bases),
        "milestone_years": milestone_years,
        "flag_groups": flag_groups,
        "waterfall_columns": waterfall_columns,
        "nonzero_columns": nonzero_columns,
        "cell_kind": cell_kind,
        "WATERFALL_IN": WATERFALL_IN,
        "WATERFALL_OUT": WATERFALL_OUT,
        "WATERFALL_TOTALS": WATERFALL_TOTALS,
    }
    return environment().get_template("report.html.j2").render(context)


def write_report(
    doc: dict[str, Any], out_dir: Path, lang: str, *, pdf: bool = True
) -> dict[str, Path]:
    """Write ``report-<lang>.html`` (and ``report-<lang>.pdf``) into ``out_dir``.

    Returns
    -------
    dict
        ``{"html": path, "pdf": path}`` (pdf absent when ``pdf`` is false).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    font = font_face_src()
    text = render_html(doc, lang, out_dir / "charts", font)
    paths = {"html": out_dir / f"report-{lang}.html"}
    paths["html"].write_text(text, encoding="utf-8")
    if pdf:
        import logging

        from weasyprint import HTML

        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        logging.getLogger("fontTools").setLevel(logging.ERROR)
        paths["pdf"] = out_dir / f"report-{lang}.pdf"
        HTML(string=text, base_url=str(out_dir)).write_pdf(paths["pdf"])
    return paths
