#!/bin/bash
# thumbs.sh: make JPEG thumbnails of every image in a directory.
#   thumbs.sh SRC_DIR OUT_DIR [SIZE]   (SIZE defaults to 256x256)
#   thumbs.sh --selftest               draw two test images and thumbnail them
set -euo pipefail

make_thumbs() {
  local src=$1 out=$2 size=${3:-256x256} n=0
  mkdir -p "$out"
  shopt -s nullglob nocaseglob
  for f in "$src"/*.{png,jpg,jpeg,gif,webp,tif,tiff}; do
    base=$(basename "${f%.*}")
    convert "$f" -auto-orient -thumbnail "${size}>" -strip -quality 85 "$out/$base.jpg"
    identify -format '%f %wx%h %m\n' "$out/$base.jpg"
    n=$((n + 1))
  done
  echo "thumbnails: $n"
}

if [ "${1:-}" = "--selftest" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir "$tmp/in"
  convert -size 1200x800 gradient:steelblue-white "$tmp/in/sky.png"
  convert -size 640x640 xc:orange -fill black -draw 'circle 320,320 320,100' "$tmp/in/dot.png"
  make_thumbs "$tmp/in" "$tmp/out" 200x200
  exit 0
fi

[ $# -ge 2 ] || { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
make_thumbs "$@"
