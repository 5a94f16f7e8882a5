#!/usr/bin/env bash
# The transcript explorer at 10,000 transcripts: page size, first paint and filter times in
# headless Chromium (docs/performance.md). EXPLORER_TRANSCRIPTS=N changes the size.
# The browser's figures do not depend on the Rust build profile (the page is built once).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --test integration explorer_benchmark -- --ignored --nocapture 2>&1 \
  | grep -E "explorer benchmark|^run |^  filter|test result"
