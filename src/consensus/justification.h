// consensus/justification.h — owns the QBFT certificate rules: when a set of signed Prepares
// proves that a block was prepared, when a RoundChange is valid for a view, and when a
// Preprepare for round > 0 is justified (and which block it must then carry). Pure functions of
// the messages, the council and the view: no state, no signing, no clock.
//
// Rules (QBFT, "The Istanbul BFT Consensus Algorithm", Moniz 2020; names as in the paper):
//   prepared certificate   >= quorum Prepares for one (height, round, hash), from distinct
//                          council members.
//   valid ROUND-CHANGE     sender in the council; height and parent hash of the view; if it
//                          reports (pr, pv) then pr < round and its certificate proves (pr, pv);
//                          if it reports nothing, no certificate.
//   JustifyPrePrepare      round 0: no justification. round r > 0: a quorum Qrc of valid
//                          RoundChanges for (height, r) from distinct members, and either
//                          (J1) none in Qrc reports a prepared block: any value may be proposed,
//                          or (J2) the prepared certificate proves (pr, pv) where pr is the
//                          highest prepared round reported in Qrc and some member of Qrc reports
//                          (pr, pv): the proposal must be pv (HighestPrepared(Qrc)).
// The quorum is chain::Council::commit_quorum() (ceil(2N/3), N when N < 4), never 2F+1: the
// two differ when N != 3F+1 and only the former makes any two quorums share an honest member.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "chain/council.h"
#include "consensus/messages.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::consensus {

// The prepared certificate proves `ref` at `height`. Errors: ibft.certificate_mismatch (an entry
// for another view or hash), ibft.not_member, ibft.duplicate_sender, ibft.no_quorum.
[[nodiscard]] Status check_prepared_certificate(const std::vector<Prepare>& certificate,
                                                const chain::Council& council, std::uint64_t height,
                                                const PreparedRef& ref);

// A RoundChange (standalone, with its certificate) is valid for the height whose parent block
// has `parent_hash`. Errors: ibft.wrong_height, ibft.wrong_parent, ibft.not_member,
// ibft.bad_prepared_round, ibft.unexpected_certificate, plus the certificate's errors.
[[nodiscard]] Status check_round_change(const RoundChange& rc, const chain::Council& council,
                                        std::uint64_t height, const Hash32& parent_hash);

// HighestPrepared(Qrc): the report with the highest prepared round (the first such in order).
[[nodiscard]] std::optional<PreparedRef> highest_prepared(const std::vector<RoundChange>& rcs);

// JustifyPrePrepare for a Preprepare at round > 0 whose sender is already known to be the
// round's proposer: returns the block hash the proposal must have (J2) or nullopt (J1, free).
// Errors: ibft.missing_justification, ibft.justification_mismatch (an entry for another view),
// ibft.wrong_parent, ibft.not_member, ibft.duplicate_sender, ibft.no_quorum,
// ibft.unexpected_certificate, ibft.certificate_mismatch.
[[nodiscard]] Result<std::optional<Hash32>> justify_preprepare(const Preprepare& preprepare,
                                                               const chain::Council& council,
                                                               const Hash32& parent_hash);

}  // namespace cc::consensus
