// node/chain_server.h — owns the answers a node gives to chain requests from its peers
// (GetBlockHeaders, GetBlockBodies): pure reads of the local chain database, capped by the
// protocol's limits (node/protocol.h). It never writes, never decides whether to answer (the
// caller has admitted the peer) and never holds state between requests.
//
// Caps, as geth/Kaia's handlers apply them: a reply holds at most kMaxHeadersPerReply headers
// (kMaxBodiesPerReply bodies) and stops after the item whose wire size takes the running total
// past kSoftReplyBytes, so one request can never make a reply that large plus more than one item.
#pragma once

#include "node/protocol.h"
#include "storage/chaindb.h"
#include "util/result.h"

namespace cc::node {

// Canonical headers origin, origin+1, ... up to req.amount (and the caps above); stops early at
// the first height this node lacks (a short or empty reply, never an error). The reply carries
// req.request_id. Errors are local storage failures only (chain_server.missing_header when the
// canonical index names a header the headers column family lacks; I/O errors from ChainDb).
[[nodiscard]] Result<BlockHeadersMsg> serve_headers(const storage::ChainDb& db,
                                                    const GetBlockHeadersMsg& req);

// Bodies of the requested blocks in request order, stopping at the first hash this node does
// not have a body for (or at the caps above). Errors are local storage failures only.
[[nodiscard]] Result<BlockBodiesMsg> serve_bodies(const storage::ChainDb& db,
                                                  const GetBlockBodiesMsg& req);

}  // namespace cc::node
