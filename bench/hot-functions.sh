#!/usr/bin/env bash
# Writes build/hot-functions.txt: the functions a one-file run executes, which build.rs has
# the linker place side by side at the start of the release binary's code (build.rs,
# `order_hot_functions`; figures in the README, after the static link). Run it after changes
# that rename or add functions on the one-file path: a stale list only places fewer.
#
#   bash bench/hot-functions.sh [BIN]     (default: builds and uses target/release/dfrewrite)
#
# Needs valgrind (callgrind: every executed instruction, not a sample), nm and python3.
# The runs: `--check` of one file in the 2,000-file corpus folder (its context is the whole
# folder), `--check` and `--diff` of a 200-line file, and `--diff --unsafe` and `--apply` of
# corpus files each alone in a folder (they reach different passes). A function executed by
# more of the runs comes first; ties keep the binary's order.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
    BIN=$(realpath "$1")
else
    cargo build --release --quiet
    BIN=$(realpath target/release/dfrewrite)
fi
for tool in valgrind nm python3; do
    command -v "$tool" >/dev/null || {
        echo "$tool is needed" >&2
        exit 2
    }
done
CORPUS=$(realpath ../shared/corpus/real)
OUT=$(realpath build)/hot-functions.txt
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

n=0
# callgrind DIR ARGS...: one run in DIR, its executed instruction addresses kept
callgrind() {
    local dir=$1
    shift
    n=$((n + 1))
    (cd "$dir" && valgrind --tool=callgrind --dump-instr=yes --compress-pos=no \
        --callgrind-out-file="$TMP/run.$n" "$BIN" "$@" >/dev/null 2>&1) || true
}

callgrind "$CORPUS" --check 0000.Dockerfile
mkdir "$TMP/small"
bash bench/small-dockerfile.sh >"$TMP/small/Dockerfile"
callgrind "$TMP/small" --check Dockerfile
callgrind "$TMP/small" --diff Dockerfile
for f in 0000 0129 0500 1000 1500 1999; do
    mkdir "$TMP/$f"
    cp "$CORPUS/$f.Dockerfile" "$TMP/$f/Dockerfile"
    callgrind "$TMP/$f" --diff --unsafe Dockerfile
done
callgrind "$TMP/0129" --apply Dockerfile

nm -S --defined-only "$BIN" >"$TMP/symbols"
python3 - "$TMP" "$n" "$OUT" "$BIN" <<'PY'
import bisect, re, sys

tmp, runs, out, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# code symbols with a size: (address, size, name)
code = []
for line in open(f"{tmp}/symbols"):
    parts = line.split()
    if len(parts) == 4 and parts[2] in "tTwW" and int(parts[1], 16) > 0:
        code.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
code.sort()
starts = [c[0] for c in code]
# callgrind's instruction lines start with the address (--compress-pos=no)
address = re.compile(r"^(0x[0-9a-f]+) ")
runs_of = {}
for run in range(1, runs + 1):
    seen = set()
    for line in open(f"{tmp}/run.{run}"):
        m = address.match(line)
        if not m:
            continue
        at = int(m.group(1), 16)
        i = bisect.bisect_right(starts, at) - 1
        if i >= 0 and at < code[i][0] + code[i][1]:
            seen.add(i)
    for i in seen:
        runs_of[i] = runs_of.get(i, 0) + 1
order = sorted(runs_of, key=lambda i: (-runs_of[i], i))
# a name given twice (a C `static` function of two files) is placed once: lld takes the first
named = set()
order = [i for i in order if not (code[i][2] in named or named.add(code[i][2]))]
size = sum(code[i][1] for i in order)
with open(out, "w") as f:
    f.write(
        "# Written by bench/hot-functions.sh: the functions a one-file run executes, most\n"
        "# used first (lld's --symbol-ordering-file, see build.rs). Do not edit by hand.\n"
    )
    for i in order:
        f.write(code[i][2] + "\n")
print(f"{out}: {len(order)} functions, {size} bytes of code, from {runs} runs of {binary}")
PY
