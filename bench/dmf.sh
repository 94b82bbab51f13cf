#!/usr/bin/env bash
# bench/dmf.sh: the real binary on a 1M-row customer CSV → a CSV-Unicode
# DMF package (built-in customers-v3), measured with /usr/bin/time -v.
#
#   ./bench/dmf.sh            # 1 000 000 rows
#   ROWS=100000 ./bench/dmf.sh
#
# Prints the throughput, the peak resident memory (maximum resident set
# size) and the package's size. Needs /usr/bin/time (Debian: apt-get
# install time).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

go build -o "$work/erpipe" ./cmd/erpipe

in="$work/customers.csv"
awk -v rows="$ROWS" 'BEGIN {
  print "Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms"
  for (i = 0; i < rows; i++)
    printf "C%07d,\"Customer %d, Oslo AS\",10,NOK,NOR,Street %d,Oslo,0150,c%d@example.no,+47 %08d,%d.50,30\n", i, i, i % 500, i, i, i % 100000
}' > "$in"
mkdir "$work/out"

/usr/bin/time -v "$work/erpipe" transform -t customers-v3 --out "$work/out" "$in" 2> "$work/time.txt" >/dev/null

secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time.txt")
rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
insize=$(stat -c %s "$in")
outsize=$(stat -c %s "$work/out/customers.zip")
awk -v rows="$ROWS" -v secs="$secs" -v rss="$rss" -v insz="$insize" -v outsz="$outsize" 'BEGIN {
  printf "rows:            %d\n", rows
  printf "input:           %.1f MiB CSV\n", insz / 1048576
  printf "package:         %.1f MiB zip (CSV-Unicode)\n", outsz / 1048576
  printf "wall time:       %.2f s\n", secs
  printf "throughput:      %.0f rows/s, %.1f MiB/s of input\n", rows / secs, insz / 1048576 / secs
  printf "peak RSS:        %.1f MiB\n", rss / 1024
}'
