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
    "map",
    "diagnosis",
    "plan_cost",
    "value",
    "stages",
    "revenue",
    "cashflow",
    "financing",
    "risk",
    "modes",
)
#: The appendices, after the body (rule codes, notes as recorded, tables and inputs).
APPENDICES: tuple[str, ...] = ("appendix_rules", "appendix_notes", "appendix_tables")


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
COUNT_KEYS = ("year", "years", "draws", "seed")


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
