#!/usr/bin/env bash
# Installs the Debian 12 packages that Kith's build, tests and lab need. Idempotent:
# packages already installed are not fetched again, and apt-get update runs only when
# something is missing.
set -euo pipefail

PACKAGES=(
  iproute2        # ip netns, veth, routes: the lab and every namespace test
  nftables        # the firewall compiler's backend
  python3         # kith-fw lab tests: TCP/UDP listeners and raw GRE packets (tests/helpers/netprobe.py)
  iputils-ping    # ping in lab hosts and tests
  procps          # ps, sysctl
  psmisc          # killall/fuser for diagnosing leftovers
  pkg-config      # finds the system OpenSSL
  libssl-dev      # the openssl crate (everyday builds; musl images vendor it)
  ca-certificates
  openvpn         # stock OpenVPN 2.6: the interop peer of kith vpnd
  socat           # checksummed transfers through tunnels in the vpnd tests
  dnsmasq         # DNS server in a lab ISP: the tunnels' endpoints by name (vpn.mydomain.com)
  iperf3          # kith bench vpn: throughput through the tunnels
  bird2           # BIRD 2: BGP interop peer of kith bgpd
  frr             # FRR bgpd/zebra: BGP interop peer of kith bgpd
  gobgpd          # GoBGP (gobgpd, gobgp): BGP interop peer of kith bgpd
  gcc
  qemu-system-x86 # QEMU guest for what this kernel lacks (VLAN, bonding): tests/guest_links.rs
  busybox-static  # the guest's userland
  cpio            # the guest's initramfs
  kmod            # depmod for the guest kernel's modules
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "ci/install-deps.sh: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "ci/install-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "ci/install-deps.sh: cargo not found; install Rust stable with rustup (https://rustup.rs)" >&2
  exit 1
fi

# The guest kernel (Debian's, with its modules) for the QEMU tests.
bash "$(dirname "$0")/guest-kernel.sh"
