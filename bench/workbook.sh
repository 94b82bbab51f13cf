#!/usr/bin/env bash
# bench/workbook.sh: the real binary filling a workbook designed in Excel
# (output.workbook) with many lines, measured with /usr/bin/time -v: wall
# and CPU time and peak resident memory (maximum resident set size), which
# must stay flat as the lines grow (the sheet is streamed).
#
#   bench/workbook.sh                 # 100k and 1M lines
#   bench/workbook.sh 100000          # some sizes
#
# The template and the design are the tests' (transform/testdata/workbook:
# invoice.yaml, invoice.xlsx: named cells, a line row with a formula, a total
# under the lines), run with erpipe transform on a generated CSV file of
# invoice lines. Data and outputs live in /tmp/erbench (never committed).
# Prints one markdown table row per size. Needs /usr/bin/time (Debian:
# apt-get install time).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
E=/tmp/erbench B=$E/bin D=$E/data O=$E/out/workbook T=$E/workbook-template
mkdir -p "$B" "$D" "$O" "$T"
sizes=("$@")
[[ ${#sizes[@]} -eq 0 ]] && sizes=(100000 1000000)
(cd "$repo" && go build -o "$B/erpipe" ./cmd/erpipe)
cp "$repo/transform/testdata/workbook/invoice.yaml" "$repo/transform/testdata/workbook/invoice.xlsx" "$T/"

echo "| lines | wall s | CPU s | peak RSS MB | workbook MB |"
echo "|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  in=$D/invoice_lines_$n.csv
  if [[ ! -s $in ]]; then
    awk -v n="$n" 'BEGIN {
      print "Invoice,Customer,Date,Item,Description,Qty,Price"
      for (i = 0; i < n; i++) printf "1041,Fjordkraft Verksted AS,2026-11-30,%04d,Bolts M8 lot %d,%d,0.35\n", i % 10000, i, i % 100 + 1
    }' > "$in.tmp"
    mv "$in.tmp" "$in"
  fi
  rm -rf "${O:?}"/*
  /usr/bin/time -v "$B/erpipe" transform -t "$T/invoice.yaml" -o "$O" "$in" > /dev/null 2> "$O/time.txt" || { cat "$O/time.txt"; exit 1; }
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$O/time.txt")
  cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f", u + s}' "$O/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$O/time.txt")
  size=$(stat -c %s "$O"/*.xlsx | awk '{printf "%.1f", $1 / 1048576}')
  printf "| %d | %.2f | %s | %s | %s |\n" "$n" "$wall" "$cpu" "$rss" "$size"
done
