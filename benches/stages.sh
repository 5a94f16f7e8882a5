#!/usr/bin/env bash
# Every stage at scale (on demand, not part of the test suite). Builds the release binary, runs the
# default study's three simulated models x the baseline scaffold x 15 prompts x R repeats (45 R
# cells) against `blindfold sim serve --latency-ms 0` in a separate process, and measures each
# stage's wall time and peak resident memory with /usr/bin/time -v: run, status, blind (10 raters,
# dual coding), simulated rating of every packet (`rate --simulate`, one process per rater, timed
# together), unblind and report on the same run folder. Prints one table.
#
#   bash benches/stages.sh                  run at ~1k, 10k and 100k cells; dry run and plan at 1M and 1.8M
#   RUN_CELLS="1000 10000" PLAN_CELLS=1000000 bash benches/stages.sh
#
# Sizes are rounded up to whole repeats (1000 -> 1,035 cells). The machine's load average is
# printed with the table: other processes on a small machine change the times, not the memory.
set -euo pipefail
cd "$(dirname "$0")/.."
run_sizes=${RUN_CELLS:-"1000 10000 100000"}
plan_sizes=${PLAN_CELLS:-"1000000 1800000"}
concurrency=64
raters=r1,r2,r3,r4,r5,r6,r7,r8,r9,r10

# BLINDFOLD_BIN runs another binary instead (to try the script out on a debug build).
if [ -z "${BLINDFOLD_BIN:-}" ]; then
  cargo build --release --locked -q
fi
bin=${BLINDFOLD_BIN:-$PWD/target/release/blindfold}
work=$(mktemp -d)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

"$bin" sim serve --addr 127.0.0.1:0 --latency-ms 0 > "$work/server.out" 2>/dev/null &
server=$!
for _ in $(seq 50); do grep -q http "$work/server.out" 2>/dev/null && break; sleep 0.1; done
addr=$(grep -o 'http://[0-9.:]*' "$work/server.out" | head -1)

rows=()
# measure STAGE CELLS COMMAND...: runs COMMAND under /usr/bin/time -v and adds a table row.
measure() {
  local stage=$1 cells=$2
  shift 2
  /usr/bin/time -v -o "$work/time" "$@" > /dev/null 2> "$work/stderr" || {
    echo "$stage at $cells cells failed:" >&2
    cat "$work/stderr" "$work/time" >&2
    exit 1
  }
  local wall peak_kb
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.2f", s }' "$work/time")
  peak_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
  rows+=("$(printf '| %-9s | %11s | %9s s | %9.1f MB |' "$stage" "$cells" "$wall" "$(echo "$peak_kb / 1024" | bc -l)")")
}

# study DIR REPEATS [all]: the default study, baseline scaffold only (45 cells a repeat; with
# `all`, its four scaffolds: 180), its models served by `sim serve`.
study() {
  "$bin" init "$1" > /dev/null
  if [ "${3:-}" != all ]; then sed -i 's/^scaffolds = .*/scaffolds = ["baseline"]/' "$1/study.toml"; fi
  sed -i -e "s/^repeats = .*/repeats = $2/" \
    -e "s|^provider = \"sim\"|provider = \"openai\"\nbase_url = \"$addr/v1\"\nmax_concurrency = $((concurrency / 2))|" \
    "$1/study.toml"
}

for n in $run_sizes; do
  repeats=$(( (n + 44) / 45 ))
  cells=$((repeats * 45))
  dir="$work/study-$cells"
  study "$dir" $repeats
  measure run $cells "$bin" -q run "$dir" --run r --concurrency $concurrency
  ok=$(grep -c '"status":"ok"' "$dir/runs/r/transcripts.jsonl")
  [ "$ok" -eq "$cells" ] || { echo "run at $cells cells: only $ok ok" >&2; exit 1; }
  measure status $cells "$bin" -q status "$dir/runs/r"
  # Blind for 10 raters with dual coding, rate every packet with a simulated rater, un-blind the
  # ten ratings files and report, all on the same run folder.
  measure blind $cells "$bin" -q blind "$dir/runs/r" --raters "$raters" --per-item 2 --seed 1
  round="$dir/runs/r/blind/round-1"
  measure rate $cells bash -c 'for r in ${2//,/ }; do "$0" -q rate --simulate "$1/packets/$r.json" --out "$1/ratings-$r.csv" --seed 7 || exit 1; done' "$bin" "$round" "$raters"
  measure unblind $cells bash -c '"$0" -q unblind "$1" "$1"/ratings-*.csv' "$bin" "$round"
  measure report $cells "$bin" -q report "$dir/runs/r"
  rm -rf "$dir"
done

# A study allows at most 10,000 repeats: the big plans use all four scaffolds (180 cells a repeat).
for n in $plan_sizes; do
  repeats=$(( (n + 179) / 180 ))
  cells=$((repeats * 180))
  dir="$work/plan-$cells"
  study "$dir" $repeats all
  measure dry-run $cells "$bin" -q run "$dir" --run r --dry-run
  measure plan $cells "$bin" -q plan "$dir"
  rm -rf "$dir"
done

echo
echo "blindfold $("$bin" --version | awk '{ print $2 }'), $(nproc) cores, $(date -u +%Y-%m-%d), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| stage     |       cells |        wall |      peak RSS |"
echo "| --------- | ----------: | ----------: | ------------: |"
printf '%s\n' "${rows[@]}"
