#include "consensus/justification.h"

#include <set>
#include <string>

namespace cc::consensus {
Status check_prepared_certificate(const std::vector<Prepare>& certificate,
                                  const chain::Council& council, std::uint64_t height,
                                  const PreparedRef& ref) {
  std::set<Address> senders;
  for (std::size_t i = 0; i < certificate.size(); ++i) {
    const Prepare& p = certificate[i];
    const std::string at = "prepared certificate entry " + std::to_string(i);
    if (p.height != height || p.round != ref.round || p.block_hash != ref.block_hash) {
      return make_error("ibft.certificate_mismatch",
                        at + " is for " + view_text(p.height, p.round) + " block " +
                            to_hex0x(p.block_hash) + ", not " + view_text(height, ref.round) +
                            " block " + to_hex0x(ref.block_hash));
    }
    if (!council.contains(p.sender)) {
      return make_error("ibft.not_member",
                        at + " is signed by " + to_hex0x(p.sender) + ", not a council member");
    }
    if (!senders.insert(p.sender).second) {
      return make_error("ibft.duplicate_sender",
                        at + " repeats a prepare by " + to_hex0x(p.sender));
    }
  }
  if (senders.size() < council.commit_quorum()) {
    return make_error("ibft.no_quorum", "prepared certificate for " + view_text(height, ref.round) +
                                            " has " + std::to_string(senders.size()) +
                                            " prepares; " +
                                            std::to_string(council.commit_quorum()) + " needed");
  }
  return ok_status();
}

Status check_round_change(const RoundChange& rc, const chain::Council& council,
                          std::uint64_t height, const Hash32& parent_hash) {
  if (rc.height != height) {
    return make_error("ibft.wrong_height", "round change for height " + std::to_string(rc.height) +
                                               ", expected " + std::to_string(height));
  }
  if (rc.parent_hash != parent_hash) {
    return make_error("ibft.wrong_parent", "round change " + view_text(rc.height, rc.round) +
                                               " from " + to_hex0x(rc.sender) + " builds on " +
                                               to_hex0x(rc.parent_hash) + ", not on our parent " +
                                               to_hex0x(parent_hash));
  }
  if (!council.contains(rc.sender)) {
    return make_error("ibft.not_member",
                      "round change from " + to_hex0x(rc.sender) + ", not a council member");
  }
  if (!rc.prepared) {
    if (!rc.prepared_certificate.empty()) {
      return make_error("ibft.unexpected_certificate",
                        "round change " + view_text(rc.height, rc.round) +
                            " reports nothing prepared but carries a certificate");
    }
    return ok_status();
  }
  if (rc.prepared->round >= rc.round) {
    return make_error("ibft.bad_prepared_round",
                      "round change to round " + std::to_string(rc.round) +
                          " reports a block prepared at round " +
                          std::to_string(rc.prepared->round) + " (must be lower)");
  }
  auto cert = check_prepared_certificate(rc.prepared_certificate, council, height, *rc.prepared);
  if (!cert.ok()) return cert.error().context("round change from " + to_hex0x(rc.sender));
  return ok_status();
}

std::optional<PreparedRef> highest_prepared(const std::vector<RoundChange>& rcs) {
  std::optional<PreparedRef> best;
  for (const auto& rc : rcs) {
    if (rc.prepared && (!best || rc.prepared->round > best->round)) best = rc.prepared;
  }
  return best;
}

Result<std::optional<Hash32>> justify_preprepare(const Preprepare& pp,
                                                 const chain::Council& council,
                                                 const Hash32& parent_hash) {
  const std::string view = view_text(pp.height, pp.round);
  if (pp.round == 0) {
    if (!pp.round_change_certificate.empty() || !pp.prepared_certificate.empty()) {
      return make_error("ibft.unexpected_certificate",
                        "preprepare " + view + " carries a justification; round 0 needs none");
    }
    return std::optional<Hash32>{};
  }
  if (pp.round_change_certificate.empty()) {
    return make_error("ibft.missing_justification",
                      "preprepare " + view + " has no round-change certificate");
  }
  std::set<Address> senders;
  for (std::size_t i = 0; i < pp.round_change_certificate.size(); ++i) {
    const RoundChange& rc = pp.round_change_certificate[i];
    const std::string at = "round-change certificate entry " + std::to_string(i);
    if (rc.height != pp.height || rc.round != pp.round) {
      std::string msg = at;
      msg += " is for ";
      msg += view_text(rc.height, rc.round);
      msg += ", not ";
      msg += view;
      return make_error("ibft.justification_mismatch", msg);
    }
    if (rc.parent_hash != parent_hash) {
      return make_error("ibft.wrong_parent", at + " builds on " + to_hex0x(rc.parent_hash) +
                                                 ", not on our parent " + to_hex0x(parent_hash));
    }
    if (!council.contains(rc.sender)) {
      return make_error("ibft.not_member",
                        at + " is signed by " + to_hex0x(rc.sender) + ", not a council member");
    }
    if (rc.prepared && rc.prepared->round >= rc.round) {
      std::string msg = at;
      msg += " reports a block prepared at round ";
      msg += std::to_string(rc.prepared->round);
      msg += ", not below ";
      msg += view;
      return make_error("ibft.bad_prepared_round", msg);
    }
    if (!senders.insert(rc.sender).second) {
      return make_error("ibft.duplicate_sender",
                        at + " repeats a round change by " + to_hex0x(rc.sender));
    }
  }
  if (senders.size() < council.commit_quorum()) {
    return make_error("ibft.no_quorum", "round-change certificate for " + view + " has " +
                                            std::to_string(senders.size()) + " entries; " +
                                            std::to_string(council.commit_quorum()) + " needed");
  }
  const auto highest = highest_prepared(pp.round_change_certificate);
  if (!highest) {
    // J1: nobody in the quorum prepared anything, so no block can have been committed.
    if (!pp.prepared_certificate.empty()) {
      return make_error(
          "ibft.unexpected_certificate",
          "preprepare " + view + " carries a prepared certificate but no round change reports one");
    }
    return std::optional<Hash32>{};
  }
  // J2: the certificate must prove a (highest round, hash) some member of Qrc reports.
  if (pp.prepared_certificate.empty()) {
    return make_error("ibft.missing_justification",
                      "preprepare " + view + ": a round change reports a block prepared at round " +
                          std::to_string(highest->round) + " but no prepared certificate is given");
  }
  const PreparedRef proven{pp.prepared_certificate.front().round,
                           pp.prepared_certificate.front().block_hash};
  bool reported = false;
  for (const auto& rc : pp.round_change_certificate) {
    if (rc.prepared && *rc.prepared == proven) reported = true;
  }
  if (proven.round != highest->round || !reported) {
    return make_error("ibft.certificate_mismatch",
                      "preprepare " + view + ": the prepared certificate is for round " +
                          std::to_string(proven.round) + " block " + to_hex0x(proven.block_hash) +
                          ", not the highest prepared block the round changes report (round " +
                          std::to_string(highest->round) + ")");
  }
  CC_TRY_STATUS(check_prepared_certificate(pp.prepared_certificate, council, pp.height, proven));
  return std::optional<Hash32>{proven.block_hash};
}

}  // namespace cc::consensus
