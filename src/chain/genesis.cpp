#include "chain/genesis.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

#include "chain/receipt.h"
#include "chain/state.h"
#include "crypto/address.h"
#include "util/files.h"

namespace cc::chain {
namespace {

using nlohmann::json;

// Largest genesis file accepted (a real one is a few KiB; alloc of 100k accounts is ~10 MiB).
constexpr std::size_t kMaxGenesisBytes = 32u << 20;

// Collects the error context so every message reads "<source>: <field>: <problem>".
class Parser {
 public:
  explicit Parser(const std::string& source) : source_(source) {}

  Error err(const std::string& field, const std::string& problem) const {
    return make_error("genesis.invalid", source_ + ": " + field + ": " + problem);
  }

  Status only_keys(const json& obj, const std::string& field,
                   std::initializer_list<const char*> allowed) const {
    for (const auto& [key, value] : obj.items()) {
      bool known = false;
      std::string list;
      for (const char* a : allowed) {
        known = known || key == a;
        list += list.empty() ? std::string("\"") + a + "\"" : std::string(", \"") + a + "\"";
      }
      if (!known) {
        std::string name = field.empty() ? std::string() : field + ".";
        name += "\"" + key + "\"";
        return err(name, "unknown field (expected one of " + list + ")");
      }
    }
    return ok_status();
  }

  // A JSON unsigned integer (or, when allow_string, a "0x.." / decimal string) in [min, max].
  Result<std::uint64_t> uint(const json& v, const std::string& field, std::uint64_t min,
                             bool allow_string) const {
    std::uint64_t out = 0;
    if (v.is_number_unsigned()) {
      out = v.get<std::uint64_t>();
    } else if (v.is_number_integer()) {
      return err(field, "must not be negative");
    } else if (allow_string && v.is_string()) {
      auto parsed = u256_parse(v.get<std::string>());
      if (!parsed.ok()) {
        return err(field, "expected a \"0x\" hex or decimal integer string (" +
                              parsed.error().message + ")");
      }
      if (*parsed > std::numeric_limits<std::uint64_t>::max()) {
        return err(field, "does not fit in 64 bits");
      }
      out = static_cast<std::uint64_t>(*parsed);
    } else {
      return err(field, allow_string ? "expected an integer or a \"0x\" hex string"
                                     : "expected an integer");
    }
    if (out < min) return err(field, "must be at least " + std::to_string(min));
    return out;
  }

  Result<Address> address(const std::string& text, const std::string& field) const {
    auto a = crypto::parse_address(text);
    if (!a.ok()) return err(field, "not a 20-byte hex address (" + a.error().message + ")");
    return *a;
  }

