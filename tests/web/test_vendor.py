"""The vendored browser libraries are exactly what scripts/vendor-web.sh took from the npm
registry: every committed file under static/vendor/ is listed in the manifest with its SHA-256,
and the manifest's versions are those pinned in package.json and locked in package-lock.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "src" / "restora" / "service" / "static" / "vendor"


def _manifest() -> dict:
    return json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))


def test_files_match_the_manifest() -> None:
    listed: set[Path] = {VENDOR / "manifest.json"}
    for pkg in _manifest()["packages"]:
        assert pkg["folder"] == f"{pkg['name']}-{pkg['version']}"
        assert pkg["licence"], f"{pkg['name']}: no licence"
        names = {f["path"] for f in pkg["files"]}
        assert any(n.upper().startswith("LICENSE") for n in names), f"{pkg['name']}: no LICENSE"
        for f in pkg["files"]:
            path = VENDOR / pkg["folder"] / f["path"]
            data = path.read_bytes()
            assert len(data) == f["bytes"], path
            assert hashlib.sha256(data).hexdigest() == f["sha256"], f"{path} changed"
            listed.add(path)
    present = {p for p in VENDOR.rglob("*") if p.is_file()}
    assert present == listed, f"not in the manifest: {sorted(map(str, present - listed))}"


def test_manifest_matches_the_lock_file() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    pins = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    vendored = {p["name"]: p["version"] for p in _manifest()["packages"]}
    assert set(vendored) == set(pins)
    for name, version in vendored.items():
        assert pins[name] == version, f"{name}: package.json pins {pins[name]}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
        assert lock["packages"][""]["dependencies"][name] == version, name
