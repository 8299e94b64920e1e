"""The web UI's two languages: 中文 (``zh_CN``, the default) and English (``en``).

Every text of a page is a message of the templates (``{% trans %}…{% endtrans %}``, ``_("…")``)
or of this package's Python (marked with :func:`N_`), whose message id is the English text.
The catalogues are gettext ``.po`` files under ``web/locale/<locale>/LC_MESSAGES/messages.po``,
read with Babel and compiled in memory at start (no build step, no ``.mo`` to commit); codes of
the domain (site kinds, soil classes …) are labelled from :mod:`restora.labels` instead.

The language of a request: the ``restora_lang`` cookie (set by the 中文 / English switch, see
:func:`restora.service.web.pages.switch_language`), else the browser's ``Accept-Language``, else
Chinese. ``python -m restora.service.web.i18n`` re-extracts the messages and merges them into
both catalogues (new messages come in untranslated: tests/web/test_i18n.py fails until each has
its translation).
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATES_DIR = HERE.parent / "templates"
LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
COOKIE = "restora_lang"
#: HTML ``lang`` and :mod:`restora.labels` language of each locale
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
LABEL_LANG = {"zh_CN": "zh", "en": "en"}
JINJA_EXTENSIONS = "jinja2.ext.i18n"


def N_(message: str) -> str:
    """Mark a message of Python code for extraction; translate it with ``_()`` where shown."""
    return message


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(locale: str) -> Catalog:
    """The ``.po`` catalogue of ``locale``."""
    with po_path(locale).open("rb") as fh:
        return read_po(fh, locale=locale)


@functools.cache
def translations(locale: str) -> Translations:
    """Translations of ``locale``, compiled in memory from its ``.po`` file."""
    buf = io.BytesIO()
    write_mo(buf, read_catalog(locale))
    buf.seek(0)
    return Translations(buf, domain="messages")


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The locale of a request: the cookie's, else the first of Accept-Language we have.

    Examples
    --------
    >>> negotiate("en", "zh-CN"), negotiate(None, "en-GB,en;q=0.9"), negotiate(None, None)
    ('en', 'en', 'zh_CN')
    >>> negotiate("fr", "fr-FR,zh;q=0.5")
    'zh_CN'
    """
    if cookie in LOCALES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def extract() -> Iterator[tuple[str, str, int]]:
    """Every message id of the templates and of this package: ``(msgid, file, line)``."""
    method_map = [("**.html", "jinja2"), ("**.txt", "jinja2")]
    options = {"**.html": {"extensions": JINJA_EXTENSIONS}, "**.txt": {"extensions": ""}}
    for fname, line, msg, _comments, _ctx in extract_from_dir(
        str(TEMPLATES_DIR), method_map, options
    ):
        yield from _ids(msg, f"templates/{fname}", line)
    for fname, line, msg, _comments, _ctx in extract_from_dir(
        str(HERE), [("**.py", "python")], keywords={"N_": None, "_": None}
    ):
        yield from _ids(msg, f"web/{fname}", line)


def _ids(msg: str | tuple[str, ...], fname: str, line: int) -> Iterator[tuple[str, str, int]]:
    for m in msg if isinstance(msg, tuple) else (msg,):
        if m:
            yield m, fname, line


def untranslated(locale: str, msgids: set[str]) -> list[str]:
    """The message ids of ``msgids`` that ``locale``'s catalogue lacks, leaves empty or fuzzy."""
    catalog = read_catalog(locale)
    out = []
    for msgid in sorted(msgids):
        m = catalog.get(msgid)
        if m is None or not m.string or m.fuzzy:
            out.append(msgid)
    return out


def update_catalogs() -> dict[str, int]:
    """Merge the extracted messages into both ``.po`` files (translations kept; gone messages
    dropped); returns the number of untranslated messages per locale."""
    template = Catalog(project="restora", domain="messages")
    for msgid, fname, line in extract():
        template.add(msgid, locations=[(fname, line)])
    out: dict[str, int] = {}
    for locale in LOCALES:
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            catalog = read_catalog(locale)
        else:
            catalog = Catalog(locale=locale, project="restora", domain="messages")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.project, catalog.version = "restora", "1"
        catalog.copyright_holder = "the Restora authors"
        catalog.msgid_bugs_address = ""
        catalog.last_translator = "the Restora authors"
        catalog.language_team = {"zh_CN": "中文", "en": "English"}[locale]
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, sort_output=False, include_previous=False)
        out[locale] = sum(1 for m in catalog if m.id and not m.string)
    return out


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    for loc, missing in update_catalogs().items():
        print(f"{loc}: {missing} untranslated", file=sys.stderr)
