#!/usr/bin/env bash
# bench/jobspage.sh: the console's jobs list at scale. Fills a journal
# with $JOBS jobs (default 100,000) and times GET /api/v1/jobs on the real
# API server over loopback: the first page of 50, a page 50,000 jobs deep
# (cursor), a status and a pipeline filter, two searches, and the old
# unpaged ?limit=500. Prints a markdown table (ms a request, the mean of
# N requests each). See bench/jobspage/jobspage_test.go.
#
#   bench/jobspage.sh
#   JOBS=1000000 N=20 bench/jobspage.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-100}
export JOBS=${JOBS:-100000}
out=$(cd "$repo" && go test ./bench/jobspage -run '^$' -bench JobsPage -benchtime "${N}x" -v 2>&1)
echo "$out" | grep -E 'journal of' | sed 's/^ *jobspage_test.go:[0-9]*: /<!-- /; s/$/ -->/'
echo "| request ($JOBS jobs) | ms |"
echo "|---|---|"
echo "$out" | awk '/^BenchmarkJobsPage\/.*ns\/op/ { split($1, a, "/"); sub(/-[0-9]+$/, "", a[2]); printf "| %s | %.1f |\n", a[2], $3 / 1e6 }'
