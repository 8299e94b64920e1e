"""CJK fonts for charts and reports: find the installed Noto Sans CJK (Debian fonts-noto-cjk).

Charts (matplotlib) and PDFs (WeasyPrint) need a font with Chinese glyphs. fontconfig
(``fc-match``) finds the installed file; :func:`chart_font` registers it with matplotlib when
matplotlib's font cache was built before the fonts were installed, and falls back to DejaVu Sans
(Chinese then shows as boxes; English stays readable) when no CJK font is installed at all.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC")
CJK_FAMILY = "Noto Sans CJK SC"
FALLBACK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)


def system_font_file() -> str | None:
    """Path of the Noto Sans CJK font file, from fontconfig (``fc-match``), else known paths."""
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}", f"{CJK_FAMILY}:style=Regular"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        if out and "CJK" in out and Path(out).is_file():
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    for p in FALLBACK_FONT_FILES:
        if Path(p).is_file():
            return p
    return None


def chart_font() -> str:
    """A CJK-capable font family for matplotlib if one is installed, else ``"DejaVu Sans"``."""
    from matplotlib import font_manager

    def installed() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_FAMILIES if n in names), None)

    found = installed()
    if found is None:
        path = system_font_file()  # cache built before the fonts were installed
        if path:
            font_manager.fontManager.addfont(path)
            found = installed()
    return found or "DejaVu Sans"
