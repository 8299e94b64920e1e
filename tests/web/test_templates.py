"""The templates keep the app's CSP (``script-src 'self'; style-src 'self'``): no inline
script, no inline style, no event-handler attribute; every static file they name exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from restora.service.web.i18n import TEMPLATES_DIR

STATIC = TEMPLATES_DIR.parent / "static"
TEMPLATES = sorted(TEMPLATES_DIR.rglob("*.html"))


def _vendor() -> dict[str, set[str]]:
    doc = json.loads((STATIC / "vendor" / "manifest.json").read_text(encoding="utf-8"))
    return {p["name"]: {f["path"] for f in p["files"]} for p in doc["packages"]}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_no_inline_script_or_style(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for m in re.finditer(r"<script\b([^>]*)>", text):
        attrs = m.group(1)
        assert "src=" in attrs or 'type="application/json"' in attrs, f"inline script: {m.group(0)}"
    assert not re.search(r"<style\b", text), "a <style> element"
    assert not re.search(r"\sstyle\s*=", text), "a style attribute"
    assert not re.search(r"\son[a-z]+\s*=", text), "an event-handler attribute"
    assert "javascript:" not in text


def test_static_files_named_by_templates_exist() -> None:
    vendor = _vendor()
    seen = 0
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for rel in re.findall(r"static\('([^']+)'\)", text):
            assert (STATIC / rel).is_file(), f"{path.name}: static/{rel} missing"
            seen += 1
        for name, file in re.findall(r"vendor\('([^']+)', '([^']+)'\)", text):
            assert file in vendor.get(name, set()), f"{path.name}: vendor {name}/{file} missing"
            seen += 1
    assert seen > 10
