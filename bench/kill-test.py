#!/usr/bin/env python3
"""Kill `dfrewrite --apply` at random moments and count what the directory holds afterwards.

Usage: bench/kill-test.py [--tries 300] [--bin target/release/dfrewrite] [--seed N]

Each try copies a large Dockerfile (about 2 MB: 100 ADDs that add-to-copy rewrites, then
comment lines) into a fresh directory, starts `--apply` on it, sends SIGKILL, SIGINT or
SIGTERM (chosen at random) after a random delay, and classifies the result:

  intact     the Dockerfile is the original, byte for byte
  rewritten  the Dockerfile is the complete rewrite
  partial    anything else (a lost or mixed file): must be 0
  leftover   a file other than the Dockerfile and app.py remains (a temp file)

Half the delays are uniform over a whole uninterrupted run, half over its last third, where
the temp file exists. After a SIGKILL (which cannot be caught) a second `--apply` runs and the
leftovers it did not remove are counted too. Prints a table; asserts nothing.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_source(adds, padding):
    # A few fixes and a lot of bytes: the write, not the passes, is what is being timed.
    out = ["FROM alpine\n"]
    out += [f"ADD app.py /app/{i}/\n" for i in range(adds)]
    out += [f"# {'padding that makes the file large ' * 2}{i}\n" for i in range(padding)]
    return "".join(out)


def run_once(binary, directory):
    return subprocess.run(
        [binary, "--apply", "Dockerfile"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ).returncode


def fresh(base, source):
    directory = tempfile.mkdtemp(dir=base)
    with open(os.path.join(directory, "Dockerfile"), "w") as f:
        f.write(source)
    with open(os.path.join(directory, "app.py"), "w") as f:
        f.write("print(1)\n")
    return directory


def extra_files(directory):
    return sorted(set(os.listdir(directory)) - {"Dockerfile", "app.py"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=300)
    parser.add_argument("--bin", default=os.path.join(ROOT, "target/release/dfrewrite"))
    parser.add_argument("--adds", type=int, default=100)
    parser.add_argument("--padding", type=int, default=30000, help="comment lines")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    source = make_source(args.adds, args.padding)
    base = tempfile.mkdtemp(prefix="dfrewrite-kill-")
    try:
        # The expected rewrite and the length of an uninterrupted run (median of 5).
        durations = []
        for _ in range(5):
            directory = fresh(base, source)
            start = time.monotonic()
            code = run_once(args.bin, directory)
            durations.append(time.monotonic() - start)
            if code != 0:
                sys.exit(f"an uninterrupted run exited {code}")
            with open(os.path.join(directory, "Dockerfile")) as f:
                expected = f.read()
            shutil.rmtree(directory)
        if expected == source:
            sys.exit("the test file is not rewritten")
        whole = sorted(durations)[2]

        names = {signal.SIGKILL: "SIGKILL", signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}
        rows = {s: dict(tries=0, intact=0, rewritten=0, partial=0, leftover=0, after_next=0)
                for s in names}
        for i in range(args.tries):
            sig = rng.choice(list(names))
            late = i % 2 == 1
            delay = rng.uniform(whole * 2 / 3, whole) if late else rng.uniform(0, whole)
            directory = fresh(base, source)
            child = subprocess.Popen(
                [args.bin, "--apply", "Dockerfile"],
                cwd=directory,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(delay)
            try:
                child.send_signal(sig)
            except ProcessLookupError:
                pass
            child.wait()
            row = rows[sig]
            row["tries"] += 1
            with open(os.path.join(directory, "Dockerfile")) as f:
                now = f.read()
            if now == source:
                row["intact"] += 1
            elif now == expected:
                row["rewritten"] += 1
            else:
                row["partial"] += 1
                print(f"partial: try {i}, {names[sig]} after {delay:.3f}s: {directory}")
            if extra_files(directory):
                row["leftover"] += 1
                # The next run is what removes a leftover.
                run_once(args.bin, directory)
                if extra_files(directory):
                    row["after_next"] += 1
                    print(f"leftover kept by the next run: try {i}: {extra_files(directory)}")
            shutil.rmtree(directory)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"file: {len(source)} bytes, {source.count(chr(10))} lines; uninterrupted run "
          f"{whole * 1000:.0f} ms (median of 5); seed {seed}")
    print(f"{'signal':<8} {'tries':>5} {'intact':>6} {'rewritten':>9} {'partial':>7} "
          f"{'leftover':>8} {'left after next run':>19}")
    total = dict(tries=0, intact=0, rewritten=0, partial=0, leftover=0, after_next=0)
    for sig, name in names.items():
        row = rows[sig]
        for k in total:
            total[k] += row[k]
        print(f"{name:<8} {row['tries']:>5} {row['intact']:>6} {row['rewritten']:>9} "
              f"{row['partial']:>7} {row['leftover']:>8} {row['after_next']:>19}")
    print(f"{'all':<8} {total['tries']:>5} {total['intact']:>6} {total['rewritten']:>9} "
          f"{total['partial']:>7} {total['leftover']:>8} {total['after_next']:>19}")


if __name__ == "__main__":
    main()