  Result<Genesis> parse(std::string_view text) const {
    json doc;
    try {
      doc = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
      return make_error("genesis.json", source_ + ": not valid JSON (" + e.what() + ")");
    }
    if (!doc.is_object()) return err("(top level)", "expected a JSON object");
    CC_TRY_STATUS(only_keys(doc, "", {"config", "timestamp", "council", "alloc"}));

    Genesis g;
    // config
    if (!doc.contains("config")) return err("config", "missing (expected {\"chainId\": N})");
    const json& config = doc["config"];
    if (!config.is_object()) return err("config", "expected an object");
    CC_TRY_STATUS(only_keys(config, "config", {"chainId", "istanbul"}));
    if (!config.contains("chainId"))
      return err("config.chainId", "missing (expected an integer > 0)");
    CC_TRY_ASSIGN(g.config.chain_id, uint(config["chainId"], "config.chainId", 1, false));
    if (config.contains("istanbul")) {
      const json& ist = config["istanbul"];
      if (!ist.is_object()) return err("config.istanbul", "expected an object");
      CC_TRY_STATUS(only_keys(ist, "config.istanbul", {"blockPeriod", "roundTimeoutMs"}));
      if (ist.contains("blockPeriod")) {
        CC_TRY_ASSIGN(g.config.istanbul.block_period,
                      uint(ist["blockPeriod"], "config.istanbul.blockPeriod", 1, false));
      }
      if (ist.contains("roundTimeoutMs")) {
        CC_TRY_ASSIGN(g.config.istanbul.round_timeout_ms,
                      uint(ist["roundTimeoutMs"], "config.istanbul.roundTimeoutMs", 1, false));
      }
    }
    // timestamp
    if (doc.contains("timestamp")) {
      CC_TRY_ASSIGN(g.timestamp, uint(doc["timestamp"], "timestamp", 0, true));
    }
    // council
    if (!doc.contains("council")) {
      return err("council", "missing (expected a list of validator addresses)");
    }
    const json& council = doc["council"];
    if (!council.is_array() || council.empty()) {
      return err("council", "expected a non-empty list of \"0x..\" validator addresses");
    }
    for (std::size_t i = 0; i < council.size(); ++i) {
      const std::string field = "council[" + std::to_string(i) + "]";
      if (!council[i].is_string()) return err(field, "expected a \"0x..\" address string");
      CC_TRY_ASSIGN(auto a, address(council[i].get<std::string>(), field));
      g.council.push_back(a);
    }
    auto made = Council::make(g.council);
    if (!made.ok()) return err("council", made.error().message);
    g.council = made->validators();
    // alloc
    if (doc.contains("alloc")) {
      const json& alloc = doc["alloc"];
      if (!alloc.is_object())
        return err("alloc", "expected an object {\"0x..\": {\"balance\": ..}}");
      for (const auto& [key, entry] : alloc.items()) {
        const std::string field = "alloc[\"" + key + "\"]";
        CC_TRY_ASSIGN(auto a, address(key, field));
        if (!entry.is_object()) return err(field, "expected an object {\"balance\": ..}");
        CC_TRY_STATUS(only_keys(entry, field, {"balance"}));
        if (!entry.contains("balance")) return err(field + ".balance", "missing");
        const json& bal = entry["balance"];
        U256 balance = 0;
        if (bal.is_number_unsigned()) {
          balance = bal.get<std::uint64_t>();
        } else if (bal.is_string()) {
          auto parsed = u256_parse(bal.get<std::string>());
          if (!parsed.ok()) {
            return err(field + ".balance", "expected a \"0x\" hex or decimal string below 2^256 (" +
                                               parsed.error().message + ")");
          }
          balance = *parsed;
        } else {
          return err(field + ".balance", "expected a \"0x\" hex or decimal string");
        }
        if (!g.alloc.emplace(a, balance).second) {
          return err(field,
                     "the same address appears twice in alloc (keys differ only in case "
                     "or 0x prefix)");
        }
      }
    }
    return g;
  }

 private:
  std::string source_;
};

}  // namespace

Result<Genesis> parse_genesis(std::string_view json_text, const std::string& source) {
  return Parser(source).parse(json_text);
}

Result<Genesis> load_genesis_file(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxGenesisBytes);
  if (!text.ok()) return text.error().context("reading genesis file " + path.string());
  return parse_genesis(*text, path.string());
}

std::string genesis_to_json(const Genesis& g) {
  json doc = json::object();
  doc["config"] = {{"chainId", g.config.chain_id},
                   {"istanbul",
                    {{"blockPeriod", g.config.istanbul.block_period},
                     {"roundTimeoutMs", g.config.istanbul.round_timeout_ms}}}};
  doc["timestamp"] = u256_to_hex_quantity(U256(g.timestamp));
  json council = json::array();
  for (const auto& a : g.council) council.push_back(to_hex0x(a));
  doc["council"] = council;
  json alloc = json::object();
  for (const auto& [a, balance] : g.alloc) {
    alloc[to_hex0x(a)] = {{"balance", u256_to_hex_quantity(balance)}};
  }
  doc["alloc"] = alloc;
  return doc.dump(2) + "\n";
}

Bytes genesis_extra(const Genesis& g) {
  IstanbulExtra x;
  x.validators = g.council;
  std::sort(x.validators.begin(), x.validators.end());  // in case g was built by hand
  return encode_extra(x);
}

Block genesis_block(const Genesis& g) {
  State state;
  for (const auto& [a, balance] : g.alloc) state.set(a, Account{0, balance});
  Block b;
  Header& h = b.header;
  h.number = 0;
  h.block_score = 1;
  h.time = g.timestamp;
  h.state_root = state.root();
  h.transactions_root = empty_list_root();
  h.receipts_root = empty_list_root();
  h.extra = genesis_extra(g);
  return b;
}

Hash32 genesis_hash(const Genesis& g) { return genesis_block(g).hash(); }

}  // namespace cc::chain
