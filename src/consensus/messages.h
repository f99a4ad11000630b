// consensus/messages.h — owns the Istanbul BFT (IBFT 2.0 / QBFT) consensus messages: their types,
// their RLP wire form, the digest each signature covers, and strict decoding that recovers every
// signer. It never decides whether a message is acceptable for a view or a council (the core and
// consensus/justification.h do), and it never signs (a Signer does: consensus/signer.h).
//
// Wire form (every item canonical RLP; a body starts with its message code, so a signature over
// one kind of body can never be read as another kind):
//   Prepare     [[1, height, round, blockHash], sig]
//   Commit      [[2, height, round, blockHash], commitSeal]
//   RoundChange [[3, height, round, parentHash, prepared], sig, [prepare, ...]]
//                 prepared = [] or [preparedRound, preparedBlockHash]; the list after the
//                 signature is the prepared certificate (the signed Prepares), empty when not
//                 prepared.
//   Preprepare  [[0, height, round, block], sig, [roundChange, ...], [prepare, ...]]
//                 the round-change certificate holds RoundChanges as [body, sig] (no certificate
//                 of their own); the prepare list is the prepared certificate of the re-proposed
//                 block. Both are empty at round 0.
// Signatures (65 bytes r ‖ s ‖ v, by the sender's nodekey):
//   Preprepare, Prepare, RoundChange: over keccak256(rlp(body)).
//   Commit: the commit seal itself, over chain::commit_seal_digest(blockHash); it is what the
//   block's extra carries, so it is the only signature a commit needs. (Its height and round are
//   therefore not authenticated: the core counts commit seals per block hash, not per round.)
// The certificates are outside the signed body: each entry authenticates itself, and the
// proposer's signature covers exactly (height, round, block), one digest per view.
//
// Decoding never asserts: a bad length, a non-canonical item, an unknown code, a round above
// kMaxRound, a signature that does not recover or more certificate entries than the limit is an
// Error with an "ibft.*" code naming the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "chain/block.h"
#include "crypto/secp256k1.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::consensus {

// The block keeps its round in one vanity byte (chain/extra.h), so no round above 255 can ever
// produce a block; messages for such rounds are refused at decode.
inline constexpr std::uint32_t kMaxRound = 255;

enum class MessageCode : std::uint8_t {
  kPreprepare = 0,
  kPrepare = 1,
  kCommit = 2,
  kRoundChange = 3,
};

// "preprepare", "prepare", "commit", "roundchange".
[[nodiscard]] std::string_view to_string(MessageCode code);

// "height=H round=R": how errors and notes name a view.
[[nodiscard]] std::string view_text(std::uint64_t height, std::uint32_t round);

// `sender` is never on the wire: decode recovers it from the signature; code building a message
// sets it to the signer's address.
struct Prepare {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  Hash32 block_hash{};
  crypto::Signature signature{};
  Address sender{};

  bool operator==(const Prepare&) const = default;
  [[nodiscard]] Bytes encode_body() const;
  [[nodiscard]] Hash32 digest() const;  // keccak256(encode_body())
  [[nodiscard]] Bytes encode() const;
};

struct Commit {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  Hash32 block_hash{};
  crypto::Signature commit_seal{};
  Address sender{};

  bool operator==(const Commit&) const = default;
  [[nodiscard]] Bytes encode_body() const;
  [[nodiscard]] Hash32 digest() const;  // chain::commit_seal_digest(block_hash)
  [[nodiscard]] Bytes encode() const;
};

// What a round change reports as prepared: the round and the block a prepared certificate is for.
struct PreparedRef {
  std::uint32_t round = 0;
  Hash32 block_hash{};
  bool operator==(const PreparedRef&) const = default;
};

struct RoundChange {
  std::uint64_t height = 0;
  std::uint32_t round = 0;  // the round the sender moves to
  // The hash of the block the new round builds on (Kaia's Subject.PrevHash): a round change for
  // another chain or another parent at the same height is refused, not counted.
  Hash32 parent_hash{};
  std::optional<PreparedRef> prepared;
  // The signed Prepares proving `prepared`; empty when not prepared and always empty for a round
  // change embedded in a Preprepare's justification.
  std::vector<Prepare> prepared_certificate;
  crypto::Signature signature{};
  Address sender{};

  bool operator==(const RoundChange&) const = default;
  [[nodiscard]] Bytes encode_body() const;
  [[nodiscard]] Hash32 digest() const;
  [[nodiscard]] Bytes encode() const;  // standalone, with the prepared certificate
};

struct Preprepare {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  chain::Block proposal;  // sealed by its proposer
  // Justification for round > 0 (QBFT JustifyPrePrepare): a quorum of RoundChanges for this
  // round, and when one of them reports a prepared block, the prepared certificate of the
  // highest one.
  std::vector<RoundChange> round_change_certificate;
  std::vector<Prepare> prepared_certificate;
  crypto::Signature signature{};
  Address sender{};

  bool operator==(const Preprepare&) const = default;
  [[nodiscard]] Bytes encode_body() const;
  [[nodiscard]] Hash32 digest() const;
  [[nodiscard]] Bytes encode() const;
};

using Message = std::variant<Preprepare, Prepare, Commit, RoundChange>;

[[nodiscard]] MessageCode code_of(const Message& msg);
[[nodiscard]] std::uint64_t height_of(const Message& msg);
[[nodiscard]] std::uint32_t round_of(const Message& msg);
[[nodiscard]] const Address& sender_of(const Message& msg);
// The digest the sender signed (what SIGN-1 is about).
[[nodiscard]] Hash32 digest_of(const Message& msg);
[[nodiscard]] Bytes encode_message(const Message& msg);

struct DecodeLimits {
  // A Preprepare carries a whole block; the bound keeps a peer from making us buffer more.
  std::size_t max_message_bytes = 16u << 20;
  // Entries in any certificate: no honest certificate has more than the council size.
  std::size_t max_certificate_entries = 64;
};

// Decodes one message (no trailing bytes), recovering the sender of every signature in it.
[[nodiscard]] Result<Message> decode_message(ByteView encoded, const DecodeLimits& limits = {});

}  // namespace cc::consensus
