#!/usr/bin/env bash
# The main job: builds kith, then runs the lab demo on the embedded scenario (home and
# remi routers, two ISPs, a NAS behind each router, in network namespaces). Stays up
# until Ctrl-C, then removes everything. Extra arguments go to `kith lab up`
# (e.g. --detach, --name NAME). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "ci/demo.sh: must run as root (network namespaces); try: sudo ci/demo.sh" >&2
  exit 1
fi

bash ci/install-deps.sh
cargo build --release -p kith
exec target/release/kith lab up "$@"
