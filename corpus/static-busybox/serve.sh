#!/bin/sh
# serve.sh: run busybox httpd in the foreground, or (--selftest) serve on a local port and fetch the page.
set -eu
PORT=${PORT:-8080}
if [ "${1:-}" = "--selftest" ]; then
  busybox httpd -f -p 127.0.0.1:18089 -h /srv/www -c /etc/httpd.conf &
  pid=$!
  sleep 0.5
  busybox wget -q -O - http://127.0.0.1:18089/ || { kill "$pid"; exit 1; }
  busybox wget -q -O - http://127.0.0.1:18089/status.json
  echo
  kill "$pid"
  exit 0
fi
exec busybox httpd -f -v -p "0.0.0.0:$PORT" -h /srv/www -c /etc/httpd.conf
