#!/usr/bin/env bash
# Prints the 200-line file of issue 16's small-file row: the first 200 lines of
# benches/engine.rs's synthetic file (stages of apt, pip and `COPY . .`). Used by
# bench/startup.sh and bench/hot-functions.sh.
set -euo pipefail
for i in $(seq 0 19); do
    printf 'FROM debian:bookworm AS stage%d\nWORKDIR /app\nENV A=1\nCOPY . .\nRUN apt-get update\nRUN apt-get install -y curl\nRUN pip install flask\nRUN echo built > /tmp/stage%d\nEXPOSE 80\nCMD ["sh"]\n\n' "$i" "$i"
done | awk 'NR <= 200'
