#!/usr/bin/env bash
# Renders a run's HTML report and takes a full-page PNG screenshot of it in headless Chromium, so
# the page is seen, not only written.
#
#   scripts/render-report.sh RUN [--workspace DIR] [-o OUT.png] [--width PX] [--tiles PX]
#
# RUN is a run id or `latest`. Writes OUT.html next to OUT.png (default: report-RUN.{html,png} in
# the current folder). Installs the Debian package `chromium` when it is missing (needs root or
# sudo). --tiles also writes OUT-1.png, OUT-2.png, ... of at most PX pixels each (tall pages
# shrink to nothing in image viewers). Uses $SIRA_PIPELINE, else `sira-pipeline` on PATH, else
# .build/release or .build/debug, and only then builds it with `swift run`; it says which it uses.
set -euo pipefail

usage() { sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 2; }

run=""
workspace="."
out=""
width=1280
tiles=0
while [ $# -gt 0 ]; do
    case "$1" in
        --workspace) workspace="$2"; shift 2 ;;
        -o|--output) out="$2"; shift 2 ;;
        --width) width="$2"; shift 2 ;;
        --tiles) tiles="$2"; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "render-report.sh: unknown option $1" >&2; usage ;;
        *) [ -z "$run" ] || usage; run="$1"; shift ;;
    esac
done
[ -n "$run" ] || usage
[ -n "$out" ] || out="report-${run}.png"
case "$out" in *.png) html="${out%.png}.html" ;; *) html="${out}.html"; out="${out}.png" ;; esac

repo="$(cd "$(dirname "$0")/.." && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
    echo "render-report.sh: installing chromium (Debian package)" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core >&2 \
        || { $sudo apt-get update >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core >&2; }
fi

if [ -n "${SIRA_PIPELINE:-}" ]; then
    tool=("$SIRA_PIPELINE")
elif command -v sira-pipeline >/dev/null 2>&1; then
    tool=("$(command -v sira-pipeline)")
elif [ -x "$repo/.build/release/sira-pipeline" ]; then
    tool=("$repo/.build/release/sira-pipeline")
elif [ -x "$repo/.build/debug/sira-pipeline" ]; then
    tool=("$repo/.build/debug/sira-pipeline")
else
    tool=(swift run --package-path "$repo" sira-pipeline)
fi

echo "render-report.sh: using ${tool[*]}" >&2
"${tool[@]}" report "$run" --workspace "$workspace" -o "$html"
python3 "$repo/scripts/screenshot.py" "$html" "$out" --width "$width" --tiles "$tiles" --chromium "$(command -v chromium)"
