// crypto/detail/sodium_init.h — owns the one-time libsodium initialisation that every user of
// randombytes / crypto_pwhash / AEAD in this layer must call first. Private to crypto/.
#pragma once

#include <sodium.h>

#include "util/assert.h"

namespace cc::crypto::detail {

// sodium_init() is idempotent and thread-safe; a failure means the CSPRNG cannot be used at all,
// which is a broken environment rather than an expected error, so it aborts.
inline void ensure_sodium() {
  static const int rc = sodium_init();
  CC_ASSERT(rc >= 0);
}

}  // namespace cc::crypto::detail
