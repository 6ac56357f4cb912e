#!/usr/bin/env bash
# Runs every Kith test: installs system packages, checks format and lints, then runs
# the whole test suite (unit, namespace and lab integration tests). Needs root: the
# namespace tests create network namespaces and fail (never skip) without it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "ci/test.sh: must run as root (network-namespace tests); try: sudo ci/test.sh" >&2
  exit 1
fi

bash ci/install-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== leftovers"
bash ci/check-leftovers.sh
echo "== fuzz (bounded)"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash ci/fuzz.sh
