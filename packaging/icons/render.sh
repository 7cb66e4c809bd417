#!/usr/bin/env bash
# Renders the hicolor PNGs from the SVG icon (run once after editing the SVG; the PNGs are
# committed so building and packaging need no SVG renderer). Needs rsvg-convert
# (apt-get install librsvg2-bin).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
id="io.github.valence_music.Valence"
svg="$here/hicolor/scalable/apps/$id.svg"
command -v rsvg-convert >/dev/null || { echo "render.sh: rsvg-convert missing (apt-get install librsvg2-bin)" >&2; exit 1; }
for n in 16 22 24 32 48 64 128 256 512; do
  mkdir -p "$here/hicolor/${n}x${n}/apps"
  rsvg-convert -w "$n" -h "$n" "$svg" -o "$here/hicolor/${n}x${n}/apps/$id.png"
done
echo "rendered $(ls "$here"/hicolor/*x*/apps/"$id".png | wc -l) PNGs from $svg"
