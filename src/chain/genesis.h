// chain/genesis.h — owns the genesis file (its JSON format, strict parsing with field-naming
// errors, canonical writing) and the genesis block and hash derived from it. Never touches
// storage or the network; the genesis block is a pure function of the file's content.
//
// Format (close to Kaia's genesis.json; `council` replaces Kaia's extraData-encoded validators):
//   {
//     "config": {
//       "chainId": 1000,                      // required, integer > 0 (EIP-155 chain id)
//       "istanbul": {                         // optional; defaults shown
//         "blockPeriod": 1,                   //   seconds between blocks, integer >= 1
//         "roundTimeoutMs": 10000             //   round-0 timeout, integer >= 1
//       }
//     },
//     "timestamp": "0x0",                     // optional; unix seconds, hex "0x.." or integer
//     "council": ["0x<40 hex>", ...],         // required, >= 1 distinct validator addresses
//     "alloc": {                              // optional; funded accounts
//       "0x<40 hex>": {"balance": "0x.." }    //   balance: "0x" hex or decimal string (or integer)
//     }
//   }
// Unknown keys are rejected (a misspelt optional field would otherwise silently default).
// Addresses may be lower case or EIP-55 checksummed. Errors read
//   genesis.json: alloc["0xzz"]: not a 20-byte hex address (...)
//
// Genesis block: number 0, parentHash 0, rewardbase 0, time = timestamp, blockScore 1, gasUsed 0,
// no transactions (empty transactions/receipts roots), stateRoot = root of the alloc
// (chain/state.h), extra = zero vanity + the sorted council + no seals.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "chain/block.h"
#include "chain/council.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/u256.h"

namespace cc::chain {

struct IstanbulConfig {
  std::uint64_t block_period = 1;          // seconds
  std::uint64_t round_timeout_ms = 10000;  // round 0; later rounds add 2^round s (consensus/)

  bool operator==(const IstanbulConfig&) const = default;
};

struct ChainConfig {
  std::uint64_t chain_id = 0;
  IstanbulConfig istanbul;

  bool operator==(const ChainConfig&) const = default;
};

struct Genesis {
  ChainConfig config;
  std::uint64_t timestamp = 0;
  std::vector<Address> council;   // sorted ascending, distinct
  std::map<Address, U256> alloc;  // ordered, so the JSON written back is stable

  bool operator==(const Genesis&) const = default;

  [[nodiscard]] Result<Council> make_council() const { return Council::make(council); }
};

// Parses genesis JSON text; `source` (usually the file path) prefixes every error message.
[[nodiscard]] Result<Genesis> parse_genesis(std::string_view json_text,
                                            const std::string& source = "genesis.json");
[[nodiscard]] Result<Genesis> load_genesis_file(const std::filesystem::path& path);

// Canonical JSON (2-space indent, hex quantities, lower-case addresses); parse_genesis of the
// result gives back an equal Genesis.
[[nodiscard]] std::string genesis_to_json(const Genesis& genesis);

// The extra of the genesis header: zero vanity, the council, no seals.
[[nodiscard]] Bytes genesis_extra(const Genesis& genesis);

[[nodiscard]] Block genesis_block(const Genesis& genesis);
[[nodiscard]] Hash32 genesis_hash(const Genesis& genesis);

}  // namespace cc::chain
