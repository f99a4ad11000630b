#include "chain/verify.h"

#include <limits>
#include <set>
#include <string>

#include "chain/receipt.h"

namespace cc::chain {
namespace {

HeaderRejection reject(HeaderInvalid reason, const Header& h, const std::string& what) {
  return HeaderRejection{reason, "block " + std::to_string(h.number) + ": " + what};
}

std::string hex(ByteView b) { return to_hex0x(b); }

}  // namespace

std::string_view to_string(HeaderInvalid reason) {
  switch (reason) {
    case HeaderInvalid::UnknownParent:
      return "unknown_parent";
    case HeaderInvalid::WrongNumber:
      return "wrong_number";
    case HeaderInvalid::BadBlockScore:
      return "bad_block_score";
    case HeaderInvalid::BadTimeFoS:
      return "bad_time_fos";
    case HeaderInvalid::FutureBlock:
      return "future_block";
    case HeaderInvalid::TimeBeforeParentPlusPeriod:
      return "time_before_parent_plus_period";
    case HeaderInvalid::BadExtra:
      return "bad_extra";
    case HeaderInvalid::ValidatorsMismatch:
      return "validators_mismatch";
    case HeaderInvalid::BadProposerSeal:
      return "bad_proposer_seal";
    case HeaderInvalid::WrongProposer:
      return "wrong_proposer";
    case HeaderInvalid::BadSeal:
      return "bad_seal";
    case HeaderInvalid::SealFromNonMember:
      return "seal_from_non_member";
    case HeaderInvalid::DuplicateSeal:
      return "duplicate_seal";
    case HeaderInvalid::NotEnoughSeals:
      return "not_enough_seals";
    case HeaderInvalid::TransactionsRootMismatch:
      return "transactions_root_mismatch";
  }
  return "unknown";
}

Error HeaderRejection::to_error() const {
  return make_error("header." + std::string(to_string(reason)), detail);
}

HeaderVerdict<Address> verify_proposal_header(const Header& header, const Header* parent,
                                              const std::optional<Address>& parent_proposer,
                                              const Council& council, const VerifyParams& params) {
  // 1-2: the link to the parent.
  if (parent == nullptr) {
    return reject(HeaderInvalid::UnknownParent, header,
                  "parent " + hex(header.parent_hash) + " is not known");
  }
  const Hash32 parent_hash = parent->hash();
  if (header.parent_hash != parent_hash) {
    return reject(HeaderInvalid::UnknownParent, header,
                  "parentHash " + hex(header.parent_hash) + " is not the hash of block " +
                      std::to_string(parent->number) + " (" + hex(parent_hash) + ")");
  }
  if (parent->number == std::numeric_limits<std::uint64_t>::max() ||
      header.number != parent->number + 1) {
    return reject(HeaderInvalid::WrongNumber, header,
                  "number must be parent's + 1 = " + std::to_string(parent->number + 1));
  }
  // 3: fields Istanbul fixes.
  if (header.block_score != 1) {
    return reject(HeaderInvalid::BadBlockScore, header,
                  "blockScore must be 1, got " + std::to_string(header.block_score));
  }
  if (header.time_fos > kMaxTimeFoS) {
    return reject(HeaderInvalid::BadTimeFoS, header,
                  "timeFoS must be 0..99, got " + std::to_string(header.time_fos));
  }
  // 4-5: time, compared so that nothing can overflow.
  if (header.time > params.now && header.time - params.now > kAllowedFutureSeconds) {
    return reject(HeaderInvalid::FutureBlock, header,
                  "time " + std::to_string(header.time) + " is more than " +
                      std::to_string(kAllowedFutureSeconds) + " s after now (" +
                      std::to_string(params.now) + ")");
  }
  if (header.time < parent->time || header.time - parent->time < params.block_period) {
    return reject(HeaderInvalid::TimeBeforeParentPlusPeriod, header,
                  "time " + std::to_string(header.time) + " is before parent time " +
                      std::to_string(parent->time) + " + block period " +
                      std::to_string(params.block_period));
  }
  // 6-7: the extra and the council it names.
  auto extra = header.istanbul_extra();
  if (!extra.ok()) return reject(HeaderInvalid::BadExtra, header, extra.error().message);
  if (extra->validators != council.validators()) {
    return reject(HeaderInvalid::ValidatorsMismatch, header,
                  "extra lists " + std::to_string(extra->validators.size()) +
                      " validators that differ from the council of " +
                      std::to_string(council.size()));
  }
  // 8-9: the proposer seal.
  if (extra->proposer_seal.size() != kSealSize) {
    return reject(HeaderInvalid::BadProposerSeal, header, "proposer seal is missing");
  }
  auto proposer = recover_proposer(header);
  if (!proposer.ok()) {
    return reject(HeaderInvalid::BadProposerSeal, header,
                  "proposer seal does not recover: " + proposer.error().message);
  }
  const Address& expected = council.proposer(parent_proposer, extra->round());
  if (*proposer != expected) {
    return reject(HeaderInvalid::WrongProposer, header,
                  "sealed by " + hex(*proposer) + " but the proposer for round " +
                      std::to_string(extra->round()) + " is " + hex(expected));
  }
  return *proposer;
}

HeaderVerdict<std::vector<Address>> verify_committed_seals(const Header& header,
                                                           const Council& council) {
  auto extra = header.istanbul_extra();
  if (!extra.ok()) return reject(HeaderInvalid::BadExtra, header, extra.error().message);
  const Hash32 hash = header.hash();
  std::vector<Address> committers;
  std::set<Address> seen;
  for (std::size_t i = 0; i < extra->committed_seals.size(); ++i) {
    auto who = recover_committer(hash, extra->committed_seals[i]);
    if (!who.ok()) {
      return reject(
          HeaderInvalid::BadSeal, header,
          "committed seal " + std::to_string(i) + " is malformed: " + who.error().message);
    }
    if (!council.contains(*who)) {
      return reject(HeaderInvalid::SealFromNonMember, header,
                    "committed seal " + std::to_string(i) + " recovers to " + hex(*who) +
                        ", not a council member (or it signs another digest)");
    }
    if (!seen.insert(*who).second) {
      return reject(HeaderInvalid::DuplicateSeal, header,
                    "committed seal " + std::to_string(i) + " repeats a seal by " + hex(*who));
    }
    committers.push_back(*who);
  }
  if (committers.size() < council.required_seals()) {
    return reject(HeaderInvalid::NotEnoughSeals, header,
                  std::to_string(committers.size()) + " committed seals, a council of " +
                      std::to_string(council.size()) + " needs " +
                      std::to_string(council.required_seals()));
  }
  return committers;
}

HeaderVerdict<SealInfo> verify_header(const Header& header, const Header* parent,
                                      const std::optional<Address>& parent_proposer,
                                      const Council& council, const VerifyParams& params) {
  auto proposer = verify_proposal_header(header, parent, parent_proposer, council, params);
  if (!proposer.ok()) return proposer.rejection();
  auto committers = verify_committed_seals(header, council);
  if (!committers.ok()) return committers.rejection();
  SealInfo info;
  info.proposer = *proposer;
  info.committers = std::move(committers).value();
  info.round = header.extra[kRoundByte];  // the extra decoded, so the vanity is there
  return info;
}

HeaderVerdict<std::optional<Address>> parent_proposer_of(const Header& parent) {
  if (parent.number == 0) return std::optional<Address>{};
  auto p = recover_proposer(parent);
  if (!p.ok()) {
    return reject(HeaderInvalid::UnknownParent, parent,
                  "has no recoverable proposer seal, so it cannot be a verified parent: " +
                      p.error().message);
  }
  return std::optional<Address>{*p};
}

HeaderVerdict<std::monostate> verify_body(const Block& block) {
  const Hash32 root = transactions_root(block.transactions);
  if (root != block.header.transactions_root) {
    return reject(HeaderInvalid::TransactionsRootMismatch, block.header,
                  "transactionsRoot " + hex(block.header.transactions_root) + " but its " +
                      std::to_string(block.transactions.size()) + " transactions hash to " +
                      hex(root));
  }
  return std::monostate{};
}

HeaderVerdict<std::vector<SealInfo>> verify_chain(const Header& parent,
                                                  const std::vector<Block>& blocks,
                                                  const Council& council,
                                                  const VerifyParams& params) {
  auto prev_proposer = parent_proposer_of(parent);
  if (!prev_proposer.ok()) return prev_proposer.rejection();
  std::optional<Address> prev = *prev_proposer;
  const Header* prev_header = &parent;
  std::vector<SealInfo> out;
  out.reserve(blocks.size());
  for (const auto& b : blocks) {
    auto info = verify_header(b.header, prev_header, prev, council, params);
    if (!info.ok()) return info.rejection();
    auto body = verify_body(b);
    if (!body.ok()) return body.rejection();
    prev = info->proposer;
    prev_header = &b.header;
    out.push_back(std::move(info).value());
  }
  return out;
}

}  // namespace cc::chain
