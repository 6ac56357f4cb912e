#!/usr/bin/env bash
# Fails if the tests left a namespace or a process behind. Only this checkout's kith
# binaries count (another checkout's tests may be running on the same machine).
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(realpath "${CARGO_TARGET_DIR:-target}")
left_ns=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(kt-|kl[0-9]+x)' || true)
left_proc=$(pgrep -af "^$target/[a-z]+/(kith|deps/)" || true)
if [[ -n "$left_ns" || -n "$left_proc" ]]; then
  echo "tests left things behind:" >&2
  if [[ -n "$left_ns" ]]; then echo "namespaces: $left_ns" >&2; fi
  if [[ -n "$left_proc" ]]; then echo "processes: $left_proc" >&2; fi
  exit 1
fi
echo "no namespace or process left behind"
