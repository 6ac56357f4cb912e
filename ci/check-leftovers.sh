#!/usr/bin/env bash
# Fails if the tests left a namespace or a process behind.
set -euo pipefail
left_ns=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(kt-|kl[0-9]+x)' || true)
left_proc=$(pgrep -af 'kith (run|routed|vpnd|bgpd)' | grep -v pgrep || true)
if [[ -n "$left_ns" || -n "$left_proc" ]]; then
  echo "tests left things behind:" >&2
  [[ -n "$left_ns" ]] && echo "namespaces: $left_ns" >&2
  [[ -n "$left_proc" ]] && echo "processes: $left_proc" >&2
  exit 1
fi
echo "no namespace or process left behind"
