#!/usr/bin/env bash
# bench/burst.sh: the daemon under a burst of inbox files, with 1 and with
# 2 workers: FILES files of ROWS journal lines (distinct windows of the
# shared bench's 1M-row CSV) are moved into the inbox at once, and the time
# until every result is in the outbox is taken, with the daemon's CPU time
# (start-up and the 2 s before the drop included). Prints one markdown table
# row per worker count, and the throughput ratio.
#
#   bench/burst.sh                    # 200 files of 50,000 rows
#   FILES=40 ROWS=50000 bench/burst.sh
#
# Uses /tmp/erbench (data from bench/compare.sh); nothing is committed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
E=/tmp/erbench
FILES=${FILES:-200}
ROWS=${ROWS:-50000}
B=$E/bin
src=$E/data/journal_1m.csv
[[ -s $src ]] || { echo "run bench/compare.sh first (it generates $src)" >&2; exit 2; }
(cd "$repo" && go build -o "$B/erpipe" ./cmd/erpipe)

stage=$E/burst/stage-$FILES-$ROWS
if [[ ! -d $stage ]]; then
  mkdir -p "$stage.tmp"
  lines=$(($(wc -l < "$src") - 1))
  step=$(((lines - ROWS) / FILES))
  for ((i = 0; i < FILES; i++)); do
    from=$((2 + i * step)) to=$((1 + i * step + ROWS))
    { head -n 1 "$src"; sed -n "${from},${to}p;${to}q" "$src"; } > "$stage.tmp/journal-$i.csv"
  done
  mv "$stage.tmp" "$stage"
fi

run() { # workers -> seconds
  local ws=$E/burst/ws-$1
  rm -rf "$ws"
  mkdir -p "$ws/templates" "$ws/inbox/bench"
  cp "$repo/bench/templates/csv-csv.yaml" "$ws/templates/bench-csv-csv.yaml"
  cat > "$ws/erpipe.yaml" <<EOF
settle: 500ms
workers: $1
builtin_pipelines: false
pipelines:
  - name: bench
    template: bench-csv-csv
EOF
  "$B/erpipe" run -w "$ws" > "$ws/daemon.log" 2>&1 &
  local pid=$!
  sleep 2 # the daemon is up
  cp "$stage"/*.csv "$ws/" # same file system as the inbox, so the move below is a rename
  sync                      # the copy's write-back must not weigh on the timed run
  local t0 t1
  t0=$(date +%s.%N)
  mv "$ws"/*.csv "$ws/inbox/bench/"
  while (($(find "$ws/outbox/bench" -name '*.csv' 2> /dev/null | wc -l) < FILES)); do sleep 0.05; done
  t1=$(date +%s.%N)
  # The daemon's CPU time so far (user + system, in clock ticks).
  local ticks
  ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  kill "$pid"
  wait "$pid" || true
  awk -v a="$t0" -v b="$t1" -v c="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f %.2f\n", b - a, c / hz }'
}

row() { # workers wall cpu
  awk -v w="$1" -v t="$2" -v c="$3" -v n=$((FILES * ROWS)) -v f="$FILES × $ROWS" \
    'BEGIN { printf "| %d | %s | %.2f | %.0f | %.2f | %.2f |\n", w, f, t, n / t, c, c / t }'
}

echo "| workers | files × rows | wall s (drop to last result) | rows/s | daemon CPU s | cores busy |"
echo "|---:|---|---:|---:|---:|---:|"
read -r t1 c1 < <(run 1)
row 1 "$t1" "$c1"
read -r t2 c2 < <(run 2)
row 2 "$t2" "$c2"
awk -v a="$t1" -v b="$t2" -v c="$c1" 'BEGIN {
  printf "\nthroughput, 2 workers / 1 worker: %.2f×; one worker keeps %.2f of the cores busy, so a second can add at most %.2f×\n", a / b, c / a, 2 / (c / a) }'
