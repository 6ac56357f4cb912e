#!/usr/bin/env bash
# Fetches Debian's current amd64 kernel package and unpacks it (vmlinuz + modules, with
# modules.dep made by depmod) for the QEMU guest tests: this machine's kernel lacks VLAN
# and bonding, Debian's has them as modules. Idempotent: does nothing when the unpacked
# kernel is there. Prints nothing else on success.
#   KITH_GUEST_KERNEL_DIR  where to unpack (default /var/cache/kith/guest-kernel)
set -euo pipefail

dir=${KITH_GUEST_KERNEL_DIR:-/var/cache/kith/guest-kernel}
if [[ -f "$dir/ready" ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "ci/guest-kernel.sh: need root to fetch the guest kernel into $dir" >&2
  exit 1
fi
# linux-image-amd64 is the metapackage; its dependency is the versioned kernel package.
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [[ -z "$pkg" ]]; then
  echo "ci/guest-kernel.sh: cannot find the kernel package behind linux-image-amd64 (apt-get update?)" >&2
  exit 1
fi
echo "ci/guest-kernel.sh: fetching $pkg into $dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "$pkg" 2>/dev/null || { apt-get update -qq && apt-get download -q "$pkg"; })
rm -rf "$dir"
mkdir -p "$dir"
dpkg-deb -x "$work"/"$pkg"_*.deb "$dir"
release=$(ls "$dir/lib/modules")
depmod -b "$dir" "$release"
ln -sf "boot/vmlinuz-$release" "$dir/vmlinuz"
echo "$release" >"$dir/ready"
