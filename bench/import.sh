#!/usr/bin/env bash
# Import benchmark: generates N synthetic messages (default 100000), imports them
# into a fresh archive, then imports the same mail again (nothing new) and then
# with a night's new mail beside it, and prints throughput, wall time, peak RSS
# and sizes against the bars in bench/README.md. Exit status 1 when a bar is
# missed.
#
#   bench/import.sh [N]
#   SEED=7 FORMAT=mbox bench/import.sh 20000
#   KEEP_ARCHIVE=target/bench/archive bench/import.sh   # keep the archive (for search.sh)
#   KURA=path/to/other/kura bench/import.sh             # measure another build
#   MAIL=path/to/maildir bench/import.sh                # import existing mail instead
#   COLD=1 bench/import.sh      # drop the page cache first (root): mail read from disk, as by a nightly cron
#   RUNS=5 bench/import.sh      # 5 fresh imports: each one's rate, the bars on the median run
set -euo pipefail

FORMAT="${FORMAT:-maildir}"
KEEP_ARCHIVE="${KEEP_ARCHIVE:-}"

cd "$(dirname "$0")/.."
source bench/lib.sh
bench_import_setup "$@"

if [[ -n "${MAIL:-}" ]]; then
    FORMAT="existing mail" # the count is what the import sees
fi
bench_mail "$TMP/mail"

# Runs one import (of MAIL, or of the paths after N) under GNU time; on
# failure shows kura's errors.
timed_import() {
    local n="$1"
    shift
    if ! /usr/bin/time -f '%e %M %U %S' -o "$TMP/time$n" \
        "$KURA" --archive "$TMP/archive" --quiet import --json "${@:-$MAIL}" \
        > "$TMP/summary$n.json" 2> "$TMP/stderr$n"; then
        echo "import.sh: import $n failed:" >&2
        cat "$TMP/stderr$n" >&2
        exit 1
    fi
}
# Drops the page cache (COLD=1).
drop_caches() {
    sync
    if ! echo 1 2> /dev/null > /proc/sys/vm/drop_caches; then
        echo "import.sh: COLD=1 needs root (it writes /proc/sys/vm/drop_caches)" >&2
        exit 2
    fi
}
RUNS="${RUNS:-1}"
# Fresh archives, RUNS times: wall time drifts from one period of a shared
# machine to the next, and the median run says more than any one run.
walls=()
for ((r = 1; r <= RUNS; r++)); do
    rm -rf "$TMP/archive"
    if [[ -n "${COLD:-}" ]]; then
        drop_caches
    fi
    timed_import "1.$r"
    read -r wall _ < <(tail -n 1 "$TMP/time1.$r")
    walls+=("$wall $r")
    if ((RUNS > 1)); then
        echo "import $r of $RUNS: $wall s" >&2
    fi
done
# The run of the median wall time (of an even number, the slower middle one).
median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$((RUNS / 2 + 1))p" | cut -d' ' -f2)
mv "$TMP/time1.$median" "$TMP/time1"
mv "$TMP/summary1.$median.json" "$TMP/summary1.json"
timed_import 2 # the same mail again, into the last run's archive: nothing new
# A night's new mail: 1% of N more messages (another seed), walked before the
# mail the archive has, as a nightly import finds them.
night=$((N / 100 > 0 ? N / 100 : 1))
"$TARGET"/release/examples/gen_mailbox --out "$TMP/night" --messages "$night" \
    --seed "$((SEED + 1))" --format maildir > /dev/null 2>&1
timed_import 3 "$TMP/night" "$MAIL"

read -r wall1 rss1_kb user1 sys1 < <(tail -n 1 "$TMP/time1")
read -r wall2 rss2_kb _ _ < <(tail -n 1 "$TMP/time2")
read -r wall3 rss3_kb _ _ < <(tail -n 1 "$TMP/time3")
raw=$(du -sb "$MAIL" | cut -f1)
archive=$(du -sb "$TMP/archive" | cut -f1)

status=0
python3 - "$N" "$wall1" "$rss1_kb" "$wall2" "$rss2_kb" "$raw" "$archive" "$user1" "$sys1" \
    "$FORMAT" "$TMP/summary1.json" "$TMP/summary2.json" "$RUNS" \
    "$TMP/summary3.json" "$wall3" "$rss3_kb" <<'PY' || status=$?
import json, sys
n, wall1, rss1, wall2, rss2, raw, archive, user1, sys1 = (float(x) for x in sys.argv[1:10])
fmt = sys.argv[10]
s1, s2 = (json.load(open(p)) for p in sys.argv[11:13])
n = float(s1["seen"])
def line(s):
    return (f"{s['seen']} seen, {s['new']} new, {s['duplicates']} duplicates, "
            f"{s['rejected']} rejected, {s['unchanged']} unchanged, {s['seconds']:.2f} s")
summary1, summary2 = line(s1), line(s2)
threading = s1["threading_seconds"] / max(s1["seconds"], 1e-3)
rate = n / max(wall1, 1e-3)
rss_mb = rss1 / 1024
ratio = archive / raw
bars = [
    ("import rate", f"{rate:,.0f} msg/s", rate >= 10_000, ">= 10,000 msg/s"),
    ("peak RSS", f"{rss_mb:,.0f} MB", rss_mb < 500, "< 500 MB"),
    ("archive / raw", f"{ratio:.2f}", ratio < 1.0, "< 1.00"),
]
runs = int(sys.argv[13])
print(f"import of {int(n)} messages ({fmt})" + (f", the median of {runs} runs" if runs > 1 else ""))
if summary1:
    print(f"  kura: {summary1}")
print(f"  wall time       {wall1:8.2f} s")
# CPU time drifts less than wall time on a shared machine: compare builds by it
# too. Cores busy near the machine's count means the import is CPU-bound.
cpu = user1 + sys1
print(f"  CPU time        {cpu:8.2f} s   ({cpu / max(wall1, 1e-3):.2f} cores busy, "
      f"{1e6 * cpu / max(n, 1):.0f} us of CPU per message)")
for name, value, ok, bar in bars:
    print(f"  {name:15} {value:>14}   bar {bar:16} {'ok' if ok else 'MISSED'}")
# Wall time inside the threading code of the writer thread (which other
# threads preempt): an upper bound of what threading adds; bench/threading.sh
# measures it against an import without threading.
print(f"  threading       {s1['threading_seconds']:8.2f} s   ({100 * threading:.1f}% of the import, an upper bound)")
print(f"  raw mail        {raw / 1e6:10.1f} MB")
print(f"  archive         {archive / 1e6:10.1f} MB")
print(f"second import (nothing new)")
if summary2:
    print(f"  kura: {summary2}")
print(f"  wall time       {wall2:8.2f} s   peak RSS {rss2 / 1024:,.0f} MB")
s3 = json.load(open(sys.argv[14]))
wall3, rss3 = float(sys.argv[15]), float(sys.argv[16])
print(f"a night's new mail ({s3['new'] + s3['duplicates']} messages, walked first, beside the others)")
print(f"  kura: {line(s3)}")
print(f"  wall time       {wall3:8.2f} s   peak RSS {rss3 / 1024:,.0f} MB")
sys.exit(0 if all(ok for _, _, ok, _ in bars) else 1)
PY

if [[ -n "$KEEP_ARCHIVE" ]]; then
    rm -rf "$KEEP_ARCHIVE"
    mkdir -p "$(dirname "$KEEP_ARCHIVE")"
    mv "$TMP/archive" "$KEEP_ARCHIVE"
    echo "archive kept in $KEEP_ARCHIVE" >&2
fi
exit "$status"
