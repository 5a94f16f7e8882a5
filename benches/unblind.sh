#!/usr/bin/env bash
# unblind benchmark (on demand, not part of the test suite): the demo's round checked against a
# CRLF ratings file of ROWS rows (default 2,000,000), every row naming an unknown item, so that
# every row is parsed, numbered and reported. Prints the wall time and peak resident memory;
# numbering lines used to be quadratic in the rows (200k rows took 296 s).
#
#   bash benches/unblind.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-2000000}

cargo build --release --locked -q
bin=target/release/blindfold
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" -q demo --out "$work/demo" > /dev/null
round="$work/demo/study/runs/demo/blind/round-1"
python3 - "$work/demo/ratings/r1.csv" "$work/big.csv" "$rows" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
header, body = lines[0], lines[1:]
with open(sys.argv[2], "w", newline="") as out:
    out.write(header + "\r\n")
    for i in range(int(sys.argv[3])):
        fields = body[i % len(body)].split(",")
        fields[1] = f"X{i:09d}"
        out.write(",".join(fields) + "\r\n")
PY
/usr/bin/time -f "unblind, $rows rows: %e s, peak %M KB" "$bin" unblind "$round" "$work/big.csv" \
  2>&1 >/dev/null | tail -1
