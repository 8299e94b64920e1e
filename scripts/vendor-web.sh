#!/usr/bin/env bash
# Vendor the web UI's browser libraries from the npm registry into the package's static folder,
# so that installing and serving Restora needs neither Node nor the internet.
#
#   bash scripts/vendor-web.sh            # re-vendor the versions pinned in package-lock.json
#   npm install --package-lock-only X@V   # (first) to move a pin, then run this script
#
# 1. `npm ci` of package.json + package-lock.json in a temporary folder (no install scripts run);
# 2. the files listed below (the built browser files, each package's LICENSE/NOTICE) copied to
#    src/restora/service/static/vendor/<name>-<version>/ (older folders removed);
# 3. src/restora/service/static/vendor/manifest.json written: per package its name, version,
#    licence (package.json's "license"), folder and files with their SHA-256 and size.
# tests/web/test_vendor.py checks that the committed files match the manifest and the manifest
# matches package-lock.json. Commit the vendor folder after running this script.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/src/restora/service/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp "$root/package.json" "$root/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

# name|files, paths relative to the package's folder in node_modules (the target keeps basenames)
files=(
  "maplibre-gl|dist/maplibre-gl.mjs dist/maplibre-gl-worker.mjs dist/maplibre-gl.css LICENSE.txt"
  "echarts|dist/echarts.min.js LICENSE NOTICE"
  "htmx.org|dist/htmx.min.js LICENSE"
  "swagger-ui-dist|swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE"
  "topojson-client|dist/topojson-client.min.js LICENSE"
  "world-atlas|countries-50m.json LICENSE"
)

rm -rf "$vendor"
mkdir -p "$vendor"
for entry in "${files[@]}"; do
  name="${entry%%|*}"
  version="$(cd "$work" && node -p "require('./node_modules/$name/package.json').version")"
  dest="$vendor/$name-$version"
  mkdir -p "$dest"
  for f in ${entry#*|}; do
    cp "$work/node_modules/$name/$f" "$dest/"
  done
done

# the manifest (python3: stdlib only)
python3 - "$work" "$vendor" "${files[@]}" <<'PY'
import hashlib, json, sys
from pathlib import Path

work, vendor = Path(sys.argv[1]), Path(sys.argv[2])
packages = []
for entry in sys.argv[3:]:
    name, _, listed = entry.partition("|")
    meta = json.loads((work / "node_modules" / name / "package.json").read_text(encoding="utf-8"))
    folder = f"{name}-{meta['version']}"
    out = []
    for rel in listed.split():
        p = vendor / folder / Path(rel).name
        data = p.read_bytes()
        out.append({"path": p.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    packages.append(
        {
            "name": name,
            "version": meta["version"],
            "licence": meta.get("license", ""),
            "homepage": meta.get("homepage", ""),
            "folder": folder,
            "files": out,
        }
    )
doc = {
    "note": "Written by scripts/vendor-web.sh from package-lock.json; do not edit by hand.",
    "packages": packages,
}
(vendor / "manifest.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
print(f"vendor-web: {len(packages)} packages in {vendor}")
PY
