// node/validator.h — owns a council CN's consensus at run time: the SignGuard (consensus/
// sign_guard.h) wired to DATA_DIR/klay/signstate and DATA_DIR/klay/signjournal (storage/), the
// IBFT Core (consensus/core.h), its timers on the owner's io_context, building proposals from
// the tx pool, and importing decided blocks. It runs on the owner's thread (cc-node) only; the
// owner (node/service.h) routes consensus messages in and carries broadcasts and committed
// blocks out. It never signs except through the SignGuard, and never starts for a node whose
// address is not in the council (a standby CN syncs and never signs).
//
// In sync first: nothing is signed until the node is in sync with the network (its peers'
// heads), so a CN restored from an older snapshot never signs at a height it signed at before.
//
// Signing permit: with REQUIRE_SIGNING_PERMIT=1 the SignGuard refuses every signature until a
// process on the host grants a permit through the control socket (permit_grant/renew/revoke);
// that is the HA agent's hook. Without it the node signs whenever consensus asks. An agent's
// permit carries a height ceiling; consensus asks for more through ceiling_wait (a long poll).
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "chain/block.h"
#include "node/control.h"
#include "node/node.h"
#include "node/txpool.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::node {

struct ValidatorHooks {
  // Send an encoded consensus message to the other council CNs.
  std::function<void(const Bytes& message)> broadcast;
  // A block this node decided and imported: propagate it like any new block.
  std::function<void(const chain::Block& block, const Hash32& hash)> committed;
};

class Validator {
 public:
  // Opens the sign state (a corrupt file is an error naming it and the fix), the journal, the
  // SignGuard and the Core. Errors for a node outside the council: validator.not_in_council.
  [[nodiscard]] static Result<std::unique_ptr<Validator>> create(Node& node, TxPool& pool,
                                                                 asio::io_context& io,
                                                                 ValidatorHooks hooks);
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // Starts consensus at the chain head.
  void start();
  // An encoded consensus message from a peer. Malformed input is an Error (the caller drops
  // the peer); a valid message that the core ignores is not.
  [[nodiscard]] Status on_message(ByteView encoded);
  // The chain head moved without us (sync or a pushed block): move to the next height.
  void on_head_moved();
  // The node's view of the network (DESIGN.md: a validator signs nothing until it is in sync
  // with the network). Until the first call with in_sync, every signature is refused
  // (sign.not_in_sync); then, for a validator that started without a sign state, the floor is
  // raised above `network_head` (the best peer's head), the journal and our own head, and the
  // refused messages go out.
  void on_sync_view(bool in_sync, std::uint64_t network_head);
  // True until on_sync_view has opened the gate (the caller need not compute a view after).
  [[nodiscard]] bool waiting_for_sync() const;
  // True once a permit granted to this process has lapsed (its deadline passed, or it was
  // revoked) without a new one: the agent that granted it is gone, hung or fenced us, and the
  // lease it held is about to expire (or did). The node then leaves the network (issue #17).
  [[nodiscard]] bool permit_lapsed() const;
  // A council CN just became reachable: hand `send` the consensus messages this node already
  // broadcast at the current height (the same signed bytes, nothing re-signed), so a peer that
  // connected late — e.g. every peer at network start — need not wait out a round timeout.
  void replay_current_height(const std::function<void(const Bytes& message)>& send) const;
  // Stops timers; later timer events are ignored.
  void stop();

  // Control-socket commands: {"epoch": E, "ttl_ms": T | "deadline_boot_ms": D, "ceiling": H,
  // "floor": F (grant only)}. A renew that raises the ceiling sends what was refused above it.
  [[nodiscard]] Result<nlohmann::json> permit_grant(const nlohmann::json& request);
  [[nodiscard]] Result<nlohmann::json> permit_renew(const nlohmann::json& request);
  [[nodiscard]] Result<nlohmann::json> permit_revoke(const nlohmann::json& request);
  // {"above": C, "timeout_ms": T}: answers {"wanted_height", "ceiling"} as soon as consensus
  // was refused a signature above height C (the agent then replicates that height and raises
  // the ceiling), or after T ms (default 1000) with whatever is wanted then.
  void ceiling_wait(const nlohmann::json& request, ControlReply reply);

  // Height, round, permit state and SignGuard counters for `ctl status`.
  [[nodiscard]] nlohmann::json status_json() const;

 private:
  struct Impl;
  explicit Validator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cc::node
