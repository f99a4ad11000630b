// crypto/keccak.h — owns Keccak-256 (the pre-NIST padding Ethereum and Kaia use), backed by
// Crypto++. Every hash in the chain (tx, block, address, consensus digest) goes through here.
#pragma once

#include "util/bytes.h"

namespace cc::crypto {

[[nodiscard]] Hash32 keccak256(ByteView data);

}  // namespace cc::crypto
