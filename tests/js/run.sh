#!/usr/bin/env bash
# tests/js/run.sh BIN_DIR — CTest driver of the real-client tests (integration.js_clients).
#
# 1. Installs the pinned npm packages of tests/js (ethers v6, @kaiachain/ethers-ext) with `npm ci`
#    into a cache outside the source tree, keyed by the lock file's hash:
#    ${CC_JS_CACHE:-BIN_DIR/../js-cache}/<hash>/node_modules. A later run with the same lock file
#    downloads nothing.
# 2. Starts a local network (1 CN, 1 PN, 1 EN on 127.0.130.x) with BIN_DIR/corecell localnet.
# 3. Runs ethers_test.mjs and ethers_ext_test.mjs against the EN's RPC with the genesis-funded
#    accounts, each from its own sender.
# 4. Always stops the network and removes its temporary directory.
# Exit status: 0 when both scripts pass.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BIN_DIR" >&2
  exit 2
fi
BIN_DIR=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CORECELL="$BIN_DIR/corecell"
IP_PREFIX=${CC_JS_IP_PREFIX:-127.0.130}
READY_TIMEOUT=${CC_JS_READY_TIMEOUT:-120}

say() { echo "[js_clients] $*"; }
die() { echo "[js_clients] FAIL: $*" >&2; exit 1; }

[[ -x "$CORECELL" ]] || die "no corecell binary at $CORECELL"
command -v node >/dev/null || die "node is not installed (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm is not installed (Debian: apt-get install npm)"
CACHE_ROOT=${CC_JS_CACHE:-$(dirname "$BIN_DIR")/js-cache}
mkdir -p "$CACHE_ROOT"
# npm's own download cache lives beside ours (no dependence on HOME); no update checks.
export npm_config_cache=${npm_config_cache:-$CACHE_ROOT/.npm}
export npm_config_update_notifier=false
# Node.js trusts only its bundled CAs; also trust the system store (Debian's ca-certificates, where
# update-ca-certificates puts a site's own CA, e.g. a TLS-inspecting proxy's).
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
say "node $(node --version), npm $(npm --version)"

# A run killed outright (SIGKILL, e.g. a CTest timeout) leaves its detached localnet running:
# stop the one the previous run recorded.
LAST_NET="$CACHE_ROOT/.last-net"
if [[ -f "$LAST_NET" ]]; then
  stale=$(cat "$LAST_NET")
  if [[ "$stale" == */cc-js-clients.* && -d "$stale/net" ]]; then
    say "stopping the localnet a previous run left in $stale"
    "$CORECELL" localnet down --dir "$stale/net" || true
    rm -rf "$stale"
  fi
  rm -f "$LAST_NET"
fi

# --- 1. pinned packages, cached by the lock file's hash ------------------------------------------
KEY=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -c1-16)
DEPS="$CACHE_ROOT/$KEY"
if [[ -f "$DEPS/.complete" ]]; then
  say "npm packages: cached in $DEPS"
else
  say "npm packages: npm ci into $DEPS"
  STAGE=$(mktemp -d "$CACHE_ROOT/.stage.XXXXXX")
  cp "$HERE/package.json" "$HERE/package-lock.json" "$STAGE/"
  if ! (cd "$STAGE" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error); then
    rm -rf "$STAGE"
    die "npm ci failed (is the npm registry reachable?)"
  fi
  touch "$STAGE/.complete"
  # Publish atomically; a concurrent run may have published the same key first.
  if ! mv -T "$STAGE" "$DEPS" 2>/dev/null; then
    rm -rf "$STAGE"
    [[ -f "$DEPS/.complete" ]] || die "could not publish $DEPS"
  fi
  # Older keys are stale lock files: drop them.
  for old in "$CACHE_ROOT"/*; do
    if [[ "$old" != "$DEPS" && -d "$old" ]]; then rm -rf "$old"; fi
  done
fi

# --- 2. a local network ---------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cc-js-clients.XXXXXX")
NET="$TMP/net"
NET_UP=0
echo "$TMP" >"$LAST_NET"
cleanup() {
  local rc=$?
  if [[ $NET_UP -eq 1 ]]; then
    say "localnet down"
    "$CORECELL" localnet down --dir "$NET" || say "localnet down failed (exit $?)"
  fi
  rm -rf "$TMP"
  rm -f "$LAST_NET"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
  [[ -d "$NET" ]] || return 0
  "$CORECELL" localnet status --dir "$NET" 2>&1 || true
  if "$CORECELL" localnet logs --dir "$NET" -n 40 2>&1; then
    return 0
  fi
  local f
  while IFS= read -r f; do
    echo "----- ${f#"$NET"/} (last 40 lines)"
    tail -n 40 "$f"
  done < <(find "$NET" -type f \( -name '*.log' -o -name 'log' -o -name '*.out' -o -name '*.err' \) | sort)
}

say "localnet init --cells 1 --pns 1 --ens 1 --ip-prefix $IP_PREFIX"
"$CORECELL" localnet init --cells 1 --pns 1 --ens 1 --dir "$NET" --ip-prefix "$IP_PREFIX"
say "localnet up"
NET_UP=1
if ! "$CORECELL" localnet up --dir "$NET"; then
  show_logs
  die "localnet up failed"
fi

"$CORECELL" localnet status --json --dir "$NET" >"$TMP/status.json" 2>"$TMP/status.err" ||
  say "localnet status --json failed (exit $?): $(cat "$TMP/status.err")"
read -r RPC_URL CHAIN_ID ACCOUNTS < <(node "$HERE/localnet_info.mjs" "$NET" "$TMP/status.json") ||
  die "cannot read the EN's RPC URL and chain id from $NET"
[[ -n "${ACCOUNTS:-}" ]] || die "cannot read the EN's RPC URL and chain id from $NET"
say "EN RPC $RPC_URL, chain id $CHAIN_ID, accounts $ACCOUNTS"
if ! node "$HERE/localnet_info.mjs" --wait "$RPC_URL" "$CHAIN_ID" "$READY_TIMEOUT"; then
  show_logs
  die "the EN's RPC did not come up"
fi

# --- 3. the clients -------------------------------------------------------------------------------
# The scripts run from a copy beside a link to the cached node_modules (Node resolves packages
# from the script's directory upwards).
RUN="$TMP/js"
mkdir -p "$RUN"
cp "$HERE"/*.mjs "$HERE/package.json" "$RUN/"
ln -s "$DEPS/node_modules" "$RUN/node_modules"

passed=0
failed=0
sender=0
for script in ethers_test.mjs ethers_ext_test.mjs; do
  say "=== $script (sender accounts[$sender])"
  if node "$RUN/$script" "$RPC_URL" "$CHAIN_ID" "$ACCOUNTS" "$sender"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    say "$script FAILED"
  fi
  sender=$((sender + 1))
done

if [[ $failed -ne 0 ]]; then
  show_logs
fi
say "js_clients: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
