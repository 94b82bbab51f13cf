#!/usr/bin/env bash
# bench/api.sh: erpipe's HTTP API under load (bench/apiload): uploads of
# 10 KB and of 10 MB files to customers-v3, and job-status calls, against
# a daemon on a loopback port with one client and limits high enough not
# to throttle. Prints a markdown table: requests a second, p50 and p99
# latency, failed requests. An upload's time is the request's: the body
# streamed to disk, hashed, claimed and recorded; the jobs run after it,
# on the daemon's 2 workers, beside the next uploads.
#
#   bench/api.sh                       # 500 x 10 KB, 20 x 10 MB, 5000 status calls
#   SMALL=200 LARGE=10 STATUS=2000 C=8 bench/api.sh
#
# Works in /tmp/erbench/api; nothing is committed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
E=/tmp/erbench/api
SMALL=${SMALL:-500} LARGE=${LARGE:-20} STATUS=${STATUS:-5000} C=${C:-8}
rm -rf "$E" && mkdir -p "$E/bin" "$E/ws"
(cd "$repo" && go build -o "$E/bin/erpipe" ./cmd/erpipe && go build -o "$E/bin/apiload" ./bench/apiload)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
hash=$(printf %s "$token" | sha256sum | cut -c1-64)
cat > "$E/ws/erpipe.yaml" <<YAML
workers: 2
http:
  listen: 127.0.0.1:$port
  max_upload: 64MiB
  limits: {concurrent: 256, queued: 100000, rate: 100000, burst: 100000}
  clients:
    - name: bench
      token_sha256: $hash
      priority: high
YAML
"$E/bin/erpipe" run -w "$E/ws" --log-level warn 2> "$E/daemon.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
load() { "$E/bin/apiload" -url "http://127.0.0.1:$port" -token "$token" "$@"; }
echo "| requests | n | concurrent | req/s | p50 | p99 | failed |"
echo "|---|---|---|---|---|---|---|"
load -mode upload -size $((10 << 10)) -n "$SMALL" -c "$C" -label "upload 10 KB"
load -mode upload -size $((10 << 20)) -n "$LARGE" -c 4 -label "upload 10 MB"
load -mode status -n "$STATUS" -c "$C" -label "job status"
