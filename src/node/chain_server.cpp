#include "node/chain_server.h"

#include <algorithm>
#include <string>

namespace cc::node {

Result<BlockHeadersMsg> serve_headers(const storage::ChainDb& db, const GetBlockHeadersMsg& req) {
  BlockHeadersMsg reply;
  reply.request_id = req.request_id;
  const std::uint64_t amount = std::min<std::uint64_t>(req.amount, kMaxHeadersPerReply);
  std::size_t bytes = 0;
  for (std::uint64_t i = 0; i < amount && bytes <= kSoftReplyBytes; ++i) {
    const std::uint64_t number = req.origin + i;
    if (number < req.origin) break;  // origin near 2^64: nothing beyond the top can exist
    CC_TRY_ASSIGN(auto hash, db.canonical_hash(number));
    if (!hash) break;
    CC_TRY_ASSIGN(auto header, db.header(*hash));
    if (!header) {
      return make_error("chain_server.missing_header",
                        "canonical entry for block #" + std::to_string(number) + " names " +
                            to_hex0x(*hash) + " but the headers column family of " +
                            db.path().string() +
                            " has no such header; check the database with `corecell chain "
                            "verify` and restore it from a snapshot if it is damaged");
    }
    bytes += header->encode().size();
    reply.headers.push_back(std::move(*header));
  }
  return reply;
}

Result<BlockBodiesMsg> serve_bodies(const storage::ChainDb& db, const GetBlockBodiesMsg& req) {
  BlockBodiesMsg reply;
  reply.request_id = req.request_id;
  std::size_t bytes = 0;
  for (const Hash32& hash : req.hashes) {
    if (reply.bodies.size() >= kMaxBodiesPerReply || bytes > kSoftReplyBytes) break;
    CC_TRY_ASSIGN(auto body, db.body(hash));
    if (!body) break;
    for (const auto& tx : *body) bytes += tx.encode().size();
    reply.bodies.push_back(std::move(*body));
  }
  return reply;
}

}  // namespace cc::node
