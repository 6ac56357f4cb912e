#!/usr/bin/env bash
# Runs every Kith test: installs system packages, checks format and lints, runs each fuzz
# target for a bounded time, then the whole test suite (unit, namespace and lab
# integration tests) and checks that nothing was left behind. Needs root: the namespace
# tests create network namespaces and fail (never skip) without it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "ci/test.sh: must run as root (network-namespace tests); try: sudo ci/test.sh" >&2
  exit 1
fi

bash ci/install-deps.sh

# The build (tests + clippy + fuzz) needs about 5 GiB; a full disk otherwise shows up
# as a linker "Bus error" deep in the log.
free_kib=$(df -Pk . | awk 'NR == 2 { print $4 }')
echo "== disk: $((free_kib / 1024 / 1024)) GiB free in $(pwd)"
if (( free_kib < 5 * 1024 * 1024 )); then
  echo "ci/test.sh: warning: less than 5 GiB free; the build may fail with 'No space left on device'" >&2
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== fuzz (bounded)"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash ci/fuzz.sh
echo "== cargo test"
mkdir -p target
log=target/ci-test.log
status=0
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
echo "== leftovers"
bash ci/check-leftovers.sh || status=1
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
