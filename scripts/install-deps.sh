#!/usr/bin/env bash
# Installs the Debian 12 packages corecell needs to build, test and run — only the missing ones.
# Idempotent: a second run installs nothing. Needs root (or sudo) when something is missing.
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --list   print every package it may install, one a line
# Every program the project runs is listed with its package in scripts/programs.txt, and
# tests/deps/check_programs.sh (CTest deps.programs) fails when one is neither installed here
# nor part of Debian's base system.
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
  # services and tools the tests drive (promtool checks /metrics; curl talks to the endpoints)
  etcd-server etcd-client iproute2 procps psmisc prometheus curl
  # the HA agent's linux IP mover: duplicate-address detection and gratuitous ARP
  iputils-arping
  # the HA agent's and snapshot's systemd service control (systemctl; HA_SERVICE=systemd)
  systemd
  # the snapshot benchmark's baseline (`tar -I zstd`)
  tar zstd
)
if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${packages[@]}" nodejs npm
  exit 0
fi
# Node.js and npm run the real-client tests (tests/js: ethers, @kaiachain/ethers-ext). A machine
# that already has node and npm (e.g. from another Node.js distribution, which bundles npm and
# conflicts with Debian's npm package) keeps them.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

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
# etcd-server's and prometheus's packages start system services (etcd on :2379, prometheus on
# :9090); the tests start their own etcd and need only promtool from prometheus.
for svc in etcd prometheus; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
    $SUDO systemctl disable "$svc" 2>/dev/null || true
  fi
done
echo "install-deps: done"
