#!/usr/bin/env python3
"""Inline pragmas on real Dockerfiles: puts `# dfrewrite: ignore=PASS` above every instruction
of the first N corpus files and checks, through the binary (`-` mode, --unsafe), that PASS
applies nothing, no rewrite fails, and every pragma line survives. Prints counts; also how
many of the same files PASS changes without the pragmas, so the check is seen to bite.

    python3 bench/pragma-corpus.py [--bin target/debug/dfrewrite] [--files 300] PASS...
"""
import argparse
import glob
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYWORDS = r"^\s*(FROM|RUN|COPY|ADD|ENV|WORKDIR|CMD|ENTRYPOINT|USER|EXPOSE|LABEL|ARG|VOLUME|SHELL|HEALTHCHECK|STOPSIGNAL|ONBUILD)\b"


def rewrite(binary, text):
    return subprocess.run(
        [binary, "-", "--stdin-filename", "/nonexistent/Dockerfile", "--unsafe"],
        input=text.encode(),
        capture_output=True,
    )


def applied(stderr, name):
    return any(
        f": {name}: " in line and "(advice" not in line and "not applied" not in line
        for line in stderr.decode(errors="replace").splitlines()
    )


def with_pragmas(text, pragma):
    out, continued = [], False
    for line in text.split("\n"):
        if not continued and re.match(KEYWORDS, line, re.I):
            out.append(pragma)
        stripped = line.strip()
        comment = stripped.startswith("#")
        # a comment line neither continues nor ends an instruction, whatever it ends with
        continued = (not comment and stripped.endswith("\\")) or (continued and (comment or not stripped))
        out.append(line)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/debug/dfrewrite"))
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("passes", nargs="+")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(ROOT, "../shared/corpus/real/*.Dockerfile")))[: args.files]
    for name in args.passes:
        pragma = f"# dfrewrite: ignore={name}"
        s = dict(files=0, skipped=0, applied_without=0, applied_with=0, failed=0, lost=0)
        for path in files:
            text = open(path, encoding="utf-8", errors="replace").read()
            plain = rewrite(args.bin, text)
            if plain.returncode == 2:
                s["skipped"] += 1
                continue
            s["files"] += 1
            s["applied_without"] += applied(plain.stderr, name)
            given = with_pragmas(text, pragma)
            out = rewrite(args.bin, given)
            if out.returncode == 2:
                s["failed"] += 1
                print("failed:", path, out.stderr.decode(errors="replace")[:200])
                continue
            s["applied_with"] += applied(out.stderr, name)
            result = out.stdout.decode(errors="replace")
            if result.splitlines().count(pragma) != given.splitlines().count(pragma):
                s["lost"] += 1
                print("pragma lost:", path)
        print(name, s)


main()
