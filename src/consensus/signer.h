// consensus/signer.h — owns the contract between the consensus core and the one component
// allowed to produce consensus signatures (the SignGuard, consensus/sign_guard.h). The core never
// holds a key: it asks a Signer for each signature and treats a refusal as "do not send".
//
// One signature per (height, round, kind), ever — SIGN-1:
//   kind        what is signed (digest)                                     carried in
//   preprepare  keccak256(rlp(Preprepare body))                            Preprepare envelope
//   seal        header.sig_hash() of the proposed block (proposer seal)    the block's extra
//   prepare     keccak256(rlp(Prepare body))                               Prepare envelope
//   commit      commit_seal_digest(block hash) = keccak256(hash ‖ 0x02)     Commit (the seal is
//                                                                          the authentication)
//   roundchange keccak256(rlp(RoundChange body))                           RoundChange envelope
// A Signer re-signs only a byte-identical request (same digest: RFC 6979 makes the signature
// identical too) and refuses any other digest for a (height, round, kind) it has signed.
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/secp256k1.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::consensus {

enum class SignKind : std::uint8_t { kPreprepare, kPrepare, kCommit, kRoundChange, kSeal };

// "preprepare", "prepare", "commit", "roundchange", "seal" (the signature journal's spelling).
[[nodiscard]] std::string_view to_string(SignKind kind);

struct SignRequest {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  SignKind kind = SignKind::kPrepare;
  Hash32 digest{};
  bool operator==(const SignRequest&) const = default;
};

class Signer {
 public:
  virtual ~Signer() = default;
  // The signature, or why not (sign.conflict, sign.no_permit, sign.persist_failed, ...): the
  // caller must then not send the message.
  [[nodiscard]] virtual Result<crypto::Signature> sign(const SignRequest& request) = 0;
  // The validator address signatures recover to.
  [[nodiscard]] virtual Address address() const = 0;
};

}  // namespace cc::consensus
