# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kura_global_optspecs
    string join \n archive= q/quiet config= h/help V/version
end

function __fish_kura_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kura_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kura_using_subcommand
    set -l cmd (__fish_kura_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kura -n "__fish_kura_needs_command" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_needs_command" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_needs_command" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_needs_command" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_needs_command" -f -a "import" -d 'Import Maildir folders, mbox files (.mbox, .mbox.gz) and .eml files'
complete -c kura -n "__fish_kura_needs_command" -f -a "search" -d 'Search messages (or threads with --threads)'
complete -c kura -n "__fish_kura_needs_command" -f -a "count" -d 'Count messages (or threads) matching a query'
complete -c kura -n "__fish_kura_needs_command" -f -a "show" -d 'Show one message: decoded headers, where it was found, text and attachments, or the raw original'
complete -c kura -n "__fish_kura_needs_command" -f -a "thread" -d 'Show a conversation as a tree'
complete -c kura -n "__fish_kura_needs_command" -f -a "tag" -d 'Add or remove tags on the messages matching a query; dump or restore all tags'
complete -c kura -n "__fish_kura_needs_command" -f -a "tags" -d 'List the tags in use, with their message counts'
complete -c kura -n "__fish_kura_needs_command" -f -a "rejects" -d 'List inputs that could not be imported, with the reason (--retry: try them again)'
complete -c kura -n "__fish_kura_needs_command" -f -a "stats" -d 'Archive statistics: messages, threads, duplicates, sizes, messages per month'
complete -c kura -n "__fish_kura_needs_command" -f -a "check" -d 'Verify the archive (database, index, originals, threads); --repair fixes what it can'
complete -c kura -n "__fish_kura_needs_command" -f -a "reindex" -d 'Rebuild the full-text index from the stored originals, and group the messages into threads anew'
complete -c kura -n "__fish_kura_needs_command" -f -a "gc" -d 'Compact the archive: merge index segments, vacuum the database'
complete -c kura -n "__fish_kura_needs_command" -f -a "erase" -d 'Erase the messages matching a query for good: metadata, index entries, stored originals'
complete -c kura -n "__fish_kura_needs_command" -f -a "log" -d 'The import history, newest first'
complete -c kura -n "__fish_kura_needs_command" -f -a "customers" -d 'List the customers of the archive (or of the messages matching a query)'
complete -c kura -n "__fish_kura_needs_command" -f -a "export" -d 'Export one customer\'s complete history (mbox, JSON, CSV or one HTML file)'
complete -c kura -n "__fish_kura_needs_command" -f -a "audit" -d 'List the exports and erasures made in the archive (who, when, what, where)'
complete -c kura -n "__fish_kura_needs_command" -f -a "pending" -d 'List conversations waiting for a staff reply (exit status 1 when there are any)'
complete -c kura -n "__fish_kura_needs_command" -f -a "report" -d 'Response times: inbound messages, answered, unanswered, late replies, double answers'
complete -c kura -n "__fish_kura_needs_command" -f -a "answers" -d 'Past staff answers to customer messages matching a query: the replies to reuse'
complete -c kura -n "__fish_kura_needs_command" -f -a "config" -d 'Print the effective configuration and where each value came from'
complete -c kura -n "__fish_kura_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c kura -n "__fish_kura_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kura -n "__fish_kura_using_subcommand import" -l subject-window -d 'Join reference-less replies to threads by subject within this window, in days [default: 30; reindex: the archive\'s]' -r
complete -c kura -n "__fish_kura_using_subcommand import" -s j -l jobs -d 'Parse threads (default: one per core)' -r
complete -c kura -n "__fish_kura_using_subcommand import" -l batch-size -d 'New messages per commit' -r
complete -c kura -n "__fish_kura_using_subcommand import" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand import" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand import" -l wait -d 'Wait for a running import to finish instead of exiting with status 75'
complete -c kura -n "__fish_kura_using_subcommand import" -l no-subject-threading -d 'Do not join reference-less replies to threads by subject'
complete -c kura -n "__fish_kura_using_subcommand import" -l subject-threading -d 'Join reference-less replies to threads by subject within the archive\'s last window, which it keeps while --no-subject-threading has this off'
complete -c kura -n "__fish_kura_using_subcommand import" -s v -l verbose -d 'List the files that were not taken for mail, and why; say how long threading took'
complete -c kura -n "__fish_kura_using_subcommand import" -l json -d 'Print the summary as JSON on stdout'
complete -c kura -n "__fish_kura_using_subcommand import" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand import" -s h -l help -d 'Print help'
complete -c kura -n "__fish_kura_using_subcommand import" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand search" -l format -r -f -a "auto\t'A table on a terminal, text lines otherwise'
table\t'A table (comfy-table)'
json\t'One JSON array'
jsonl\t'One JSON object per line, streamed'
text\t'One line per item'
ids\t'Message-IDs (or thread ids), one per line'"
complete -c kura -n "__fish_kura_using_subcommand search" -l sort -d 'Newest or oldest first (threads: by their latest message), or the best match first' -r -f -a "newest\t''
oldest\t''
relevance\t''"
complete -c kura -n "__fish_kura_using_subcommand search" -l limit -d 'At most this many results (default: 50 on a terminal, all otherwise)' -r
complete -c kura -n "__fish_kura_using_subcommand search" -l offset -d 'Skip this many results' -r
complete -c kura -n "__fish_kura_using_subcommand search" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand search" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand search" -l utc -d 'Interpret calendar dates in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand search" -l threads -d 'List threads instead of messages'
complete -c kura -n "__fish_kura_using_subcommand search" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand search" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand search" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand count" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand count" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand count" -l utc -d 'Interpret calendar dates in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand count" -l threads -d 'Count threads instead of messages'
complete -c kura -n "__fish_kura_using_subcommand count" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand count" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand count" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand show" -l part -d 'Save attachment N (as listed by show) to --output' -r
complete -c kura -n "__fish_kura_using_subcommand show" -s o -l output -d 'Where --part writes (a file, a directory to put the sanitised file name in, or `-`: standard output)' -r -F
complete -c kura -n "__fish_kura_using_subcommand show" -l format -r -f -a "auto\t'The same as text'
text\t'Headers, attachments, then the decoded text'
json\t'One JSON object: the message, with `body`'
jsonl\t'The same object as json, on one line'"
complete -c kura -n "__fish_kura_using_subcommand show" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand show" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand show" -l raw -d 'Print the exact original bytes'
complete -c kura -n "__fish_kura_using_subcommand show" -l unquoted -d 'Only the text the message writes itself, not what it quotes or forwards (the rules of `unquoted:`): a past answer to reuse'
complete -c kura -n "__fish_kura_using_subcommand show" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand show" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand thread" -l query -d 'Show the thread of each message matching this query' -r
complete -c kura -n "__fish_kura_using_subcommand thread" -l format -r -f -a "auto\t'The same as text'
text\t'Each thread as an indented tree'
json\t'One JSON object per thread; with --query, one JSON array of them'
jsonl\t'One JSON object per thread per line, streamed'
ids\t'Message-IDs of each thread\'s messages, oldest first, one per line'"
complete -c kura -n "__fish_kura_using_subcommand thread" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand thread" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand thread" -l body -d 'Include the decoded text of each message (quoted lines dimmed on a terminal)'
complete -c kura -n "__fish_kura_using_subcommand thread" -l unquoted -d 'Include only the text each message writes itself, not what it quotes or forwards (implies --body): a long conversation without its repeated quotes'
complete -c kura -n "__fish_kura_using_subcommand thread" -l utc
complete -c kura -n "__fish_kura_using_subcommand thread" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand thread" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand thread" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand tag" -l add -d 'Add the tag TAG (may be repeated), as +TAG does' -r
complete -c kura -n "__fish_kura_using_subcommand tag" -l remove -d 'Remove the tag TAG (may be repeated), as -TAG does; also a tag named like an option (--remove q)' -r
complete -c kura -n "__fish_kura_using_subcommand tag" -l dump -d 'Write the tags of every tagged message to FILE (`-`: standard output)' -r -F
complete -c kura -n "__fish_kura_using_subcommand tag" -l restore -d 'Replace the tags of the messages listed in FILE (`-`: standard input), as written by --dump' -r -F
complete -c kura -n "__fish_kura_using_subcommand tag" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand tag" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand tag" -l utc -d 'Interpret calendar dates of the query in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand tag" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand tag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand tag" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand tags" -l format -r -f -a "auto\t'A table on a terminal, text lines otherwise'
table\t'A table (comfy-table)'
json\t'One JSON array'
jsonl\t'One JSON object per line, streamed'
text\t'One line per item'
ids\t'Message-IDs (or thread ids), one per line'"
complete -c kura -n "__fish_kura_using_subcommand tags" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand tags" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand tags" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand tags" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand tags" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand rejects" -l format -r -f -a "auto\t'A table on a terminal, text lines otherwise'
table\t'A table (comfy-table)'
json\t'One JSON array'
jsonl\t'One JSON object per line, streamed'
text\t'One line per item'
ids\t'Message-IDs (or thread ids), one per line'"
complete -c kura -n "__fish_kura_using_subcommand rejects" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand rejects" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand rejects" -l retry -d 'Parse every reject again (after an upgrade of kura): those that are mail now are imported and leave the list'
complete -c kura -n "__fish_kura_using_subcommand rejects" -l wait -d 'With --retry: wait for a running import instead of exiting with status 75'
complete -c kura -n "__fish_kura_using_subcommand rejects" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand rejects" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand rejects" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand stats" -l format -r -f -a "text\t'Lines for people (a bar chart on a terminal)'
json\t'One JSON object'"
complete -c kura -n "__fish_kura_using_subcommand stats" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand stats" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand stats" -l utc -d 'Interpret months in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand stats" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand stats" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand check" -l format -r -f -a "text\t'Lines for people (a bar chart on a terminal)'
json\t'One JSON object'"
complete -c kura -n "__fish_kura_using_subcommand check" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand check" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand check" -l repair -d 'Fix what can be fixed: re-index missing and stale messages from their originals, drop stray index documents, restore thread links'
complete -c kura -n "__fish_kura_using_subcommand check" -l wait -d 'Wait for a running import instead of exiting with status 75'
complete -c kura -n "__fish_kura_using_subcommand check" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand check" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand reindex" -l subject-window -d 'Join reference-less replies to threads by subject within this window, in days [default: 30; reindex: the archive\'s]' -r
complete -c kura -n "__fish_kura_using_subcommand reindex" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand reindex" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand reindex" -l wait -d 'Wait for a running import instead of exiting with status 75'
complete -c kura -n "__fish_kura_using_subcommand reindex" -l no-subject-threading -d 'Do not join reference-less replies to threads by subject'
complete -c kura -n "__fish_kura_using_subcommand reindex" -l subject-threading -d 'Join reference-less replies to threads by subject within the archive\'s last window, which it keeps while --no-subject-threading has this off'
complete -c kura -n "__fish_kura_using_subcommand reindex" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand reindex" -s h -l help -d 'Print help'
complete -c kura -n "__fish_kura_using_subcommand reindex" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand gc" -l format -r -f -a "text\t'Lines for people (a bar chart on a terminal)'
json\t'One JSON object'"
complete -c kura -n "__fish_kura_using_subcommand gc" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand gc" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand gc" -l wait -d 'Wait for a running import instead of exiting with status 75'
complete -c kura -n "__fish_kura_using_subcommand gc" -l repack -d 'Also rewrite the originals into new packs, compressed with a dictionary trained afresh: reclaims the room of erased originals and drops the old dictionary (pieces of the mail it was trained on)'
complete -c kura -n "__fish_kura_using_subcommand gc" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand gc" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand gc" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand erase" -l format -d 'The summary\'s format (json: {messages, copies, original_bytes, segments_rewritten, dry_run})' -r -f -a "text\t'Lines for people (a bar chart on a terminal)'
json\t'One JSON object'"
complete -c kura -n "__fish_kura_using_subcommand erase" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand erase" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand erase" -l utc -d 'Interpret calendar dates in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand erase" -s y -l yes -d 'Erase without asking (needed when not on a terminal)'
complete -c kura -n "__fish_kura_using_subcommand erase" -l dry-run -d 'List the messages that would be erased; erase nothing'
complete -c kura -n "__fish_kura_using_subcommand erase" -l wait -d 'Wait for a running import instead of exiting with status 75'
complete -c kura -n "__fish_kura_using_subcommand erase" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand erase" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand erase" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand log" -l format -r -f -a "auto\t'A table on a terminal, text lines otherwise'
table\t'A table (comfy-table)'
json\t'One JSON array'
jsonl\t'One JSON object per line, streamed'
text\t'One line per item'
ids\t'Message-IDs (or thread ids), one per line'"
complete -c kura -n "__fish_kura_using_subcommand log" -l limit -d 'At most this many imports (newest first)' -r
complete -c kura -n "__fish_kura_using_subcommand log" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand log" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand log" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand log" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand customers" -l show -d 'One customer in detail: a key, an address or a domain (subdomains fold)' -r
complete -c kura -n "__fish_kura_using_subcommand customers" -l sort -r -f -a "last\t'Last contact, newest first'
messages\t'Number of messages, most first'
name\t'Name (else key), alphabetically'"
complete -c kura -n "__fish_kura_using_subcommand customers" -l format -r -f -a "auto\t'A table on a terminal, text lines otherwise'
table\t'A table (comfy-table)'
text\t'One line per item'
json\t'One JSON array; one object for report and for customers --show'
jsonl\t'One JSON object per line'
csv\t'Comma-separated values with a header line (RFC 4180 quoting)'"
complete -c kura -n "__fish_kura_using_subcommand customers" -l limit -d 'At most this many customers (default: 50 on a terminal, all otherwise)' -r
complete -c kura -n "__fish_kura_using_subcommand customers" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand customers" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand customers" -l utc -d 'Dates and months in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand customers" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand customers" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand customers" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand export" -l customer -d 'The customer: a key, an address or a domain (subdomains fold)' -r
complete -c kura -n "__fish_kura_using_subcommand export" -l since -d 'Only messages from this date on (2024-03-05, 2024-03, 2024, 3m, ...)' -r
complete -c kura -n "__fish_kura_using_subcommand export" -l until -d 'Only messages up to and including this date' -r
complete -c kura -n "__fish_kura_using_subcommand export" -l format -r -f -a "mbox\t'The original messages, mboxrd-quoted'
jsonl\t'One JSON object per message and line'
json\t'One JSON array'
csv\t'Comma-separated values with a header line'
html\t'One self-contained HTML page'"
complete -c kura -n "__fish_kura_using_subcommand export" -s o -l output -d 'The file to write, created owner-only (default, or `-`: standard output)' -r -F
complete -c kura -n "__fish_kura_using_subcommand export" -l attachments -d 'Save the attachments into this directory (created if needed)' -r -F
complete -c kura -n "__fish_kura_using_subcommand export" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand export" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand export" -l excel -d 'CSV for spreadsheet programs: a UTF-8 byte order mark and CRLF line ends'
complete -c kura -n "__fish_kura_using_subcommand export" -l redact -d 'Mask e-mail addresses, phone numbers and postal codes (not with mbox)'
complete -c kura -n "__fish_kura_using_subcommand export" -l no-mentions -d 'Leave out the internal mail (visit and phone reports) that mentions the customer by name without being addressed to it'
complete -c kura -n "__fish_kura_using_subcommand export" -l utc -d 'Dates in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand export" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand export" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand audit" -l format -r -f -a "auto\t'A table on a terminal, text lines otherwise'
table\t'A table (comfy-table)'
json\t'One JSON array'
jsonl\t'One JSON object per line, streamed'
text\t'One line per item'
ids\t'Message-IDs (or thread ids), one per line'"
complete -c kura -n "__fish_kura_using_subcommand audit" -l limit -d 'At most this many entries (newest first)' -r
complete -c kura -n "__fish_kura_using_subcommand audit" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand audit" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand audit" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand audit" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand pending" -l older-than -d 'Only conversations waiting at least this long: 30m, 24h, 3d, 2w (of working time when working_hours is configured)' -r
complete -c kura -n "__fish_kura_using_subcommand pending" -l sort -r -f -a "oldest\t'Waiting longest first'
newest\t'Waiting shortest first'"
complete -c kura -n "__fish_kura_using_subcommand pending" -l format -r -f -a "auto\t'A table on a terminal, text lines otherwise'
table\t'A table (comfy-table)'
text\t'One line per item'
json\t'One JSON array; one object for report and for customers --show'
jsonl\t'One JSON object per line'
csv\t'Comma-separated values with a header line (RFC 4180 quoting)'"
complete -c kura -n "__fish_kura_using_subcommand pending" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand pending" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand pending" -l wall-clock -d 'Count wall-clock time even when working_hours is configured'
complete -c kura -n "__fish_kura_using_subcommand pending" -l utc -d 'Dates in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand pending" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand pending" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand pending" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand report" -l since -d 'Only inbound messages from this date on (2024-03-05, 2024-03, 2024, 3m, ...)' -r
complete -c kura -n "__fish_kura_using_subcommand report" -l until -d 'Only inbound messages up to and including this date' -r
complete -c kura -n "__fish_kura_using_subcommand report" -l by -d 'Group the counts' -r -f -a "staff\t'The staff address of the first reply'
customer\t'The customer key'
month\t'The month of the inbound message'"
complete -c kura -n "__fish_kura_using_subcommand report" -l late -d 'Replies slower than this are late: 30m, 4h, 3d, 2w (of working time when working_hours is configured)' -r
complete -c kura -n "__fish_kura_using_subcommand report" -l window -d 'Two staff replying within this time after a message make a double answer' -r
complete -c kura -n "__fish_kura_using_subcommand report" -l format -r -f -a "auto\t'A table on a terminal, text lines otherwise'
table\t'A table (comfy-table)'
text\t'One line per item'
json\t'One JSON array; one object for report and for customers --show'
jsonl\t'One JSON object per line'
csv\t'Comma-separated values with a header line (RFC 4180 quoting)'"
complete -c kura -n "__fish_kura_using_subcommand report" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand report" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand report" -l wall-clock -d 'Count wall-clock time even when working_hours is configured'
complete -c kura -n "__fish_kura_using_subcommand report" -l utc -d 'Days and months in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand report" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand report" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand answers" -l limit -d 'At most this many answers (default: 10 on a terminal, all otherwise)' -r
complete -c kura -n "__fish_kura_using_subcommand answers" -l format -r -f -a "auto\t'The same as text'
text\t'Each question (date, sender, subject, snippet), then the answer\'s text'
json\t'One JSON array'
jsonl\t'One JSON object per line'"
complete -c kura -n "__fish_kura_using_subcommand answers" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand answers" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand answers" -l utc -d 'Interpret calendar dates in UTC instead of the local time zone'
complete -c kura -n "__fish_kura_using_subcommand answers" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand answers" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand answers" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand config" -l format -r -f -a "text\t'Lines of `key = value  # source`'
json\t'One JSON object'"
complete -c kura -n "__fish_kura_using_subcommand config" -l days-off -d 'Lists the days off of YEAR (1980 to 2099) on which the company would otherwise work (national holidays, days off every year, dates listed), instead of the configuration' -r
complete -c kura -n "__fish_kura_using_subcommand config" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand config" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand config" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kura -n "__fish_kura_using_subcommand config" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand completions" -l archive -d 'The archive directory (created on first import)' -r -F
complete -c kura -n "__fish_kura_using_subcommand completions" -l config -d 'The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml, else ~/.config/kura/config.toml, else config.toml in the archive)' -r -F
complete -c kura -n "__fish_kura_using_subcommand completions" -s q -l quiet -d 'Print nothing but errors (for cron)'
complete -c kura -n "__fish_kura_using_subcommand completions" -s h -l help -d 'Print help'
complete -c kura -n "__fish_kura_using_subcommand completions" -s V -l version -d 'Print version'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "import" -d 'Import Maildir folders, mbox files (.mbox, .mbox.gz) and .eml files'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "search" -d 'Search messages (or threads with --threads)'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "count" -d 'Count messages (or threads) matching a query'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "show" -d 'Show one message: decoded headers, where it was found, text and attachments, or the raw original'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "thread" -d 'Show a conversation as a tree'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "tag" -d 'Add or remove tags on the messages matching a query; dump or restore all tags'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "tags" -d 'List the tags in use, with their message counts'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "rejects" -d 'List inputs that could not be imported, with the reason (--retry: try them again)'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "stats" -d 'Archive statistics: messages, threads, duplicates, sizes, messages per month'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "check" -d 'Verify the archive (database, index, originals, threads); --repair fixes what it can'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "reindex" -d 'Rebuild the full-text index from the stored originals, and group the messages into threads anew'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "gc" -d 'Compact the archive: merge index segments, vacuum the database'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "erase" -d 'Erase the messages matching a query for good: metadata, index entries, stored originals'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "log" -d 'The import history, newest first'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "customers" -d 'List the customers of the archive (or of the messages matching a query)'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "export" -d 'Export one customer\'s complete history (mbox, JSON, CSV or one HTML file)'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "audit" -d 'List the exports and erasures made in the archive (who, when, what, where)'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "pending" -d 'List conversations waiting for a staff reply (exit status 1 when there are any)'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "report" -d 'Response times: inbound messages, answered, unanswered, late replies, double answers'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "answers" -d 'Past staff answers to customer messages matching a query: the replies to reuse'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "config" -d 'Print the effective configuration and where each value came from'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "completions" -d 'Print shell completions'
complete -c kura -n "__fish_kura_using_subcommand help; and not __fish_seen_subcommand_from import search count show thread tag tags rejects stats check reindex gc erase log customers export audit pending report answers config completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
