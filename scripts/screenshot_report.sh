#!/usr/bin/env bash
# Screenshot a claude-router HTML cost report in headless Chromium, to check how it renders.
#
#   claude-router report --since 30d --format html --out report.html
#   scripts/screenshot_report.sh report.html                  # -> report.png (1400x2200)
#   scripts/screenshot_report.sh report.html shot.png 1200,1800
#
# Needs Chromium (Debian: apt-get install -y chromium). The page is opened from the file
# system with the network disabled, which also proves that it needs nothing from outside.
set -euo pipefail

html=${1:?usage: $0 REPORT.html [OUT.png] [WIDTH,HEIGHT]}
out=${2:-${html%.html}.png}
size=${3:-1400,2200}

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then
    echo "no Chromium found: install it (Debian: apt-get install -y chromium)" >&2
    exit 2
fi
[[ -f $html ]] || { echo "no such file: $html" >&2; exit 2; }

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$profile" --proxy-server="127.0.0.1:9" --proxy-bypass-list="<-loopback>" \
    --window-size="$size" --screenshot="$(realpath -m "$out")" "file://$(realpath "$html")" \
    >/dev/null 2>&1
[[ -s $out ]] || { echo "Chromium wrote no screenshot" >&2; exit 1; }
echo "$out"
