#!/usr/bin/env bash
# Renders media/icon.svg to media/icon.png (256×256, transparent corners) with Debian's chromium,
# which the editor tests already need. Run after changing the SVG; the PNG is committed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --user-data-dir="$profile" --hide-scrollbars \
  --default-background-color=00000000 --window-size=256,256 \
  --screenshot="$root/media/icon.png" "file://$root/media/icon.svg" 2>/dev/null
