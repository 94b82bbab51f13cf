#!/usr/bin/env bash
# bench/saft.sh: the real binary on a large general ledger -> Norwegian
# SAF-T Financial 1.30 (built-in saft-no), measured with /usr/bin/time -v:
# wall and CPU time, peak resident memory (maximum resident set size), and
# the time per ledger line beside the XML -> XML e-document path's time per
# record, measured in the same run (the target of issue 15: at most 3×).
#
#   bench/saft.sh                     # 1M and 5M ledger lines
#   bench/saft.sh 1000000             # some sizes
#   SAFT_XMLXML=0 bench/saft.sh       # without the XML -> XML reference
#   SAFT_BIN=/tmp/erpipe-old bench/saft.sh   # another build (before/after)
#
# The ledger is the one BenchmarkSAFT (templates/saft_bench_test.go) makes:
# transactions of 4 lines in 12 journals over the year, on 200 accounts,
# with 2,000 customers; the file is made (validated against the 1.30 schema,
# its control totals checked) for the whole year. Data and outputs live in
# /tmp/erbench (generated on the first run, never committed). Prints one
# markdown table row per size. Needs /usr/bin/time (Debian: apt-get install
# time).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${ERB_SHARED:-$(cd "$repo/../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)}
E=/tmp/erbench B=$E/bin D=$E/data O=$E/out
mkdir -p "$B" "$D" "$O"
sizes=("$@")
[[ ${#sizes[@]} -eq 0 ]] && sizes=(1000000 5000000)

bin=${SAFT_BIN:-$B/erpipe}
[[ -n ${SAFT_BIN:-} ]] || (cd "$repo" && go build -o "$bin" ./cmd/erpipe)
build=${SAFT_BUILD:-$(if [[ -n ${SAFT_BIN:-} ]]; then basename "$bin"; else cd "$repo" && git describe --always --dirty; fi)}

# ledger LINES: the input of LINES ledger lines (and the Company, Account and
# Customer rows).
ledger() {
  local f=$D/saft_$1.csv
  if [[ ! -s $f ]]; then
    awk -v lines="$1" 'BEGIN {
      print "Record,ID,Name,Registration number,Street,City,Postal code,Country,Contact first name,Contact last name,Telephone,Currency,Period start,Period end,Grouping category,Grouping code,Opening balance,Journal,Journal description,Journal type,Transaction,Date,Line no,Description,Account,Customer,Supplier,Debit,Credit"
      print "Company,,Benchmark AS,987654321,Gate 1,Oslo,0150,NO,Kari,Nordmann,+47 22 00 00 00,NOK,2026-01-01,2026-12-31,,,,,,,,,,,,,,,"
      for (a = 0; a < 200; a++) {
        printf "Account,%d,Konto %d,,,,,,,,,,,,RF-1167,%d,%d.%02d,,,,,,,,,,,,\n", 1000 + a * 10, a, 1000 + a * 10, (a - 100) * 1000, a % 100
      }
      for (c = 0; c < 2000; c++) printf "Customer,%d,Kunde %d AS,9%08d,,,,,,,,,,,,,,,,,,,,,,,,,\n", 10000 + c, c, c
      for (tx = 0; tx < lines / 4; tx++) {
        j = tx % 12
        date = sprintf("2026-%02d-%02d", 1 + tx % 12, 1 + tx % 28)
        amt = sprintf("%d.%02d", 100 + tx % 9000, tx % 100)
        for (k = 0; k < 4; k++) acc[k] = 1000 + ((tx * 7 + k * 13) % 200) * 10
        printf "Line,,,,,,,,,,,,,,,,,J%02d,Journal %d,GL,T%07d,%s,1,Bilag %d,%d,%d,,%s,\n", j, j, tx, date, tx, acc[0], 10000 + tx % 2000, amt
        printf "Line,,,,,,,,,,,,,,,,,J%02d,Journal %d,GL,T%07d,%s,2,Bilag %d,%d,,,,%s\n", j, j, tx, date, tx, acc[1], amt
        printf "Line,,,,,,,,,,,,,,,,,J%02d,Journal %d,GL,T%07d,%s,3,Bilag %d,%d,,,%s,\n", j, j, tx, date, tx, acc[2], amt
        printf "Line,,,,,,,,,,,,,,,,,J%02d,Journal %d,GL,T%07d,%s,4,Bilag %d,%d,,,,%s\n", j, j, tx, date, tx, acc[3], amt
      }
    }' > "$f.tmp"
    mv "$f.tmp" "$f"
  fi
  echo "$f"
}

# measure TEMPLATE INPUT: "wall-s cpu-s peak-rss-MB output-bytes" of one
# erpipe transform run.
measure() {
  local out=$O/erp-saft t=$O/saft-time.txt
  rm -rf "$out" && mkdir -p "$out"
  if ! /usr/bin/time -v "$bin" transform -t "$1" --out "$out" "$2" > "$O/saft-stdout.txt" 2> "$t"; then
    cat "$O/saft-stdout.txt" "$t" >&2
    echo "bench/saft.sh: erpipe transform failed on $2" >&2
    exit 1
  fi
  local size
  size=$(du -cb "$out"/* | tail -1 | cut -f1)
  rm -rf "$out" # 1.7 GB at 5M lines
  awk -F': ' -v out="$size" '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; wall = s }
    /User time/ { cpu += $2 } /System time/ { cpu += $2 }
    /Maximum resident set size/ { rss = $2 / 1024 }
    END { printf "%.2f %.2f %.0f %d\n", wall, cpu, rss, out }' "$t"
}

# The XML -> XML e-document path of bench/compare.sh (250k records), for
# its time per record in the same conditions.
ref=""
if [[ ${SAFT_XMLXML:-1} != 0 && -d $shared ]]; then
  [[ -s $D/journal_250k.xml ]] || { (cd "$shared" && go build -o "$B/" ./gen) && "$B/gen" -format xml -rows 250000 -out "$D/journal_250k.xml"; }
  read -r refwall _ _ _ < <(measure "$repo/bench/templates/xml-xml.yaml" "$D/journal_250k.xml")
  ref=$(awk -v w="$refwall" 'BEGIN { printf "%.1f", w / 250000 * 1e6 }')
  echo "XML -> XML e-document, 250k records: $refwall s, $ref µs per record" >&2
fi

echo "<!-- build $build -->"
echo "| ledger lines | input MB | SAF-T file MB | wall s | CPU s | µs per line | vs XML -> XML per record | peak RSS MB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  in=$(ledger "$n")
  read -r w c r o < <(measure saft-no "$in")
  awk -v n="$n" -v w="$w" -v c="$c" -v r="$r" -v o="$o" -v insz="$(stat -c %s "$in")" -v ref="$ref" 'BEGIN {
    us = w / n * 1e6
    printf "| %d | %.0f | %.0f | %.1f | %.1f | %.1f | %s | %d |\n", n, insz / 1e6, o / 1e6, w, c, us, (ref == "" ? "" : sprintf("%.2f×", us / ref)), r }'
done
echo
echo "erpipe $build, $(nproc) cores, $(go version | cut -d' ' -f3)${ref:+; the XML -> XML path in the same run: $refwall s for 250k records, $ref µs per record}; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
