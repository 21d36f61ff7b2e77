"""Backup job: lists the databases with psycopg2 and dumps each with pg_dump.

`python backup.py --selftest` checks both halves without a server: psycopg2 (built from source
against libpq) quotes a literal, and pg_dump (from Debian's postgresql-client) runs.
"""
import argparse
import os
import subprocess
import sys

import psycopg2
import psycopg2.extensions


def databases(dsn):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1")
        return [r[0] for r in cur.fetchall()]


def dump(dsn, name, out_dir):
    path = os.path.join(out_dir, f"{name}.sql")
    subprocess.run(["pg_dump", "--dbname", dsn, "--file", path, name], check=True)
    return path


def selftest():
    adapted = psycopg2.extensions.adapt("O'Brien")
    adapted.encoding = "utf8"
    quoted = adapted.getquoted().decode("utf-8")
    version = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True, check=True)
    return (f"selftest ok: psycopg2 {psycopg2.__version__.split()[0]}, "
            f"libpq {psycopg2.extensions.libpq_version()}, literal {quoted}, "
            f"{version.stdout.strip()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--out", default="/tmp")
    parser.add_argument("--selftest", action="store_true")
    args = parser.parse_args(argv)
    if args.selftest:
        print(selftest())
        return 0
    if not args.dsn:
        parser.error("--dsn or DATABASE_URL is required")
    for name in databases(args.dsn):
        print(dump(args.dsn, name, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
