#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time (FUZZ_SECONDS each, default 30).
# Needs the nightly toolchain and cargo-fuzz (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "ci/fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "ci/fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cd fuzz
targets=$(cargo +nightly fuzz list)
for target in $targets; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  [[ -d "seeds/$target" ]] && seeds=("seeds/$target")
  echo "== fuzz $target for ${seconds}s"
  log="$(mktemp)"
  if cargo +nightly fuzz run "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
    grep -E '^(#[0-9]+|Done)' "$log" | tail -n 2
    rm -f "$log"
  else
    cat "$log"
    echo "ci/fuzz.sh: $target FAILED (crash input saved under fuzz/artifacts/$target/)" >&2
    exit 1
  fi
done
