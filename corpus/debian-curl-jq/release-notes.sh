#!/bin/sh
# release-notes.sh: summarise the releases of a project from a GitHub-style releases JSON API.
#   release-notes.sh URL        fetch the JSON with curl and summarise it
#   release-notes.sh --file F   summarise a local JSON file
#   release-notes.sh --selftest summarise the bundled sample (no network)
set -eu

SAMPLE=/usr/local/share/release-notes/sample.json

summarise() {
  jq -r '
    map(select(.draft | not))
    | sort_by(.published_at) | reverse
    | .[:5][]
    | "\(.published_at[:10])  \(.tag_name)\(if .prerelease then " (pre)" else "" end)  \(.name // "")"
  ' "$1"
  printf 'total releases: %s\n' "$(jq 'map(select(.draft | not)) | length' "$1")"
}

case "${1:-}" in
  --selftest) summarise "$SAMPLE" ;;
  --file) summarise "$2" ;;
  ""|-h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    curl -fsSL -H 'Accept: application/json' "$1" -o "$tmp"
    summarise "$tmp"
    ;;
esac
