# Shared by the bench scripts (sourced from the repository root). Each
# function names the calling script in its errors.

# Sets N (the script's first argument, default 100000), SEED (default 1) and
# TARGET (where cargo builds: CARGO_TARGET_DIR, else target).
bench_defaults() {
    N="${1:-100000}"
    SEED="${SEED:-1}"
    TARGET="${CARGO_TARGET_DIR:-target}"
}

# For the import benchmarks: sets N and SEED, checks for GNU time (wall, CPU and peak RSS),
# builds the release binary and the generator, makes TMP (removed on exit)
# and sets KURA (KURA=path/to/other/kura measures another build).
bench_import_setup() {
    bench_defaults "$@"
    if [[ ! -x /usr/bin/time ]]; then
        echo "$(basename "$0"): /usr/bin/time (GNU time) is needed to measure time and peak RSS" >&2
        exit 2
    fi
    echo "building release binaries..." >&2
    cargo build --release --bins --examples --quiet
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/kura-bench.XXXXXX")"
    trap 'rm -rf "$TMP"' EXIT
    KURA="${KURA:-$TARGET/release/kura}"
}

# For the query benchmarks: sets N, SEED, RUNS (default 30), KURA and ARCHIVE
# (see bench_archive) and builds the release binary.
bench_query_setup() {
    bench_defaults "$@"
    RUNS="${RUNS:-30}"
    KURA="${KURA:-$TARGET/release/kura}"
    bench_archive
    cargo build --release --bins --quiet
}

# Sets MAIL: the mail of MAIL=DIR read once (so the page cache is warm, as it
# is for freshly generated mail), else N generated messages in $1.
bench_mail() {
    MAIL="${MAIL:-}"
    if [[ -z "$MAIL" ]]; then
        MAIL="$1"
        "$TARGET"/release/examples/gen_mailbox --out "$MAIL" --messages "$N" --seed "$SEED" \
            --format "${FORMAT:-maildir}" >&2
    else
        find "$MAIL" -type f -print0 | xargs -0 cat > /dev/null
    fi
}

# Sets ARCHIVE: ARCHIVE=DIR as given, else the archive of N messages kept in
# target/bench/, built with bench/import.sh the first time.
bench_archive() {
    local me
    me="$(basename "$0")"
    if [[ -z "${ARCHIVE:-}" ]]; then
        ARCHIVE="target/bench/archive-$N-seed$SEED"
        if [[ ! -d "$ARCHIVE" ]]; then
            echo "no archive at $ARCHIVE: building one with bench/import.sh $N" >&2
            KEEP_ARCHIVE="$ARCHIVE" SEED="$SEED" bench/import.sh "$N" >&2 || true
            [[ -d "$ARCHIVE" ]] || { echo "$me: could not build $ARCHIVE" >&2; exit 2; }
        fi
    else
        [[ -d "$ARCHIVE" ]] || { echo "$me: ARCHIVE=$ARCHIVE does not exist" >&2; exit 2; }
    fi
}
