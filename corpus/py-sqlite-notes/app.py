"""A tiny notes service: keeps notes in SQLite under /app/data, created at start."""

import json
import os
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

DB = os.environ.get("NOTES_DB", "/app/data/notes.db")


def connect():
    conn = sqlite3.connect(DB)
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)")
    return conn


def add(conn, text):
    conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
    conn.commit()
    return conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        count = add(self.server.conn, self.rfile.read(length).decode())
        body = json.dumps({"notes": count}).encode()
        self.send_response(201)
        self.end_headers()
        self.wfile.write(body)


def main():
    conn = connect()
    if "--selftest" in sys.argv:
        count = add(conn, "hello")
        print(f"selftest: {count} note stored in {DB}")
        return
    server = HTTPServer(("0.0.0.0", 8000), Handler)
    server.conn = conn
    server.serve_forever()


if __name__ == "__main__":
    main()
