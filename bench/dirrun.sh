#!/usr/bin/env bash
# Directory-run figures (issue 16): prints, asserts nothing.
#
#   [RUNS=5] bash bench/dirrun.sh [BIN]      (BIN defaults to target/release/dfrewrite)
#
# 1. `--check` over the 2000-file corpus folder ../shared/corpus/real, every pass on
#    (safe tier, then --unsafe), wall time: best and median of 5, default threads and
#    --threads 1;
# 2. one file of that folder (its context is the whole folder), process start included:
#    hyperfine -N when installed (`cargo install hyperfine`), else the median of 50 runs;
# 3. the growth table: --check over one folder holding the first 250/500/1000/2000 corpus
#    files (copied into a temporary folder, removed afterwards).
# The load average is printed before and after: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/dfrewrite}
BIN=$(realpath "$BIN")
CORPUS=$(realpath ../shared/corpus/real)

echo "binary: $BIN"
# a binary from before `--threads` existed runs on one thread anyway
if "$BIN" --help | grep -q -- --threads; then ONE_THREAD="--threads 1"; else ONE_THREAD=""; fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

# wall seconds of one run, to the millisecond (output discarded; exit status 0/1 both fine)
wall() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

# "best / median ms of N runs" of a command
stats() {
    local n=$1
    shift
    local times=()
    for _ in $(seq "$n"); do times+=("$(wall "$@")"); done
    printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n" '
        { t[NR] = $1 }
        END { printf "best %d ms, median %d ms (%d runs)\n", t[1], t[int((n + 1) / 2)], n }'
}

echo
echo "== --check over $CORPUS ($(ls "$CORPUS" | wc -l) entries)"
for tier in "" "--unsafe"; do
    for threads in "" ${ONE_THREAD:+"$ONE_THREAD"}; do
        # shellcheck disable=SC2086
        printf '%-30s %s\n' "--check $tier $threads" "$(stats "${RUNS:-5}" "$BIN" --check $tier $threads "$CORPUS")"
    done
done

echo
ONE="$CORPUS/0000.Dockerfile"
echo "== one file in that folder: $BIN --check $ONE"
if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 10 --runs 200 -i --style basic "$BIN --check $ONE" 2>&1 | grep -E 'Time|Range'
else
    echo "(hyperfine not installed; date-based timing, which adds ~1 ms of its own)"
    stats 51 "$BIN" --check "$ONE"
fi

echo
echo "== growth: --check over one folder of N corpus files (default threads / --threads 1)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for n in 250 500 1000 2000; do
    dir="$TMP/$n"
    mkdir "$dir"
    # awk, not head: head would end find early, and pipefail would end the script
    find "$CORPUS" -maxdepth 1 -name '*.Dockerfile' | sort | awk -v n="$n" 'NR <= n' | xargs cp -t "$dir"
    printf '%5d files: %-45s | %s\n' "$n" "$(stats 3 "$BIN" --check "$dir")" \
        "$(if [ -n "$ONE_THREAD" ]; then stats 3 "$BIN" --check $ONE_THREAD "$dir"; else echo "(no --threads)"; fi)"
done

echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
