"""Chinese and English labels of the codes Restora emits (one catalogue: ``labels.yaml``).

Codes are the values the domain packages write into their results — site kinds
(``tailings_pond``), soil classes (``safe_utilization``), phases, cost items, ESV services, GEP
indicators, instrument keys, rule codes of the mode rules … — grouped by category. The report,
the CLI and the web UI print ``label(code, lang, category)`` instead of the code. The catalogue
is data: adding a code means adding a line to ``labels.yaml`` (a test checks that every entry
has both languages and that the codes of the reference tables are all there).

>>> label("tailings_pond", "zh", "site_kind")
'尾矿库'
>>> label("tailings_pond", "en")
'tailings pond'
>>> label("no_such_code", "en")
'no such code'
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

LANGS = ("zh", "en")
CATALOGUE = "labels.yaml"


@functools.cache
def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    """The whole catalogue: ``{category: {code: {"zh": …, "en": …}}}``."""
    text = resources.files("restora").joinpath(CATALOGUE).read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return {
        str(cat): {str(code): dict(pair) for code, pair in entries.items()}
        for cat, entries in data.items()
    }


@functools.cache
def _flat() -> dict[str, dict[str, str] | None]:
    """Code → labels across categories; None where categories disagree on the labels."""
    out: dict[str, dict[str, str] | None] = {}
    for entries in catalogue().values():
        for code, pair in entries.items():
            if code in out and out[code] != pair:
                out[code] = None
            else:
                out.setdefault(code, pair)
    return out


def lookup(code: Any, lang: str, category: str | None = None) -> str | None:
    """The label of ``code`` in ``lang``, or None when the catalogue has none.

    Parameters
    ----------
    code : str
        The code (``tailings_pond``, ``MODE-SAFETY-01`` …); booleans are looked up as
        ``"true"``/``"false"``.
    lang : {"zh", "en"}
        Language.
    category : str, optional
        The vocabulary (``site_kind``, ``phase`` …). Without it, the code is looked up across
        categories and found only where all categories holding it agree on its labels
        (``severe`` is a zone class and a pollution level with different labels: name the
        category).
    """
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}, not {lang!r}")
    if isinstance(code, bool):
        code = "true" if code else "false"
    key = str(code)
    pair = _flat().get(key) if category is None else catalogue().get(category, {}).get(key)
    return None if pair is None else pair[lang]


def humanize(code: Any) -> str:
    """A code as words: underscores to spaces (``leave_as_is`` → ``leave as is``)."""
    return str(code).replace("_", " ")


def label(code: Any, lang: str, category: str | None = None) -> str:
    """The label of ``code`` in ``lang``; the code as words when the catalogue has none.

    See :func:`lookup` for the parameters. Unknown codes (a user's own cost item, a tranche
    name) are printed with underscores as spaces, never as a raw identifier.
    """
    found = lookup(code, lang, category)
    return humanize(code) if found is None else found


def codes(category: str) -> set[str]:
    """The codes of one category of the catalogue."""
    return set(catalogue()[category])
