"""中文 / English: every message of the templates and of restora.service.web has its translation
in both catalogues (a new untranslated message fails here), placeholders agree, and a page is
served in the language of the switch."""

from __future__ import annotations

import re

import pytest

from restora.service.web import i18n


def _msgids() -> set[str]:
    return {msgid for msgid, _f, _l in i18n.extract()}


def test_messages_are_extracted_from_templates_and_python() -> None:
    ids = _msgids()
    assert "Register map" in ids  # templates/map.html and web/render.py (N_)
    assert "Natural resources bureau" in ids  # web/render.py ROLE_NAMES, marked N_
    assert (
        "%(n)s mines in your scope. Click a mine on the map or in the list." in ids
    )  # {% trans n=… %}


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_no_untranslated_message(locale: str) -> None:
    missing = i18n.untranslated(locale, _msgids())
    assert not missing, (
        f"{locale}: {len(missing)} messages without translation (run "
        f"`python -m restora.service.web.i18n`, then translate): {missing[:10]}"
    )


def test_an_untranslated_message_is_caught() -> None:
    """The check itself: a message id absent from the catalogue is reported."""
    fresh = "A message no catalogue has (test of the check)"
    assert i18n.untranslated("zh_CN", {fresh, "Register map"}) == [fresh]


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_placeholders_agree(locale: str) -> None:
    ph = re.compile(r"%\((\w+)\)s")
    for m in i18n.read_catalog(locale):
        if m.id and m.string:
            assert sorted(ph.findall(m.id)) == sorted(ph.findall(m.string)), m.id


def test_chinese_catalogue_is_chinese() -> None:
    """Translations into Chinese hold Chinese characters (not the English left in place),
    except names that stay as they are."""
    keep = {"Restora"}
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for m in i18n.read_catalog("zh_CN"):
        if m.id and m.id not in keep:
            assert cjk.search(m.string), f"not translated into Chinese: {m.id!r} -> {m.string!r}"


def test_language_negotiation() -> None:
    assert i18n.negotiate(None, "zh-TW,zh;q=0.9") == "zh_CN"
    assert i18n.negotiate("en", "zh-CN") == "en"
    assert i18n.negotiate(None, "de-DE") == i18n.DEFAULT
