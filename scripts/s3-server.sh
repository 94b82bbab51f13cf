#!/usr/bin/env bash
# Starts or stops versitygw on 127.0.0.1 for the tests.
#   eval "$(bash scripts/s3-server.sh start)"  # prints export lines: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY
#   bash scripts/s3-server.sh stop
# Env: S3_PORT (default 7070), S3_STATE (default /tmp/erpipe-s3).
set -euo pipefail
PORT="${S3_PORT:-7070}"
STATE="${S3_STATE:-/tmp/erpipe-s3}"
AK="${S3_ACCESS_KEY:-testkey}"
SK="${S3_SECRET_KEY:-testsecret}"
VGW="${VERSITYGW:-$(command -v versitygw || echo "$(go env GOPATH)/bin/versitygw")}"
case "${1:-start}" in
start)
  rm -rf "$STATE"; mkdir -p "$STATE/data"
  "$VGW" --port "127.0.0.1:$PORT" --access "$AK" --secret "$SK" --quiet posix "$STATE/data" >"$STATE/server.log" 2>&1 &
  echo $! >"$STATE/pid"
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" || true)
    if [ "$code" != 000 ]; then
      echo "export S3_ENDPOINT=http://127.0.0.1:$PORT S3_ACCESS_KEY=$AK S3_SECRET_KEY=$SK"
      exit 0
    fi
    kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "versitygw did not become ready" >&2; cat "$STATE/server.log" >&2; exit 1 ;;
stop)
  if [ -f "$STATE/pid" ]; then
    pid=$(cat "$STATE/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$STATE/pid"
  fi ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
