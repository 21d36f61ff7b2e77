#!/usr/bin/env bash
# bench/images/run.sh [--engine buildah|docker] [CORPUS_DIR] [APP...]
#
# The image benchmark: runs `dfrewrite verify` (release build) on every CORPUS_DIR/<app>/ that
# has an app.toml (default: corpus/), once with safe fixes only and once with --unsafe, each
# with the app's smoke command, expected text and touched source file, and writes
# results.json and RESULTS.md to ${DFREWRITE_BENCH_OUT:-bench/images}: per app the original,
# safe and unsafe image bytes and ratios, layers, smoke results, warm rebuild seconds and
# cached/re-run step counts, and the medians.
#
# app.toml keys: smoke (argv array), expect, touch (path in the app), comment (prefix of the
# touch line), description. Calls bench/images/setup.sh first when it exists (base images and
# stand-ins). An app that fails verification is a result, not an error: the script exits
# non-zero only when it cannot run (no app, no python3, build of dfrewrite fails).
#
# --engine docker runs verify with Docker (the daemon the `docker` client reaches; DOCKER_HOST
# honoured) and writes results-docker.json and RESULTS-docker.md instead. APP... limits the run
# to those apps.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ENGINE=buildah
if [ "${1:-}" = --engine ]; then ENGINE=${2:?--engine needs a value}; shift 2; fi
case $ENGINE in buildah|docker) ;; *) echo "--engine must be buildah or docker" >&2; exit 2 ;; esac
CORPUS=$(cd "${1:-$ROOT/corpus}" && pwd)
[ $# -gt 0 ] && shift
ONLY=("$@")
OUT=${DFREWRITE_BENCH_OUT:-$ROOT/bench/images}
SUFFIX=""; [ "$ENGINE" = docker ] && SUFFIX=-docker
mkdir -p "$OUT"

if [ -f "$ROOT/bench/images/setup.sh" ]; then
  bash "$ROOT/bench/images/setup.sh" --engine "$ENGINE"
fi
# DFREWRITE_BIN names a dfrewrite binary to use instead of building the release one.
BIN=${DFREWRITE_BIN:-}
if [ -z "$BIN" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  BIN=$ROOT/target/release/dfrewrite
fi

RUNS=$(mktemp -d "${TMPDIR:-/tmp}/dfrewrite-bench-XXXXXX")
trap 'rm -rf "$RUNS"' EXIT

# verify_args APP_TOML: the app's verify flags, NUL-separated (smoke as a JSON exec form).
verify_args() {
  python3 - "$1" <<'PY'
import json, sys, tomllib
with open(sys.argv[1], "rb") as f:
    t = tomllib.load(f)
args = []
smoke = t.get("smoke")
if smoke:
    assert isinstance(smoke, list) and all(isinstance(a, str) for a in smoke), "smoke must be an argv list"
    args += ["--smoke", json.dumps(smoke)]
    if t.get("expect"):
        args += ["--expect", t["expect"]]
if t.get("touch"):
    args += ["--touch", t["touch"]]
    if t.get("comment"):
        args += ["--touch-comment", t["comment"]]
sys.stdout.write("".join(a + "\0" for a in args))
PY
}

apps=()
for dir in "$CORPUS"/*/; do
  [ -f "$dir/app.toml" ] || continue
  app=$(basename "$dir")
  if [ ${#ONLY[@]} -gt 0 ] && ! printf '%s\n' "${ONLY[@]}" | grep -qx "$app"; then continue; fi
  apps+=("$app")
done
if [ ${#apps[@]} -eq 0 ]; then
  echo "no $CORPUS/<app>/app.toml found" >&2
  exit 2
fi

for app in "${apps[@]}"; do
  mapfile -d '' args < <(verify_args "$CORPUS/$app/app.toml")
  for tier in safe unsafe; do
    flags=()
    [ "$tier" = unsafe ] && flags=(--unsafe)
    echo "== $app ($tier)" >&2
    code=0
    "$BIN" verify --engine "$ENGINE" "${flags[@]}" "${args[@]}" --json "$RUNS/$app.$tier.json" "$CORPUS/$app/Dockerfile" \
      > "$RUNS/$app.$tier.txt" 2> "$RUNS/$app.$tier.err" || code=$?
    echo "$code" > "$RUNS/$app.$tier.code"
    grep '^verdict:' "$RUNS/$app.$tier.txt" >&2 || tail -n 1 "$RUNS/$app.$tier.err" >&2 || true
  done
done

python3 - "$CORPUS" "$RUNS" "$OUT" "$ENGINE" "$SUFFIX" "${apps[@]}" <<'PY'
import json, os, statistics, sys, tomllib

corpus, runs, out, engine, suffix, apps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]

def load(app, tier):
    path = os.path.join(runs, f"{app}.{tier}.json")
    code = int(open(os.path.join(runs, f"{app}.{tier}.code")).read())
    report = json.load(open(path)) if os.path.exists(path) else None
    err = open(os.path.join(runs, f"{app}.{tier}.err")).read().strip().splitlines()
    return code, report, (err[-1] if err else "")

def side(report, name):
    s = (report or {}).get(name) or {}
    image = s.get("image") or {}
    warm = s.get("warm_rebuild") or {}
    smoke = (report or {}).get("smoke") or {}
    ok_key = "original_ok" if name == "original" else "rewrite_ok"
    return {
        "built": bool((s.get("build") or {}).get("ok")),
        "bytes": image.get("bytes"),
        # bytes under the package managers' cache and index directories (verify's `caches`)
        "cache_bytes": sum(c["bytes"] for c in image["caches"]) if "caches" in image else None,
        "layers": len(image["layers"]) if "layers" in image else None,
        "smoke_ok": smoke.get(ok_key) if smoke else None,
        "warm_seconds": round(warm["seconds"], 2) if warm.get("ok") else None,
        "warm_cached": warm.get("cached"),
        "warm_rerun": warm.get("rerun"),
    }

results = []
for app in apps:
    with open(os.path.join(corpus, app, "app.toml"), "rb") as f:
        description = tomllib.load(f).get("description", "")
    row = {"app": app, "description": description}
    for tier in ("safe", "unsafe"):
        code, report, last_err = load(app, tier)
        if tier == "safe" or row.get("original") is None:
            row["original"] = side(report, "original") if report else None
        r = side(report, "rewrite") if report else {}
        orig_bytes = (row["original"] or {}).get("bytes")
        r["ratio"] = round(r["bytes"] / orig_bytes, 4) if r.get("bytes") and orig_bytes else None
        r["exit_code"] = code
        r["verdict"] = report["verdict"]["status"] if report else "error"
        r["reasons"] = report["verdict"]["reasons"] if report else [last_err]
        r["applied"] = sorted({f["pass"] for f in report["applied"]}) if report else []
        row[tier] = r
    results.append(row)

def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 4) if values else None

medians = {
    "safe_ratio": median(r["safe"]["ratio"] for r in results),
    "unsafe_ratio": median(r["unsafe"]["ratio"] for r in results),
}
for key in ("warm_seconds", "warm_rerun"):
    medians[f"original_{key}"] = median((r["original"] or {}).get(key) for r in results)
    for tier in ("safe", "unsafe"):
        medians[f"{tier}_{key}"] = median(r[tier].get(key) for r in results)

with open(os.path.join(out, f"results{suffix}.json"), "w") as f:
    json.dump({"engine": engine, "apps": results, "medians": medians}, f, indent=2)
    f.write("\n")

def mb(n):
    return "–" if n is None else f"{n / 1e6:.1f} MB"

def ratio(x):
    return "–" if x is None else f"{x:.3f}"

def cell(*values):
    return " / ".join("–" if v is None else str(v) for v in values)

def steps(x):
    return "–" if x.get("warm_rerun") is None else f"{x.get('warm_cached')}+{x.get('warm_rerun')}"

def smoke(v):
    return {True: "ok", False: "FAIL", None: "–"}[v]

lines = [
    "# Image benchmark results",
    "",
    "Written by `bench/images/run.sh`: `dfrewrite verify` on each corpus app, safe fixes only and",
    f"with `--unsafe`, on {engine}. Ratio = rewrite bytes / original bytes. Warm rebuild = the build",
    "after appending one comment line to the app's `touch` file; seconds vary between runs, the",
    "cached / re-run step counts do not. Cache = bytes under the package managers' cache and index",
    "directories (from transforms/). o / s / u = original / safe / unsafe.",
    "",
    "| app | original | safe (ratio) | unsafe (ratio) | cache o / s / u | layers o / s / u "
    "| smoke o / s / u | warm rebuild s o / s / u | warm cached+re-run o / s / u "
    "| verdict safe / unsafe | passes (unsafe) |",
    "|---|---:|---:|---:|---|---|---|---|---|---|---|",
]
for r in results:
    o, s, u = r["original"] or {}, r["safe"], r["unsafe"]
    lines.append(
        f"| {r['app']} | {mb(o.get('bytes'))} | {mb(s.get('bytes'))} ({ratio(s.get('ratio'))}) "
        f"| {mb(u.get('bytes'))} ({ratio(u.get('ratio'))}) "
        f"| {' / '.join(mb(x.get('cache_bytes')) for x in (o, s, u))} "
        f"| {cell(o.get('layers'), s.get('layers'), u.get('layers'))} "
        f"| {' / '.join(smoke(x.get('smoke_ok')) for x in (o, s, u))} "
        f"| {cell(o.get('warm_seconds'), s.get('warm_seconds'), u.get('warm_seconds'))} "
        f"| {' / '.join(steps(x) for x in (o, s, u))} "
        f"| {s['verdict']} / {u['verdict']} | {', '.join(u['applied']) or '–'} |"
    )
m = medians
lines += [
    "",
    f"Medians: safe ratio {ratio(m['safe_ratio'])}, unsafe ratio {ratio(m['unsafe_ratio'])}; "
    f"warm rebuild {cell(m['original_warm_seconds'], m['safe_warm_seconds'], m['unsafe_warm_seconds'])} s "
    f"and {cell(m['original_warm_rerun'], m['safe_warm_rerun'], m['unsafe_warm_rerun'])} re-run steps "
    "(original / safe / unsafe).",
]
failures = [(r["app"], t, r[t]) for r in results for t in ("safe", "unsafe") if r[t]["verdict"] != "pass"]
if failures:
    lines += ["", "Not passing:", ""]
    lines += [f"- {app} ({tier}): {v['verdict']}: {'; '.join(v['reasons'])}" for app, tier, v in failures]
with open(os.path.join(out, f"RESULTS{suffix}.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
