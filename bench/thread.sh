#!/usr/bin/env bash
# Thread benchmark: on an archive of N synthetic messages (default 100000),
# finds the longest conversation (the generator writes a few of 45-60
# messages) and runs `kura thread` on it (text and JSON) and `kura show` on
# its last message, 30 times each, printing median and p90 against the bar in
# bench/README.md (median < 15 ms). Exit status 1 when the bar is missed.
# The other threading bar (under 10% of import time) is printed by import.sh.
#
#   bench/thread.sh [N]
#   ARCHIVE=path/to/archive bench/thread.sh     # an existing archive
set -euo pipefail

cd "$(dirname "$0")/.."
source bench/lib.sh
bench_query_setup "$@"

python3 - "$KURA" "$ARCHIVE" "$RUNS" <<'PY'
import json, os, sqlite3, subprocess, sys

sys.path.insert(0, "bench")
from timing import against_bar

kura, archive, runs = sys.argv[1:4]
runs = int(runs)
BAR_MS = 15.0

# The longest thread, read straight from the store (read-only).
db = sqlite3.connect(f"file:{os.path.join(archive, 'kura.sqlite')}?mode=ro", uri=True)
thread, size = db.execute(
    "SELECT thread, count(*) AS n FROM messages GROUP BY thread ORDER BY n DESC, thread LIMIT 1"
).fetchone()
(last_id,) = db.execute(
    "SELECT message_id FROM messages WHERE thread = ? ORDER BY date DESC, id DESC LIMIT 1", (thread,)
).fetchone()
total = db.execute("SELECT count(*) FROM messages").fetchone()[0]
db.close()

# Check what is measured: the JSON tree holds the whole thread.
tree = json.loads(subprocess.run([kura, "--archive", archive, "thread", "--format", "json", str(thread)],
                                 check=True, capture_output=True, text=True).stdout)
def nodes(v):
    if isinstance(v, list):
        return sum(nodes(x) for x in v)
    return (1 if v.get("message_id") else 0) + nodes(v.get("children", []))
in_tree = nodes(tree["tree"])

print(f"archive {archive} ({total} messages), thread {thread}: {size} messages "
      f"({in_tree} in the JSON tree), {runs} runs per command")
commands = [
    ("thread (text)", [kura, "--archive", archive, "thread", str(thread)]),
    ("thread --format json", [kura, "--archive", archive, "thread", "--format", "json", str(thread)]),
    ("thread --body", [kura, "--archive", archive, "thread", "--body", str(thread)]),
    ("show (last message)", [kura, "--archive", archive, "show", last_id]),
]
missed = size < 50 or in_tree != size
if size < 50:
    print(f"  the longest thread has {size} messages: the bar is for 50 or more")
if in_tree != size:
    print(f"  the JSON tree holds {in_tree} messages, the thread {size}")
for name, argv in commands:
    med, slow, ok = against_bar(argv, runs, BAR_MS)
    missed |= not ok
    print(f"  {name:22} {med:7.1f}ms median {slow:7.1f}ms p90 {'' if ok else ' MISSED (bar: median < 15 ms)'}")
sys.exit(1 if missed else 0)
PY
