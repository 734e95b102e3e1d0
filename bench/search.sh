#!/usr/bin/env bash
# Search benchmark: runs `kura search --limit 50 --format json` and `kura count`
# for five typical queries, 30 times each, on an archive of N synthetic messages
# (default 100000), and prints median and p90 per command against the bar in
# bench/README.md (median < 15 ms). Exit status 1 when the bar is missed.
#
#   bench/search.sh [N]
#   ARCHIVE=path/to/archive bench/search.sh     # an existing archive
#
# Without ARCHIVE, the archive is kept in target/bench/ between runs and built
# there with bench/import.sh the first time.
set -euo pipefail

cd "$(dirname "$0")/.."
source bench/lib.sh
bench_query_setup "$@"

# Staff addresses of the generated mailbox (examples/gen_mailbox.rs: same for every seed).
STAFF="sato@hibiki-bussan.co.jp"
OTHER_STAFF="suzuki@hibiki-bussan.co.jp"
QUERIES=(
    "delivery"
    "請求書"
    "from:$STAFF"
    "date:2022-01..2022-06"
    "請求書 date:2023 -from:$OTHER_STAFF"
)

python3 - "$KURA" "$ARCHIVE" "$RUNS" "${QUERIES[@]}" <<'PY'
import subprocess, sys

sys.path.insert(0, "bench")
from timing import against_bar, timer_name

kura, archive, runs = sys.argv[1:4]
runs = int(runs)
queries = sys.argv[4:]
BAR_MS = 15.0

print(f"archive {archive}, {runs} runs per command, timer: {timer_name()}")
print(f"{'command':7} {'query':48} {'hits':>8} {'median':>9} {'p90':>9}")
missed = False
for q in queries:
    count_argv = [kura, "--archive", archive, "count", "--", q]
    search_argv = [kura, "--archive", archive, "search", "--limit", "50", "--format", "json", "--", q]
    res = subprocess.run(count_argv, check=True, capture_output=True, text=True)
    hits = (res.stdout.strip().splitlines() or ["?"])[0]
    for name, argv in (("search", search_argv), ("count", count_argv)):
        med, slow, ok = against_bar(argv, runs, BAR_MS)
        missed |= not ok
        print(f"{name:7} {q:48} {hits:>8} {med:7.1f}ms {slow:7.1f}ms {'' if ok else ' MISSED (bar: median < 15 ms)'}")
sys.exit(1 if missed else 0)
PY
