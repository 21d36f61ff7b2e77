#!/usr/bin/env python3
"""bench/images/engines.py: Docker's image benchmark figures beside buildah's.

Reads results.json (bench/images/run.sh) and results-docker.json (run.sh --engine docker) from
this directory and prints a Markdown table for the apps both hold: bytes of the original, the
safe and the unsafe rewrite with their ratios, layers, and the warm rebuild's cached+re-run step
counts, one row per engine. Asserts nothing.
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
runs = {}
for engine, name in (("buildah", "results.json"), ("docker", "results-docker.json")):
    with open(os.path.join(here, name)) as f:
        runs[engine] = {row["app"]: row for row in json.load(f)["apps"]}


def mb(n):
    return "–" if n is None else f"{n / 1e6:.1f}"


def ratio(x):
    return "–" if x is None else f"{x:.3f}"


def steps(side):
    side = side or {}
    if side.get("warm_rerun") is None:
        return "–"
    return f"{side.get('warm_cached')}+{side.get('warm_rerun')}"


print("| app | engine | original MB | safe MB (ratio) | unsafe MB (ratio) | layers o / s / u "
      "| warm cached+re-run o / s / u | verdict safe / unsafe |")
print("|---|---|---:|---:|---:|---|---|---|")
apps = [a for a in runs["docker"] if a in runs["buildah"]]
if not apps:
    sys.exit("no app in both result files")
for app in apps:
    for engine in ("buildah", "docker"):
        r = runs[engine][app]
        o, s, u = r["original"] or {}, r["safe"], r["unsafe"]
        print(
            f"| {app} | {engine} | {mb(o.get('bytes'))} | {mb(s.get('bytes'))} ({ratio(s.get('ratio'))}) "
            f"| {mb(u.get('bytes'))} ({ratio(u.get('ratio'))}) "
            f"| {o.get('layers')} / {s.get('layers')} / {u.get('layers')} "
            f"| {steps(o)} / {steps(s)} / {steps(u)} | {s['verdict']} / {u['verdict']} |"
        )
