// Fuzzes block decoding (untrusted bytes from peers and blocks.rlp files): decoding must never
// crash, and whatever decodes must re-encode to exactly the input (the decoder is strict, so
// there is one encoding per block). Also drives the header's extra, hashes and seal recovery.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "chain/block.h"
#include "chain/extra.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc;
  using namespace cc::chain;
  ByteView input(data, size);

  auto block = Block::decode(input);
  if (block.ok()) {
    if (block->encode() != Bytes(input.begin(), input.end())) std::abort();
    (void)block->hash();
    (void)recover_proposer(block->header);
  }

  auto header = Header::decode(input);
  if (header.ok()) {
    if (header->encode() != Bytes(input.begin(), input.end())) std::abort();
    (void)header->hash();
    (void)header->sig_hash();
  }

  // The same bytes as a header extra.
  auto extra = decode_extra(input);
  if (extra.ok()) {
    if (encode_extra(*extra) != Bytes(input.begin(), input.end())) std::abort();
    auto for_hash = extra_for_hash(input);
    auto for_sig = extra_for_sig_hash(input);
    if (!for_hash.ok() || !for_sig.ok()) std::abort();
    auto filtered = decode_extra(*for_hash);
    if (!filtered.ok() || !filtered->committed_seals.empty() ||
        filtered->proposer_seal != extra->proposer_seal)
      std::abort();
  }

  // And as a stream of blocks.
  (void)decode_block_stream(input);
  return 0;
}
