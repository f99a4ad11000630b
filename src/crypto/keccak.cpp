#include "crypto/keccak.h"

#include <cryptopp/keccak.h>

namespace cc::crypto {

Hash32 keccak256(ByteView data) {
  // Keccak_256 is Keccak with the original 0x01 padding (not SHA3-256), as Ethereum/Kaia use.
  CryptoPP::Keccak_256 h;
  if (!data.empty()) h.Update(data.data(), data.size());
  Hash32 out{};
  h.Final(out.data());
  return out;
}

}  // namespace cc::crypto
