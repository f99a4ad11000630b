// ha/etcd_lease.h — owns the `etcd` lease backend: etcd v3 through its JSON gateway (HTTP POST
// /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke, /v3/kv/range, /v3/kv/txn,
// /v3/kv/put, /v3/kv/deleterange; keys and values base64 in the JSON) with cpp-httplib, trying
// each endpoint in turn. Key schema under `prefix` (e.g. /corecell/cell-1):
//   <prefix>/holder     JSON {"holder":..} attached to an etcd lease of the TTL; created by a
//                       txn guarded by create_revision == 0, so one holder at a time; its
//                       create_revision is the epoch (etcd revisions only grow: a fencing token)
//   <prefix>/state      JSON {"holder","epoch","watermark","exact","handover_to"}, no lease: it
//                       outlives the holding (the takeover reads the watermark from it). The
//                       acquire writes it in the txn that creates the holder key, before that
//                       revision is known, so without "epoch": then the epoch is this key's
//                       mod_revision (= the holder key's create_revision). Every write of it is
//                       guarded by its mod_revision (read-modify-write, no lost update).
//   <prefix>/paused     JSON {"by":..} while paused
// The rules are those of ha/lease.h. etcd counts TTLs in whole seconds (minimum 2 here), so
// `ttl` is rounded up to a second. renew and release are txns guarded by the holder key's
// create_revision == epoch and its lease, after a keepalive of that etcd lease (TTL 0: expired,
// lease.lost; etcd never revives an expired lease). Epochs only grow while the etcd data
// survives: restoring etcd from an older backup, or wiping it, can hand out a used epoch.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ha/lease.h"

namespace cc::ha {

struct EtcdLeaseOptions {
  std::vector<std::string> endpoints;               // "http://127.0.0.1:2379"; tried in order
  std::string prefix;                               // "/corecell/cell-1"
  std::chrono::milliseconds request_timeout{1000};  // per HTTP request
};

// Errors: lease.config (no endpoints, an endpoint that is not http://host:port, an empty or
// relative prefix).
[[nodiscard]] Result<std::unique_ptr<LeaseStore>> make_etcd_lease_store(EtcdLeaseOptions options);

}  // namespace cc::ha
