#!/usr/bin/env bash
# Include-rule check (docs/ARCHITECTURE.md): a layer may include only layers listed before it;
# consensus/ may include only util, crypto, codec and chain. Fails listing every violation.
set -u
src=${1:?usage: check_layers.sh SRC_DIR}
order=(util crypto codec chain storage consensus p2p node rpc ha snapshot localnet cli)
declare -A rank
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done
allowed_for_consensus=" util crypto codec chain consensus "
bad=0
for layer in "${order[@]}"; do
  [ -d "$src/$layer" ] || continue
  while IFS= read -r hit; do
    file=${hit%%:*}
    inc=$(sed -E 's/.*#include[[:space:]]*"([a-z_]+)\/.*/\1/' <<<"$hit")
    [ -n "${rank[$inc]+x}" ] || continue
    if [ "$layer" = consensus ]; then
      if [[ "$allowed_for_consensus" != *" $inc "* ]]; then
        echo "LAYER VIOLATION: $file includes $inc/ (consensus/ may include only util, crypto, codec, chain)"
        bad=1
      fi
    elif (( ${rank[$inc]} > ${rank[$layer]} )); then
      echo "LAYER VIOLATION: $file includes $inc/ (a layer includes only layers above it)"
      bad=1
    fi
  done < <(grep -rnE '^[[:space:]]*#include[[:space:]]*"[a-z_]+/' "$src/$layer" --include='*.h' --include='*.cpp' | sed -E 's/^([^:]+):[0-9]+:/\1:/')
done
if [ $bad -ne 0 ]; then exit 1; fi
echo "layers: include rules hold for ${#order[@]} layers"
