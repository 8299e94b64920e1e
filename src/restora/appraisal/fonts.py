"""The report's CJK font: Noto Sans CJK SC, found by fontconfig, embedded (subset) in PDFs.

WeasyPrint subsets every font it embeds. With HarfBuzz's subsetter (Debian
libharfbuzz-subset0) that takes well under a second, and the report's ``@font-face`` names the
fontconfig face (``local("Noto Sans CJK SC")``, the SC face of the installed collection).
Without it WeasyPrint falls back to fontTools, and subsetting the whole collection
(≈ 65 000 CFF glyphs, 19 MB) takes tens of seconds per PDF; then the first report prepares, once,
an OpenType subset of the Simplified-Chinese face holding ASCII, Latin-1, general and CJK
punctuation, full-width forms and the 6 763 hanzi of GB 2312, cached under
``$XDG_CACHE_HOME/restora/fonts`` (default ``~/.cache``); later PDFs subset that small font in
a fraction of a second. Characters outside it fall back to the installed collection.
"""

from __future__ import annotations

import os
from pathlib import Path

from restora.fonts import CJK_FAMILY, system_font_file

SUBSET_NAME = "NotoSansCJKsc-Regular-gb2312-v2.otf"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "restora" / "fonts"


def _codepoints() -> set[int]:
    cps = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))
    cps |= set(range(0x2000, 0x2070)) | set(range(0x2100, 0x2300))  # punct., arrows, math
    cps |= set(range(0x2460, 0x24FF)) | set(range(0x25A0, 0x2600))  # enclosed, shapes
    cps |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))  # CJK punct., full-width
    for hi in range(0xB0, 0xF8):  # GB 2312 hanzi rows 16-87
        for lo in range(0xA1, 0xFF):
            try:
                cps.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return cps


def _sc_index(path: str) -> int:
    from fontTools.ttLib import TTCollection

    coll = TTCollection(path, lazy=True)
    for i, font in enumerate(coll.fonts):
        if "SC" in str(font["name"].getDebugName(1)):
            return i
    return 0


def harfbuzz_subsets() -> bool:
    """Whether WeasyPrint subsets fonts with HarfBuzz (libharfbuzz-subset0; fast)."""
    try:
        from weasyprint.text.ffi import harfbuzz, harfbuzz_subset
    except Exception:
        return False
    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))


def font_face_src() -> str | None:
    """The ``src`` of the report's ``@font-face``: ``local()`` through fontconfig when
    WeasyPrint subsets with HarfBuzz, else the cached GB 2312 subset file; None without a
    CJK font."""
    if system_font_file() is None:
        return None
    if harfbuzz_subsets():
        return f'local("{CJK_FAMILY}")'
    path = report_font_file()
    return f'url("file://{path}")' if path else None


def report_font_file() -> str | None:
    """The font file reports embed: the cached GB 2312 subset (made on first use).

    Returns the system file when the subset cannot be made (read-only cache …), None when no
    CJK font is installed.
    """
    src = system_font_file()
    if src is None:
        return None
    target = cache_dir() / SUBSET_NAME
    if target.is_file() and target.stat().st_mtime >= Path(src).stat().st_mtime:
        return str(target)
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont

        index = _sc_index(src) if src.lower().endswith(".ttc") else 0
        font = TTFont(src, fontNumber=index, lazy=False)
        opts = subset.Options()
        opts.name_IDs = ["*"]
        opts.notdef_outline = True
        opts.hinting = False
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=_codepoints())
        sub.subset(font)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        font.save(tmp)
        tmp.replace(target)
        return str(target)
    except Exception:  # a read-only cache or an odd font: embed the system font instead
        return src
