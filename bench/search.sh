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

N="${1:-100000}"
SEED="${SEED:-1}"
RUNS="${RUNS:-30}"

cd "$(dirname "$0")/.."

KURA="${KURA:-target/release/kura}"
if [[ -z "${ARCHIVE:-}" ]]; then
    ARCHIVE="target/bench/archive-$N-seed$SEED"
    if [[ ! -d "$ARCHIVE" ]]; then
        echo "no archive at $ARCHIVE: building one with bench/import.sh $N" >&2
        KEEP_ARCHIVE="$ARCHIVE" SEED="$SEED" bench/import.sh "$N" >&2 || true
        [[ -d "$ARCHIVE" ]] || { echo "search.sh: could not build $ARCHIVE" >&2; exit 2; }
    fi
else
    [[ -d "$ARCHIVE" ]] || { echo "search.sh: ARCHIVE=$ARCHIVE does not exist" >&2; exit 2; }
fi
cargo build --release --bins --quiet

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

HYPERFINE=""
if command -v hyperfine > /dev/null 2>&1; then
    HYPERFINE="$(command -v hyperfine)"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/kura-search.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

python3 - "$KURA" "$ARCHIVE" "$RUNS" "$HYPERFINE" "$TMP" "${QUERIES[@]}" <<'PY'
import json, os, shlex, statistics, subprocess, sys, time

kura, archive, runs, hyperfine, tmp = sys.argv[1:6]
runs = int(runs)
queries = sys.argv[6:]
BAR_MS = 15.0

def run_times(argv):
    """Wall times in ms of `runs` runs of argv (after one warm-up run)."""
    if hyperfine:
        out = os.path.join(tmp, "hf.json")
        subprocess.run([hyperfine, "-N", "--style", "none", "--warmup", "2", "--runs", str(runs),
                        "--export-json", out, shlex.join(argv)],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return [t * 1000 for t in json.load(f)["results"][0]["times"]]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - t0) * 1000)
    return times

def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]

print(f"archive {archive}, {runs} runs per command, timer: {'hyperfine' if hyperfine else 'python3'}")
print(f"{'command':7} {'query':48} {'hits':>8} {'median':>9} {'p90':>9}")
missed = False
for q in queries:
    count_argv = [kura, "--archive", archive, "count", "--", q]
    search_argv = [kura, "--archive", archive, "search", "--limit", "50", "--format", "json", "--", q]
    res = subprocess.run(count_argv, check=True, capture_output=True, text=True)
    hits = (res.stdout.strip().splitlines() or ["?"])[0]
    for name, argv in (("search", search_argv), ("count", count_argv)):
        t = run_times(argv)
        med = statistics.median(t)
        ok = med < BAR_MS
        missed |= not ok
        print(f"{name:7} {q:48} {hits:>8} {med:7.1f}ms {p90(t):7.1f}ms {'' if ok else ' MISSED (bar: median < 15 ms)'}")
sys.exit(1 if missed else 0)
PY
