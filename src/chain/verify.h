// chain/verify.h — owns header and body verification for Istanbul blocks: pure functions from
// (header, parent, council, block period, now) to a typed verdict the caller acts on (drop the
// block, penalise the peer, stop an import). Never reads a clock (`now` is a parameter), never
// touches storage, never asserts on the untrusted header.
//
// Header rules, checked in this order (kaia-facts.md "Istanbul BFT in Kaia"):
//   1. parent known and header.parentHash == hash(parent)          UnknownParent
//   2. number == parent.number + 1                                 WrongNumber
//   3. blockScore == 1, timeFoS <= 99                              BadBlockScore, BadTimeFoS
//   4. time <= now + 1 s                                           FutureBlock
//   5. time >= parent.time + blockPeriod                           TimeBeforeParentPlusPeriod
//   6. extra decodes                                               BadExtra
//   7. extra.validators == council (sorted)                        ValidatorsMismatch
//   8. proposer seal present and recovers                          BadProposerSeal
//   9. it recovers to council.proposer(parent's proposer, round)   WrongProposer
//      where round = vanity byte 31
//  10. each committed seal recovers (well-formed signature)        BadSeal
//      to a council member (a seal over the wrong digest also
//      lands here: recovery cannot tell the two apart)             SealFromNonMember
//      and no member seals twice                                   DuplicateSeal
//  11. at least council.required_seals() seals                     NotEnoughSeals
// Body rule: transactionsRoot == root of the block's transactions  TransactionsRootMismatch
// (stateRoot, receiptsRoot and gasUsed need execution: chain/executor.h checks those.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "chain/block.h"
#include "chain/council.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/verdict.h"

namespace cc::chain {

// Kaia's allowedFutureBlockTime.
inline constexpr std::uint64_t kAllowedFutureSeconds = 1;

enum class HeaderInvalid {
  UnknownParent,
  WrongNumber,
  BadBlockScore,
  BadTimeFoS,
  FutureBlock,
  TimeBeforeParentPlusPeriod,
  BadExtra,
  ValidatorsMismatch,
  BadProposerSeal,
  WrongProposer,
  BadSeal,
  SealFromNonMember,
  DuplicateSeal,
  NotEnoughSeals,
  TransactionsRootMismatch,
};

// Stable lower-case name ("not_enough_seals"), used in error codes ("header.not_enough_seals").
[[nodiscard]] std::string_view to_string(HeaderInvalid reason);

struct HeaderRejection {
  HeaderInvalid reason;
  std::string detail;  // names the block number and the values involved

  // Error{"header.<reason>", detail}.
  [[nodiscard]] Error to_error() const;
};

// A verified value (e.g. who sealed the block) or a rejection.
template <typename T>
using HeaderVerdict = Verdict<T, HeaderRejection>;

// Who produced a verified header (kaia_getBlockWithConsensusInfo's proposer/committers/round).
struct SealInfo {
  Address proposer{};
  std::vector<Address> committers;  // in seal order
  std::uint8_t round = 0;
};

struct VerifyParams {
  std::uint64_t block_period = 1;  // seconds, genesis config.istanbul.blockPeriod
  std::uint64_t now = 0;           // unix seconds, from the caller's clock
};

// Rules 1-9: everything a proposal must satisfy before anyone commits to it (committed seals
// are not looked at). Returns the proposer. parent_proposer is the proposer of `parent`
// (nullopt when parent is the genesis block).
[[nodiscard]] HeaderVerdict<Address> verify_proposal_header(
    const Header& header, const Header* parent, const std::optional<Address>& parent_proposer,
    const Council& council, const VerifyParams& params);

// Rules 10-11 only.
[[nodiscard]] HeaderVerdict<std::vector<Address>> verify_committed_seals(const Header& header,
                                                                         const Council& council);

// Rules 1-11.
[[nodiscard]] HeaderVerdict<SealInfo> verify_header(const Header& header, const Header* parent,
                                                    const std::optional<Address>& parent_proposer,
                                                    const Council& council,
                                                    const VerifyParams& params);

// The proposer of `parent` as verify_header needs it: nullopt for block 0, else recovered from
// its proposer seal (a parent whose seal does not recover is UnknownParent: it cannot have
// been verified).
[[nodiscard]] HeaderVerdict<std::optional<Address>> parent_proposer_of(const Header& parent);

// Body rule: transactionsRoot matches the transactions.
[[nodiscard]] HeaderVerdict<std::monostate> verify_body(const Block& block);

// Verifies consecutive blocks on top of `parent` (whose proposer is recovered as above): header
// and body of each, carrying each block's proposer to the next. The rejection's detail names
// the failing block's number.
[[nodiscard]] HeaderVerdict<std::vector<SealInfo>> verify_chain(const Header& parent,
                                                                const std::vector<Block>& blocks,
                                                                const Council& council,
                                                                const VerifyParams& params);

}  // namespace cc::chain
