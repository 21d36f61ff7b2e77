#!/usr/bin/env bash
# Start-up and directory-run figures of issue 16, for one or more binaries side by side
# (prints, asserts nothing):
#
#   [RUNS=5] bash bench/startup.sh [BIN ...]     (default: target/release/dfrewrite)
#   e.g. bash bench/startup.sh /tmp/dfrewrite-main target/release/dfrewrite
#
# 1. one 200-line file in a small folder (the first 200 lines of benches/engine.rs's
#    synthetic file) and one 150-line corpus file copied alone into a folder:
#    `hyperfine -N --warmup 20`, with the Go formatter dockerfmt in the same hyperfine run
#    when DOCKERFMT names its binary or `npm install @reteps/dockerfmt` put it under
#    ./node_modules;
# 2. one file of the 2000-file corpus folder (its build context is the whole folder);
# 3. `--check` over that folder, every pass on, default threads and --threads 1;
# 4. the growth table: `--check` over one folder of the first 250/500/1000/2000 files.
# Each figure is printed with its command and the load average (the machine is shared, so
# hyperfine's User/System CPU times are printed too: they move less with load than wall).
set -euo pipefail
cd "$(dirname "$0")/.."
BINS=("$@")
[ ${#BINS[@]} -gt 0 ] || BINS=(target/release/dfrewrite)
for i in "${!BINS[@]}"; do BINS[i]=$(realpath "${BINS[i]}"); done
CORPUS=$(realpath ../shared/corpus/real)
RUNS=${RUNS:-5}
load() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"; }
if ! command -v hyperfine >/dev/null; then
    echo "hyperfine is needed: cargo install hyperfine" >&2
    exit 2
fi
DOCKERFMT=${DOCKERFMT:-$(ls node_modules/@reteps/dockerfmt-linux-x64/bin/dockerfmt 2>/dev/null || true)}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/small" "$TMP/real"
bash bench/small-dockerfile.sh >"$TMP/small/Dockerfile"
cp "$CORPUS/0129.Dockerfile" "$TMP/real/Dockerfile"

# hyperfine over every binary with the same arguments (and extra commands), the mean,
# range, CPU times and median of each
compare() {
    local warmup=$1 runs=$2
    shift 2
    local cmds=()
    for bin in "${BINS[@]}"; do cmds+=("$bin $1"); done
    shift
    cmds+=("$@")
    echo "   $(load)"
    hyperfine -N -i --warmup "$warmup" --runs "$runs" --style basic \
        --export-json "$TMP/hyperfine.json" "${cmds[@]}" 2>&1 |
        grep -E '^Benchmark|Time|Range' | sed 's/^/   /'
    # the goal rows are medians, which hyperfine's text output leaves out
    if command -v python3 >/dev/null; then
        python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("   median %.3f ms  %s" % (r["median"] * 1000, r["command"]))' "$TMP/hyperfine.json"
    fi
}

# "best / median ms of N runs" (wall, from date) of a command
wall() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}
stats() {
    local n=$1
    shift
    local times=()
    for _ in $(seq "$n"); do times+=("$(wall "$@")"); done
    printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n" '
        { t[NR] = $1 }
        END { printf "best %d ms, median %d ms (%d runs)", t[1], t[int((n + 1) / 2)], n }'
}

# How many of build/hot-functions.txt's functions each binary has (build.rs has the linker
# place them first; a list older than the code places fewer). A binary's page-cache state
# moves these figures by up to 0.3 ms (README): compare binaries in the same state.
if command -v nm >/dev/null; then
    grep -v '^#' build/hot-functions.txt | sort -u >"$TMP/hot"
    for bin in "${BINS[@]}"; do
        nm "$bin" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u >"$TMP/symbols" || true
        echo "   $bin: $(comm -12 "$TMP/hot" "$TMP/symbols" | wc -l) of $(wc -l <"$TMP/hot") hot functions"
    done
fi

echo "== 1. one 200-line file in a small folder: BIN --check $TMP/small/Dockerfile"
extra=()
if [ -n "$DOCKERFMT" ]; then
    extra=("$DOCKERFMT -c $TMP/small/Dockerfile")
else
    echo "   (dockerfmt not found: set DOCKERFMT or npm install @reteps/dockerfmt)"
fi
compare 20 200 "--check $TMP/small/Dockerfile" "${extra[@]}"
echo "== 1b. one 150-line corpus file (0129) alone in a folder: BIN --check $TMP/real/Dockerfile"
extra=()
[ -z "$DOCKERFMT" ] || extra=("$DOCKERFMT -c $TMP/real/Dockerfile")
compare 20 200 "--check $TMP/real/Dockerfile" "${extra[@]}"

echo
echo "== 2. one file in the 2000-file folder: BIN --check $CORPUS/0000.Dockerfile"
compare 10 200 "--check $CORPUS/0000.Dockerfile"

echo
echo "== 3. BIN --check [--threads 1] $CORPUS (every pass on; wall from date)"
for bin in "${BINS[@]}"; do
    for threads in "" "--threads 1"; do
        echo "   $(load)"
        # shellcheck disable=SC2086
        printf '   %-60s %s\n' "$bin --check $threads" "$(stats "$RUNS" "$bin" --check $threads "$CORPUS")"
    done
done

echo
echo "== 4. growth: BIN --check DIR, DIR holding the first N corpus files (default threads / --threads 1)"
for n in 250 500 1000 2000; do
    dir="$TMP/$n"
    mkdir "$dir"
    # awk, not head: head would end find early, and pipefail would end the script
    find "$CORPUS" -maxdepth 1 -name '*.Dockerfile' | sort | awk -v n="$n" 'NR <= n' | xargs cp -t "$dir"
done
for bin in "${BINS[@]}"; do
    echo "   $bin ($(load))"
    for n in 250 500 1000 2000; do
        printf '   %5d files: %-42s | %s\n' "$n" "$(stats 3 "$bin" --check "$TMP/$n")" \
            "$(stats 3 "$bin" --check --threads 1 "$TMP/$n")"
    done
done
echo
echo "$(load) (after)"
