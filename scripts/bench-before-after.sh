#!/usr/bin/env bash
# Runs a set of benchmarks with a binary from before a change and the current one, side by
# side: alternating before/after, three rounds, the first side of each pair switching from
# round to round (a run leaves work behind, such as PostgreSQL's checkpoints and vacuum,
# that the run after it pays), so drift of the machine falls on both. Logs
# (each bench's own table, and /usr/bin/time's peak RSS) go to OUT; OUT/summary.txt lists
# the wall time of every run.
#
# usage: [ONLY="import scoring"] scripts/bench-before-after.sh REV [OUT]
#   REV: the commit to compare against. Built in a worktree under /tmp with its own target
#   directory; a REV from before the bench crate existed runs as `leadgate bench`.
#   ONLY: the names of the benches to run (all when unset).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rev="$1"
out="${2:-/tmp/leadgate-before-after}"
tree="/tmp/leadgate-before-$rev"
[ -d "$tree" ] || git -C "$root" worktree add -f "$tree" "$rev" >&2
if [ -d "$tree/crates/leadgate-bench" ]; then
    (cd "$tree" && CARGO_TARGET_DIR="$tree-target" cargo build --release -p leadgate-bench >&2)
    before="$tree-target/release/leadgate-bench"
else
    (cd "$tree" && CARGO_TARGET_DIR="$tree-target" cargo build --release -p leadgate >&2)
    before="$tree-target/release/leadgate bench"
fi
(cd "$root" && cargo build --release -p leadgate-bench >&2)
after="$root/target/release/leadgate-bench"

benches=(
    "ingest --engine both --events 100000"
    "import --rows 100000 --engine both"
    "routing --leads 20000 --engine both"
    "jobs --jobs 5000"
    "sla --clocks 200000"
    "dedupe --people 100000"
    "scoring --leads 100000 --store-leads 100000 --no-pandas"
)
mkdir -p "$out"
for round in 1 2 3; do
    for bench in "${benches[@]}"; do
        name="${bench%% *}"
        if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
        if [ $((round % 2)) = 1 ]; then sides="before after"; else sides="after before"; fi
        for side in $sides; do
            if [ "$side" = before ]; then command="$before"; else command="$after"; fi
            start=$(date +%s.%N)
            # shellcheck disable=SC2086 # the command and its arguments are meant to split
            /usr/bin/time -v $command $bench > "$out/$name.$side.$round.log" 2>&1
            end=$(date +%s.%N)
            echo "$round $name $side $(echo "$end - $start" | bc) s" | tee -a "$out/summary.txt"
        done
    done
done
