"""Link shortener: a small Flask service with an in-memory store."""
import hashlib
import os

from flask import Flask, abort, jsonify, redirect, render_template, request

app = Flask(__name__)
LINKS = {}


def short_code(url):
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:7]


@app.get("/")
def index():
    return render_template("index.html", count=len(LINKS))


@app.get("/healthz")
def healthz():
    return jsonify(status="ok", links=len(LINKS))


@app.post("/api/links")
def create_link():
    data = request.get_json(silent=True) or {}
    url = data.get("url", "")
    if not url.startswith(("http://", "https://")):
        abort(400, "url must be http(s)")
    code = short_code(url)
    LINKS[code] = url
    return jsonify(code=code, url=url), 201


@app.get("/<code>")
def follow(code):
    if code not in LINKS:
        abort(404)
    return redirect(LINKS[code], code=302)


def selftest():
    client = app.test_client()
    created = client.post("/api/links", json={"url": "https://example.com/docs"}).get_json()
    followed = client.get("/" + created["code"])
    page = client.get("/")
    return f"selftest: {created['code']} -> {followed.status_code} {followed.headers['Location']}; index {page.status_code}"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
