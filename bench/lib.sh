# Shared by the bench scripts (sourced from the repository root, after N and
# SEED are set). Each function names the calling script in its errors.

# Sets MAIL: the mail of MAIL=DIR read once (so the page cache is warm, as it
# is for freshly generated mail), else N generated messages in $1.
bench_mail() {
    MAIL="${MAIL:-}"
    if [[ -z "$MAIL" ]]; then
        MAIL="$1"
        target/release/examples/gen_mailbox --out "$MAIL" --messages "$N" --seed "$SEED" \
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
