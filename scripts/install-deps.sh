#!/usr/bin/env bash
# Installs the Debian 12 packages corecell needs to build, test and run — only the missing ones.
# Idempotent: a second run installs nothing. Needs root (or sudo) when something is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git make clang libclang-rt-14-dev
  clang-format clang-tidy
  # libraries (see docs/ARCHITECTURE.md for who uses which)
  libsecp256k1-dev librocksdb-dev libasio-dev nlohmann-json3-dev libcpp-httplib-dev libcli11-dev
  libspdlog-dev libfmt-dev libsodium-dev libcrypto++-dev libarchive-dev libzstd-dev libboost-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # services and tools the tests drive
  etcd-server etcd-client iproute2 procps psmisc
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# etcd-server's package starts a system etcd on :2379; our tests start their own on other ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  $SUDO systemctl stop etcd || true
fi
echo "install-deps: done"
