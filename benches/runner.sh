#!/usr/bin/env bash
# Runner benchmark (on demand, not part of the test suite): a 5,000-cell single-turn run against
# `blindfold sim serve --latency-ms 100` at concurrency 64. Prints the wall time against the ideal
# (cells x latency / concurrency) and the runner's peak resident memory.
#
#   bash benches/runner.sh [CELLS]        (CELLS defaults to 5000; must be a multiple of 100)
set -euo pipefail
cd "$(dirname "$0")/.."
cells=${1:-5000}
latency_ms=100
concurrency=64

cargo build --release --locked -q
bin=target/release/blindfold
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" sim serve --addr 127.0.0.1:0 --latency-ms $latency_ms > "$work/server.out" 2>/dev/null &
server=$!
for _ in $(seq 50); do grep -q http "$work/server.out" 2>/dev/null && break; sleep 0.1; done
addr=$(grep -o 'http://[0-9.:]*' "$work/server.out" | head -1)

# 2 models x 1 scaffold x 50 prompts x (cells/100) repeats, every model at half the cap.
"$bin" init "$work/study" > /dev/null
repeats=$((cells / 100))
cat > "$work/study/study.toml" <<TOML
[study]
name = "bench"
seed = 1
repeats = $repeats
scaffolds = ["baseline"]
prompts = ["bench"]

[[model]]
id = "a"
provider = "openai"
model = "sim-alpha"
base_url = "$addr/v1"
max_concurrency = $((concurrency / 2))

[[model]]
id = "b"
provider = "openai"
model = "sim-beta"
base_url = "$addr/v1"
max_concurrency = $((concurrency / 2))
TOML
: > "$work/study/prompts/bench.toml"
for i in $(seq 50); do
  printf '[[prompt]]\nid = "p%d"\ntext = "Question %d: is it safe to take ibuprofen with lisinopril?"\n\n' "$i" "$i" >> "$work/study/prompts/bench.toml"
done

/usr/bin/time -f '%e %M' -o "$work/time" "$bin" -q run "$work/study" --concurrency $concurrency > /dev/null
read -r wall peak_kb < "$work/time"
ok=$(grep -c '"status":"ok"' "$work/study/runs/bench/transcripts.jsonl")
ideal=$(awk -v c="$cells" -v l=$latency_ms -v k=$concurrency 'BEGIN { printf "%.2f", c * l / 1000 / k }')
awk -v w="$wall" -v i="$ideal" -v p="$peak_kb" -v ok="$ok" -v c="$cells" 'BEGIN {
  printf "cells ok: %d/%d\nwall: %.2f s, ideal: %.2f s, ratio: %.3f (target <= 1.15)\npeak RSS: %.1f MB (target < 100)\n", ok, c, w, i, w / i, p / 1024
}'
