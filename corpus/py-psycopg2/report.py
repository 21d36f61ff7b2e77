"""Nightly report job: runs the SQL queries from queries.yaml against PostgreSQL and prints CSV.

`python report.py --selftest` renders every query with psycopg2's own quoting, without a database.
"""
import argparse
import csv
import os
import sys

import psycopg2
import psycopg2.extensions
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def load_queries(path=os.path.join(HERE, "queries.yaml")):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)["queries"]


def quote(value):
    adapted = psycopg2.extensions.adapt(value)
    if hasattr(adapted, "encoding"):
        adapted.encoding = "utf8"
    return adapted.getquoted().decode("utf-8")


def render(query):
    """Inline parameters for logging (the real run passes them to cursor.execute)."""
    params = {k: quote(v) for k, v in (query.get("params") or {}).items()}
    return query["sql"] % params if params else query["sql"]


def run(dsn, queries, out=sys.stdout):
    writer = csv.writer(out)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for q in queries:
            cur.execute(q["sql"], q.get("params") or {})
            writer.writerow([q["name"]])
            writer.writerow([d.name for d in cur.description])
            writer.writerows(cur.fetchall())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--selftest", action="store_true")
    args = parser.parse_args(argv)
    queries = load_queries()
    if args.selftest:
        for q in queries:
            print(f"-- {q['name']}\n{render(q).strip()}")
        print(f"selftest ok: psycopg2 {psycopg2.__version__.split()[0]}, libpq {psycopg2.extensions.libpq_version()}")
        return 0
    if not args.dsn:
        parser.error("--dsn or DATABASE_URL is required")
    run(args.dsn, queries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
