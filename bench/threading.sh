#!/usr/bin/env bash
# Threading cost: imports the same generated mail into fresh archives,
# alternately with threading and without it (KURA_BENCH_NO_THREADING=1: every
# message its own thread, for measuring only), PAIRS times each, and prints
# the median wall and CPU time of both and what threading adds, against the
# bar in bench/README.md (under 10% of import time). Exit status 1 when the
# bar is missed.
#
#   bench/threading.sh [N]          # default 100000 messages, 3 pairs
#   PAIRS=5 bench/threading.sh 50000
#   MAIL=path/to/maildir bench/threading.sh
set -euo pipefail

PAIRS="${PAIRS:-3}"

cd "$(dirname "$0")/.."
source bench/lib.sh
bench_import_setup "$@"
bench_mail "$TMP/mail"

# One import into a fresh archive; appends "wall user sys" to $TMP/$1.
timed() {
    local name="$1"
    shift
    rm -rf "$TMP/archive"
    if ! env "$@" /usr/bin/time -f '%e %U %S' -a -o "$TMP/$name" \
        "$KURA" --archive "$TMP/archive" --quiet import "$MAIL" 2> "$TMP/stderr"; then
        echo "threading.sh: import failed:" >&2
        cat "$TMP/stderr" >&2
        exit 1
    fi
}
for ((i = 0; i < PAIRS; i++)); do
    timed with KURA_BENCH=1
    timed without KURA_BENCH_NO_THREADING=1
done

python3 - "$TMP/with" "$TMP/without" "$PAIRS" <<'PY'
import statistics, sys

def load(path):
    rows = [list(map(float, l.split())) for l in open(path) if l.strip() and l[0].isdigit()]
    return statistics.median(r[0] for r in rows), statistics.median(r[1] + r[2] for r in rows)

(w_wall, w_cpu), (o_wall, o_cpu) = load(sys.argv[1]), load(sys.argv[2])
added = (w_wall - o_wall) / o_wall
print(f"import with and without threading, median of {sys.argv[3]} alternating runs each")
print(f"  with threading      wall {w_wall:7.2f} s   cpu {w_cpu:7.2f} s")
print(f"  without threading   wall {o_wall:7.2f} s   cpu {o_cpu:7.2f} s")
ok = added < 0.10
print(f"  threading adds      {100 * added:5.1f}% wall, {100 * (w_cpu - o_cpu) / o_cpu:5.1f}% cpu"
      f"   bar < 10% of import   {'ok' if ok else 'MISSED'}")
sys.exit(0 if ok else 1)
PY
