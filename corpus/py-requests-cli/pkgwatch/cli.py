"""Command line: `pkgwatch NAME...` asks the index's JSON API for each package's latest version."""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests

from . import __version__

DEFAULT_INDEX = "https://pypi.org/pypi"


def latest(session, index, name, timeout=10):
    resp = session.get(f"{index}/{name}/json", timeout=timeout)
    resp.raise_for_status()
    info = resp.json()["info"]
    return info["name"], info["version"], info.get("summary") or ""


def report(index, names, out=sys.stdout):
    with requests.Session() as session:
        session.headers["User-Agent"] = f"pkgwatch/{__version__}"
        for name in names:
            try:
                pkg, version, summary = latest(session, index, name)
                print(f"{pkg:20} {version:12} {summary}", file=out)
            except requests.RequestException as err:
                print(f"{name:20} ERROR        {err}", file=out)


class _FakeIndex(BaseHTTPRequestHandler):
    def do_GET(self):
        name = self.path.strip("/").split("/")[0]
        body = json.dumps({"info": {"name": name, "version": "1.0.0", "summary": "fake package"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def selftest():
    """Run against a local fake index (no network) to prove requests works in the image."""
    server = HTTPServer(("127.0.0.1", 0), _FakeIndex)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        report(f"http://127.0.0.1:{server.server_port}", ["demo-package"])
        print(f"selftest ok (requests {requests.__version__})")
    finally:
        server.shutdown()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pkgwatch", description=__doc__)
    parser.add_argument("names", nargs="*", help="package names")
    parser.add_argument("--index", default=DEFAULT_INDEX, help="JSON API base URL")
    parser.add_argument("--selftest", action="store_true", help="query a local fake index and exit")
    parser.add_argument("--version", action="version", version=f"pkgwatch {__version__}")
    args = parser.parse_args(argv)
    if args.selftest:
        selftest()
        return 0
    if not args.names:
        parser.error("give at least one package name")
    report(args.index, args.names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
