#!/usr/bin/env bash
# bench/images/check-originals.sh [--no-cache] [--rmi] [APP...]
#
# Builds every corpus/<app>/Dockerfile that has an app.toml (or only the APPs named) with buildah
# in its default root storage (the images from setup.sh), runs the app's smoke command in the
# image, checks the expected output, and prints one line per app:
#   app, image bytes (podman image inspect), layer count, smoke ok/FAILED, build seconds.
# Exits non-zero if any build or smoke fails. Logs: ${DFREWRITE_IMAGES_CACHE:-/var/tmp/dfrewrite-images}/logs/.
#   --no-cache  build without buildah's layer cache (cold builds; base images must exist)
#   --rmi       remove each app image after checking it
# Images are tagged localhost/dfrewrite-corpus-<app>:original.
set -euo pipefail

nocache=(); rmi=0; only=()
for arg in "$@"; do
  case $arg in
    --no-cache) nocache=(--no-cache) ;;
    --rmi) rmi=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) only+=("$arg") ;;
  esac
done

export BUILDAH_ISOLATION=chroot               # crun isolation fails on the hybrid cgroup setup
CACHE=${DFREWRITE_IMAGES_CACHE:-/var/tmp/dfrewrite-images}
LOGS=$CACHE/logs
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$LOGS"

ca=()                                         # the machine's extra CAs, so HTTPS inside RUN verifies
[ -d /usr/local/share/ca-certificates ] &&
  ca=(-v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro)

now() { date +%s%N; }
since() { local cs=$(( ($(now) - $1) / 10000000 )); printf '%d.%02d' $((cs / 100)) $((cs % 100)); }

# read_toml FILE: prints the smoke argv NUL-separated, then NUL, expect, NUL, touch, NUL, comment
read_toml() {
  python3 - "$1" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    t = tomllib.load(f)
smoke = t["smoke"]
assert isinstance(smoke, list) and smoke and all(isinstance(a, str) for a in smoke), "smoke must be a non-empty argv list"
for key in ("expect", "touch", "comment", "description"):
    assert isinstance(t.get(key), str) and t[key], f"{key} must be a non-empty string"
out = sys.stdout
out.write(str(len(smoke)) + "\0")
for a in smoke:
    out.write(a + "\0")
for key in ("expect", "touch", "comment"):
    out.write(t[key] + "\0")
PY
}

apps=()
if [ ${#only[@]} -gt 0 ]; then
  apps=("${only[@]}")
else
  for f in "$ROOT"/corpus/*/app.toml; do
    [ -f "$f" ] && apps+=("$(basename "$(dirname "$f")")")
  done
fi

failed=0
printf '%-22s %12s %7s %-7s %9s\n' app image_bytes layers smoke build_s
for app in "${apps[@]}"; do
  dir=$ROOT/corpus/$app
  img=localhost/dfrewrite-corpus-$app:original
  if [ ! -f "$dir/app.toml" ] || [ ! -f "$dir/Dockerfile" ]; then
    printf '%-22s %12s %7s %-7s %9s  (no Dockerfile or app.toml)\n' "$app" - - FAILED -; failed=1; continue
  fi
  if ! mapfile -d '' fields < <(read_toml "$dir/app.toml" 2> "$LOGS/toml-$app.log") || [ ${#fields[@]} -eq 0 ]; then
    printf '%-22s %12s %7s %-7s %9s  (bad app.toml, see %s)\n' "$app" - - FAILED - "$LOGS/toml-$app.log"; failed=1; continue
  fi
  n=${fields[0]}
  smoke=("${fields[@]:1:n}")
  expect=${fields[n+1]}; touch=${fields[n+2]}
  if [ ! -f "$dir/$touch" ]; then
    printf '%-22s %12s %7s %-7s %9s  (touch file %s missing)\n' "$app" - - FAILED - "$touch"; failed=1; continue
  fi

  t=$(now)
  if ! buildah build --isolation chroot --layers --format docker --pull=never "${nocache[@]}" "${ca[@]}" \
        -t "$img" "$dir" > "$LOGS/build-$app.log" 2>&1; then
    printf '%-22s %12s %7s %-7s %9s  (build failed, see %s)\n' "$app" - - FAILED "$(since "$t")" "$LOGS/build-$app.log"
    failed=1; continue
  fi
  secs=$(since "$t")
  size=$(podman image inspect --format '{{.Size}}' "$img")
  layers=$(buildah inspect --type image --format '{{len .OCIv1.RootFS.DiffIDs}}' "$img")

  result=FAILED
  c=$(buildah from --pull=never -q "$img")
  if timeout 120 buildah run --isolation chroot "$c" -- "${smoke[@]}" > "$LOGS/smoke-$app.log" 2>&1 &&
     grep -qF -- "$expect" "$LOGS/smoke-$app.log"; then
    result=ok
  else
    failed=1
  fi
  buildah rm "$c" > /dev/null
  [ $rmi = 1 ] && buildah rmi "$img" > /dev/null
  printf '%-22s %12s %7s %-7s %9s\n' "$app" "$size" "$layers" "$result" "$secs"
done
exit $failed
