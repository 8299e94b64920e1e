#!/usr/bin/env bash
# Debian packages the demo and the test suite need. Idempotent: installs only what is missing, and only as root.
# fonts-noto-cjk: Chinese charts and PDFs; poppler-utils: pdftotext/pdffonts in the report tests;
# libharfbuzz-subset0: WeasyPrint subsets fonts with HarfBuzz (much faster than fontTools);
# chromium: Debian's browser, which the web UI tests (tests/web, Playwright) drive — never a downloaded build.
set -euo pipefail
need=()
for pkg in fonts-noto-cjk poppler-utils libharfbuzz-subset0 chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing Debian packages: ${need[*]} (install them as root: apt-get install ${need[*]})" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}"
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
