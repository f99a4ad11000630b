#include "node/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <system_error>

#include "crypto/address.h"
#include "crypto/secp256k1.h"
#include "p2p/kni.h"

namespace cc::node {
namespace fs = std::filesystem;

namespace {

constexpr unsigned kCN = 1, kPN = 2, kEN = 4, kAll = kCN | kPN | kEN;

unsigned role_bit(Role r) { return r == Role::cn ? kCN : r == Role::pn ? kPN : kEN; }

// What an apply function needs: the config being built, the role's defaults (an empty value
// restores the default), where the value came from, and where relative paths start.
struct Ctx {
  NodeConfig& cfg;
  const NodeConfig& defaults;
  const std::string& where;  // "kcnd.conf:7" or "flag --port"
  const fs::path& base_dir;
  std::vector<std::string>& warnings;
};

using ApplyFn = Status (*)(Ctx&, const std::string& key, std::string_view value);
using RenderFn = std::string (*)(const NodeConfig&);

struct KeyDef {
  ConfigKeyInfo info;
  unsigned roles;
  ApplyFn apply;
  RenderFn render;
};

// A value quoted for a message: bounded, control bytes escaped.
std::string quote_value(std::string_view v) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < v.size() && i < 80; ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
    }
  }
  if (v.size() > 80) out += "...";
  return out + "\"";
}

Error bad_value(const Ctx& c, const std::string& key, std::string_view value,
                std::string_view expected) {
  return make_error("config.invalid", c.where + ": " + key + "=" + quote_value(value) +
                                          ": expected " + std::string(expected));
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, static_cast<std::uint64_t>(ch - '0'), &v)) {
      return std::nullopt;
    }
  }
  return v;
}

std::vector<std::string> split_list(std::string_view v, bool& empty_item) {
  std::vector<std::string> out;
  empty_item = false;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = v.find(',', start);
    std::string_view item =
        v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) empty_item = true;
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

bool is_ip(std::string_view s) {
  std::string z(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// --- typed setters; an empty value restores the role default ---

template <typename T>
Status set_uint(Ctx& c, const std::string& key, std::string_view v, T NodeConfig::*field,
                std::uint64_t lo, std::uint64_t hi) {
  if (v.empty()) {
    c.cfg.*field = c.defaults.*field;
    return ok_status();
  }
  auto n = parse_u64(v);
  if (!n || *n < lo || *n > hi) {
    return bad_value(c, key, v, "an integer " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  c.cfg.*field = static_cast<T>(*n);
  return ok_status();
}

Status set_bool(Ctx& c, const std::string& key, std::string_view v, bool NodeConfig::*field) {
  if (v.empty()) {
    c.cfg.*field = c.defaults.*field;
  } else if (v == "0" || v == "1") {
    c.cfg.*field = v == "1";
  } else {
    return bad_value(c, key, v, "0 or 1");
  }
  return ok_status();
}

Status set_path(Ctx& c, const std::string& key, std::string_view v, fs::path NodeConfig::*field) {
  if (v.empty()) {
    c.cfg.*field = c.defaults.*field;
    return ok_status();
  }
  fs::path p(v);
  if (p.is_relative()) p = c.base_dir / p;
  p = p.lexically_normal();
  // "/var/kcnd/data/" and "/var/kcnd/data" are the same directory.
  if (!p.has_filename() && p != p.root_path()) p = p.parent_path();
  (void)key;
  c.cfg.*field = p;
  return ok_status();
}

Status set_ip(Ctx& c, const std::string& key, std::string_view v, std::string NodeConfig::*field,
              bool allow_localhost) {
  if (v.empty()) {
    c.cfg.*field = c.defaults.*field;
    return ok_status();
  }
  if (allow_localhost && v == "localhost") {
    c.cfg.*field = "127.0.0.1";  // listeners bind an address, never resolve a name
    return ok_status();
  }
  if (!is_ip(v)) {
    return bad_value(c, key, v,
                     allow_localhost
                         ? "an IP address to listen on, such as 127.0.0.1, 0.0.0.0 or localhost"
                         : "an IP address such as 10.0.0.5 or fd00::5");
  }
  c.cfg.*field = std::string(v);
  return ok_status();
}

const std::array<std::string_view, 15> kKnownApis = {
    "admin", "debug", "eth",      "governance", "istanbul",  "kaia",   "klay", "mainbridge",
    "miner", "net",   "personal", "rpc",        "subbridge", "txpool", "web3"};

Status set_api_list(Ctx& c, const std::string& key, std::string_view v,
                    std::vector<std::string> NodeConfig::*field) {
  if (v.empty()) {
    c.cfg.*field = c.defaults.*field;
    return ok_status();
  }
  bool empty_item = false;
  auto items = split_list(v, empty_item);
  const char* expected = "a comma-separated list of API names such as klay,eth,net,web3";
  if (empty_item) return bad_value(c, key, v, std::string(expected) + " (with no empty item)");
  for (const auto& api : items) {
    bool ok = std::all_of(api.begin(), api.end(), [](char ch) {
      return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    });
    if (!ok) return bad_value(c, key, v, expected);
    if (std::find(kKnownApis.begin(), kKnownApis.end(), api) == kKnownApis.end()) {
      std::string warning = c.where + ": " + key + " lists API '";
      warning += api;
      warning += "', which corecell does not know; it will serve nothing";
      c.warnings.push_back(std::move(warning));
    }
  }
  c.cfg.*field = std::move(items);
  return ok_status();
}

// Validates each kni URL with the p2p parser; `allow_node_id` also accepts a bare 128-hex ID.
Status set_node_list(Ctx& c, const std::string& key, std::string_view v,
                     std::vector<std::string> NodeConfig::*field, bool allow_node_id) {
  if (v.empty()) {
    c.cfg.*field = c.defaults.*field;
    return ok_status();
  }
  std::string expected = allow_node_id
                             ? "a comma-separated list of kni://<node ID>@<ip>:<port> URLs or "
                               "128-hex node IDs"
                             : "a comma-separated list of kni://<node ID>@<ip>:<port> URLs";
  bool empty_item = false;
  auto items = split_list(v, empty_item);
  if (empty_item) return bad_value(c, key, v, expected + " (with no empty item)");
  for (const auto& item : items) {
    if (allow_node_id && item.size() == 128 && is_hex(item)) {
      auto id = fixed_from_hex<64>(item);
      if (id.ok() && crypto::validate_public_key(*id).ok()) continue;
      return bad_value(c, key, v,
                       expected + "; " + quote_value(item.substr(0, 16) + "...") +
                           " is not a node ID (not a point on secp256k1)");
    }
    auto url = p2p::KniUrl::parse(item);
    if (!url.ok()) {
      return bad_value(c, key, v, expected + "; " + quote_value(item) + ": " + url.error().message);
    }
  }
  c.cfg.*field = std::move(items);
  return ok_status();
}

Status set_ip_list(Ctx& c, const std::string& key, std::string_view v,
                   std::vector<std::string> NodeConfig::*field) {
  if (v.empty()) {
    c.cfg.*field = c.defaults.*field;
    return ok_status();
  }
  bool empty_item = false;
  auto items = split_list(v, empty_item);
  const char* expected = "a comma-separated list of IP addresses such as 10.0.1.5,10.0.2.5";
  if (empty_item) return bad_value(c, key, v, std::string(expected) + " (with no empty item)");
  for (const auto& item : items) {
    if (!is_ip(item))
      return bad_value(c, key, v, std::string(expected) + "; " + quote_value(item) + " is not one");
  }
  c.cfg.*field = std::move(items);
  return ok_status();
}

// Go-style durations as Kaia writes them: 30s, 5m, 1h30m. Whole units only.
constexpr std::int64_t kMaxLifeTimeSeconds = std::int64_t{720} * 3600;
std::optional<std::int64_t> parse_duration(std::string_view v) {
  if (v.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t start = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    if (i == start || i - start > 9 || i >= v.size()) return std::nullopt;
    std::int64_t n = 0;
    for (std::size_t k = start; k < i; ++k) n = n * 10 + (v[k] - '0');
    std::int64_t unit = v[i] == 'h' ? 3600 : v[i] == 'm' ? 60 : v[i] == 's' ? 1 : 0;
    if (unit == 0) return std::nullopt;
    // "5ms" would read as 5 minutes then garbage: refuse rather than guess.
    if (v[i] == 'm' && i + 1 < v.size() && v[i + 1] == 's') return std::nullopt;
    ++i;
    total += n * unit;
    if (total > kMaxLifeTimeSeconds) return total;
  }
  return total;
}

std::string format_duration(std::chrono::seconds d) {
  std::int64_t s = d.count();
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "m";
  if (s % 60 != 0 || out.empty()) out += std::to_string(s % 60) + "s";
  return out;
}

// A value for to_conf_text: double-quoted, with the characters special inside "..." escaped.
std::string dq(std::string_view v) {
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"' || ch == '\\' || ch == '$' || ch == '`') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string u(std::uint64_t v) { return std::to_string(v); }
std::string b(bool v) { return v ? "1" : "0"; }

// The order here is the order of to_conf_text and of docs/CONFIGURATION.md.
const std::vector<KeyDef>& key_defs() {
  static const std::vector<KeyDef> defs = {
      {{"NETWORK_ID", "an integer 1..9223372036854775807, or empty", "cn,pn,en",
        "chain/network ID; empty: the genesis chainId"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) -> Status {
         if (v.empty()) {
           c.cfg.network_id = c.defaults.network_id;
           return ok_status();
         }
         auto n = parse_u64(v);
         if (!n || *n < 1 || *n > 9223372036854775807ull) {
           return bad_value(c, k, v, "an integer 1..9223372036854775807, or empty");
         }
         c.cfg.network_id = *n;
         return ok_status();
       },
       [](const NodeConfig& n) { return n.network_id ? u(*n.network_id) : std::string(); }},
      {{"GENESIS", "a path", "cn,pn,en", "genesis.json of the network"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_path(c, k, v, &NodeConfig::genesis);
       },
       [](const NodeConfig& n) {
         return n.genesis.empty() ? std::string() : dq(n.genesis.string());
       }},
      {{"PORT", "an integer 1..65535", "cn,pn,en", "p2p TCP port"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::port, 1, 65535);
       },
       [](const NodeConfig& n) { return u(n.port); }},
      {{"SUBPORT", "an integer 1..65535", "cn,pn,en", "second p2p port when MULTICHANNEL=1"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::subport, 1, 65535);
       },
       [](const NodeConfig& n) { return n.subport == 0 ? std::string() : u(n.subport); }},
      {{"MULTICHANNEL", "0 or 1", "cn,pn,en", "use a second connection (SUBPORT) per peer"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_bool(c, k, v, &NodeConfig::multichannel);
       },
       [](const NodeConfig& n) { return b(n.multichannel); }},
      {{"PUBLIC_IP", "an IP address, or empty", "cn,pn,en",
        "the address this node binds and dials from"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_ip(c, k, v, &NodeConfig::public_ip, false);
       },
       [](const NodeConfig& n) { return n.public_ip.empty() ? std::string() : dq(n.public_ip); }},
      {{"MAXCONNECTIONS", "an integer 0..65535", "cn,pn,en", "maximum peers; 0 disables p2p"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::max_connections, 0, 65535);
       },
       [](const NodeConfig& n) { return u(n.max_connections); }},
      {{"NO_DISCOVER", "0 or 1", "cn,pn,en", "1: dial only static nodes, never discovered ones"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_bool(c, k, v, &NodeConfig::no_discover);
       },
       [](const NodeConfig& n) { return b(n.no_discover); }},
      {{"BOOTNODES", "a comma-separated list of kni URLs", "cn,pn,en", "bootstrap nodes"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_node_list(c, k, v, &NodeConfig::bootnodes, false);
       },
       [](const NodeConfig& n) { return dq(join(n.bootnodes)); }},
      {{"SYNCMODE", "\"full\"", "cn,pn,en", "block sync mode (only full)"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) -> Status {
         if (v.empty() || v == "full") {
           c.cfg.syncmode = "full";
           return ok_status();
         }
         return bad_value(c, k, v, "\"full\" (corecell syncs only in full mode)");
       },
       [](const NodeConfig& n) { return dq(n.syncmode); }},
      {{"REWARDBASE", "an address 0x + 40 hex (EIP-55 checked if mixed case)", "cn",
        "account credited with this CN's block rewards"},
       kCN,
       [](Ctx& c, const std::string& k, std::string_view v) -> Status {
         if (v.empty()) {
           c.cfg.rewardbase = c.defaults.rewardbase;
           return ok_status();
         }
         if (v == "0x0") {
           return bad_value(c, k, v,
                            "an address 0x followed by 40 hex characters (\"0x0\" is the "
                            "placeholder of Kaia's sample kcnd.conf; put the reward account here)");
         }
         if (v.size() != 42 || v[0] != '0' || v[1] != 'x' || !is_hex(v.substr(2))) {
           return bad_value(c, k, v, "an address 0x followed by 40 hex characters");
         }
         auto addr = crypto::parse_address(v);
         if (!addr.ok()) {
           return bad_value(c, k, v,
                            "an address with a valid EIP-55 checksum, or all in lower case (" +
                                addr.error().message + ")");
         }
         c.cfg.rewardbase = *addr;
         return ok_status();
       },
       [](const NodeConfig& n) {
         return n.rewardbase ? dq(crypto::to_checksum_hex(*n.rewardbase)) : std::string();
       }},
      {{"CN_ALLOWLIST", "a comma-separated list of IP addresses", "cn",
        "the only IPs a peer may connect from as a CN"},
       kCN,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_ip_list(c, k, v, &NodeConfig::cn_allowlist);
       },
       [](const NodeConfig& n) { return dq(join(n.cn_allowlist)); }},
      {{"PROXY_NODES", "a comma-separated list of kni URLs or node IDs", "cn",
        "this cell's own PNs"},
       kCN,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_node_list(c, k, v, &NodeConfig::proxy_nodes, true);
       },
       [](const NodeConfig& n) { return dq(join(n.proxy_nodes)); }},
      {{"REQUIRE_SIGNING_PERMIT", "0 or 1", "cn",
        "1: sign only while the HA agent has granted a permit"},
       kCN,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_bool(c, k, v, &NodeConfig::require_signing_permit);
       },
       [](const NodeConfig& n) { return b(n.require_signing_permit); }},
      {{"TXPOOL_EXEC_SLOTS_ALL", "an integer 1..1048576", "cn,pn,en",
        "executable transactions held, all accounts"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::txpool_exec_slots_all, 1, 1u << 20);
       },
       [](const NodeConfig& n) { return u(n.txpool_exec_slots_all); }},
      {{"TXPOOL_NONEXEC_SLOTS_ALL", "an integer 1..1048576", "cn,pn,en",
        "future (nonce-gap) transactions held, all accounts"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::txpool_nonexec_slots_all, 1, 1u << 20);
       },
       [](const NodeConfig& n) { return u(n.txpool_nonexec_slots_all); }},
      {{"TXPOOL_EXEC_SLOTS_ACCOUNT", "an integer 1..1048576", "cn,pn,en",
        "executable transactions guaranteed per account"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::txpool_exec_slots_account, 1, 1u << 20);
       },
       [](const NodeConfig& n) { return u(n.txpool_exec_slots_account); }},
      {{"TXPOOL_NONEXEC_SLOTS_ACCOUNT", "an integer 1..1048576", "cn,pn,en",
        "future transactions allowed per account"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::txpool_nonexec_slots_account, 1, 1u << 20);
       },
       [](const NodeConfig& n) { return u(n.txpool_nonexec_slots_account); }},
      {{"TXPOOL_LIFE_TIME", "a duration such as 30s, 5m, 1h30m (1s..720h)", "cn,pn,en",
        "how long a non-executable transaction may wait"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) -> Status {
         if (v.empty()) {
           c.cfg.txpool_life_time = c.defaults.txpool_life_time;
           return ok_status();
         }
         auto d = parse_duration(v);
         if (!d || *d < 1 || *d > kMaxLifeTimeSeconds) {
           return bad_value(c, k, v, "a duration such as 30s, 5m or 1h30m, between 1s and 720h");
         }
         c.cfg.txpool_life_time = std::chrono::seconds(*d);
         return ok_status();
       },
       [](const NodeConfig& n) { return dq(format_duration(n.txpool_life_time)); }},
      {{"SERVER_TYPE", "\"http\" or \"fasthttp\"", "cn,pn,en",
        "Kaia's RPC server flavour; both mean corecell's HTTP server"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) -> Status {
         if (v.empty()) {
           c.cfg.server_type = c.defaults.server_type;
         } else if (v == "http" || v == "fasthttp") {
           c.cfg.server_type = std::string(v);
         } else {
           return bad_value(c, k, v, "\"http\" or \"fasthttp\"");
         }
         return ok_status();
       },
       [](const NodeConfig& n) { return dq(n.server_type); }},
      {{"RPC_ENABLE", "0 or 1", "cn,pn,en", "serve JSON-RPC over HTTP"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_bool(c, k, v, &NodeConfig::rpc_enable);
       },
       [](const NodeConfig& n) { return b(n.rpc_enable); }},
      {{"RPC_API", "a comma-separated list of API names", "cn,pn,en",
        "namespaces served over HTTP"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_api_list(c, k, v, &NodeConfig::rpc_api);
       },
       [](const NodeConfig& n) { return dq(join(n.rpc_api)); }},
      {{"RPC_PORT", "an integer 1..65535", "cn,pn,en", "HTTP JSON-RPC port"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::rpc_port, 1, 65535);
       },
       [](const NodeConfig& n) { return u(n.rpc_port); }},
      {{"RPC_ADDR", "an IP address or localhost", "cn,pn,en", "HTTP JSON-RPC listen address"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_ip(c, k, v, &NodeConfig::rpc_addr, true);
       },
       [](const NodeConfig& n) { return dq(n.rpc_addr); }},
      {{"WS_ENABLE", "0 or 1", "cn,pn,en", "serve JSON-RPC over WebSocket"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_bool(c, k, v, &NodeConfig::ws_enable);
       },
       [](const NodeConfig& n) { return b(n.ws_enable); }},
      {{"WS_API", "a comma-separated list of API names", "cn,pn,en",
        "namespaces served over WebSocket"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_api_list(c, k, v, &NodeConfig::ws_api);
       },
       [](const NodeConfig& n) { return dq(join(n.ws_api)); }},
      {{"WS_PORT", "an integer 1..65535", "cn,pn,en", "WebSocket JSON-RPC port"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::ws_port, 1, 65535);
       },
       [](const NodeConfig& n) { return u(n.ws_port); }},
      {{"WS_ADDR", "an IP address or localhost", "cn,pn,en", "WebSocket listen address"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_ip(c, k, v, &NodeConfig::ws_addr, true);
       },
       [](const NodeConfig& n) { return dq(n.ws_addr); }},
      {{"METRICS", "0 or 1", "cn,pn,en", "collect metrics"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_bool(c, k, v, &NodeConfig::metrics);
       },
       [](const NodeConfig& n) { return b(n.metrics); }},
      {{"PROMETHEUS", "0 or 1", "cn,pn,en", "serve metrics for Prometheus on PROMETHEUS_PORT"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_bool(c, k, v, &NodeConfig::prometheus);
       },
       [](const NodeConfig& n) { return b(n.prometheus); }},
      {{"PROMETHEUS_PORT", "an integer 1..65535", "cn,pn,en", "Prometheus exporter port"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::prometheus_port, 1, 65535);
       },
       [](const NodeConfig& n) { return u(n.prometheus_port); }},
      {{"PROMETHEUS_ADDR", "an IP address or localhost", "cn,pn,en",
        "metrics and health listen address (corecell's own key; Kaia listens on every address)"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_ip(c, k, v, &NodeConfig::prometheus_addr, true);
       },
       [](const NodeConfig& n) { return dq(n.prometheus_addr); }},
      {{"VERBOSITY", "an integer 0..5", "cn,pn,en",
        "log level: 0 silent, 1 error, 2 warn, 3 info, 4 debug, 5 trace"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_uint(c, k, v, &NodeConfig::verbosity, 0, 5);
       },
       [](const NodeConfig& n) { return u(static_cast<std::uint64_t>(n.verbosity)); }},
      {{"DATA_DIR", "a path", "cn,pn,en", "the data directory (Kaia layout)"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_path(c, k, v, &NodeConfig::data_dir);
       },
       [](const NodeConfig& n) { return dq(n.data_dir.string()); }},
      {{"LOG_DIR", "a path", "cn,pn,en", "where log files go; default DATA_DIR/logs"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_path(c, k, v, &NodeConfig::log_dir);
       },
       [](const NodeConfig& n) { return dq(n.log_dir.string()); }},
      {{"ADDITIONAL", "text", "cn,pn,en", "extra command-line flags for the node"},
       kAll,
       [](Ctx& c, const std::string&, std::string_view v) -> Status {
         c.cfg.additional = std::string(v);
         return ok_status();
       },
       [](const NodeConfig& n) { return dq(n.additional); }},
      {{"AUTO_RESTART", "0 or 1", "cn,pn,en", "hint to the service wrapper: restart on exit"},
       kAll,
       [](Ctx& c, const std::string& k, std::string_view v) {
         return set_bool(c, k, v, &NodeConfig::auto_restart);
       },
       [](const NodeConfig& n) { return b(n.auto_restart); }},
  };
  return defs;
}

const KeyDef* find_def(std::string_view key) {
  for (const auto& d : key_defs()) {
    if (d.info.name == key) return &d;
  }
  return nullptr;
}

// Kaia keys corecell reads past on purpose. A warning names why, but only when the value would
// have changed something in Kaia (non-empty, not 0, and the gating key, if any, is 1).
struct IgnoredKey {
  std::string_view name;
  std::string_view gate;  // warn only if this key is "1" (empty: always)
  std::string_view why;
};
constexpr IgnoredKey kIgnoredKaiaKeys[] = {
    {"NETWORK", "",
     "corecell does not join Kaia mainnet/kairos; the network is GENESIS + NETWORK_ID"},
    {"LDBCACHESIZE", "", "corecell stores chaindata in RocksDB with its own cache sizing"},
    {"PDBCACHESIZE", "", "corecell stores chaindata in RocksDB with its own cache sizing"},
    {"DB_NO_PARALLEL_WRITE", "", "corecell's storage has no such switch"},
    {"RPC_CORSDOMAIN", "", "corecell's RPC server does not implement CORS"},
    {"RPC_VHOSTS", "", "corecell's RPC server does not check virtual hosts"},
    {"RPC_CONCURRENCYLIMIT", "", "not configurable in corecell"},
    {"RPC_READ_TIMEOUT", "", "not configurable in corecell"},
    {"RPC_WRITE_TIMEOUT", "", "not configurable in corecell"},
    {"RPC_IDLE_TIMEOUT", "", "not configurable in corecell"},
    {"RPC_EXECUTION_TIMEOUT", "", "not configurable in corecell"},
    {"WS_ORIGINS", "", "corecell's WebSocket server does not check origins"},
    {"SC_MAIN_BRIDGE", "", "service chains are not supported"},
    {"SC_MAIN_BRIDGE_PORT", "SC_MAIN_BRIDGE", "service chains are not supported"},
    {"SC_MAIN_BRIDGE_INDEXING", "SC_MAIN_BRIDGE", "service chains are not supported"},
    {"LOG_ROTATE", "", "rotate DATA_DIR/logs with logrotate(8) instead"},
    {"LOG_MAXSIZE", "LOG_ROTATE", "rotate DATA_DIR/logs with logrotate(8) instead"},
    {"LOG_MAXBACKUPS", "LOG_ROTATE", "rotate DATA_DIR/logs with logrotate(8) instead"},
    {"LOG_MAXAGE", "LOG_ROTATE", "rotate DATA_DIR/logs with logrotate(8) instead"},
    {"LOG_COMPRESS", "LOG_ROTATE", "rotate DATA_DIR/logs with logrotate(8) instead"},
    {"AUTO_RESTART_NODE", "", "use systemd Restart= or `corecell ha agent` to restart the node"},
    {"AUTO_RESTART_INTERVAL", "AUTO_RESTART_NODE", "use systemd RestartSec= instead"},
};

const IgnoredKey* find_ignored(std::string_view key) {
  for (const auto& k : kIgnoredKaiaKeys) {
    if (k.name == key) return &k;
  }
  return nullptr;
}

// Optimal-string-alignment distance (a swap of two letters counts once): RPC_PROT -> RPC_PORT.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// " (did you mean RPC_PORT?)" when a known key is close, else "".
std::string suggestion(std::string_view key) {
  if (key.size() > 64) return "";
  std::string upper(key);
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string best;
  std::size_t best_d = 3;  // at most 2 edits, and fewer than half the key
  for (const auto& d : key_defs()) {
    std::size_t dist = edit_distance(upper, d.info.name);
    if (dist < best_d && dist * 2 < d.info.name.size()) {
      best_d = dist;
      best = d.info.name;
    }
  }
  return best.empty() ? "" : " (did you mean " + best + "?)";
}

bool has_control_char(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

Status apply_value(Ctx& c, const KeyDef& def, std::string_view value) {
  std::string key(def.info.name);
  if (has_control_char(value)) {
    return bad_value(c, key, value, std::string(def.info.type) + " (without control characters)");
  }
  return def.apply(c, key, value);
}

// Role defaults before derivation: subport 0 and log_dir empty mean "derive from PORT/DATA_DIR".
NodeConfig raw_defaults(Role role) {
  NodeConfig c;
  c.role = role;
  c.subport = 0;
  c.rpc_api = {"klay", "eth", "net", "web3"};
  c.ws_api = c.rpc_api;
  switch (role) {
    case Role::cn:
      c.data_dir = "/var/kcnd/data";
      c.max_connections = 100;
      c.no_discover = true;  // a CN dials only its static nodes (other CNs, its own PNs)
      c.txpool_exec_slots_all = c.txpool_nonexec_slots_all = 16384;
      c.txpool_exec_slots_account = c.txpool_nonexec_slots_account = 16384;
      c.txpool_life_time = std::chrono::minutes(5);
      break;
    case Role::pn:
      c.data_dir = "/var/kpnd/data";
      c.max_connections = 200;
      c.txpool_exec_slots_all = c.txpool_nonexec_slots_all = 8192;
      c.txpool_exec_slots_account = c.txpool_nonexec_slots_account = 8192;
      c.txpool_life_time = std::chrono::minutes(5);
      break;
    case Role::en:
      c.data_dir = "/var/kend/data";
      c.max_connections = 10;
      c.txpool_exec_slots_all = c.txpool_nonexec_slots_all = 4096;
      c.txpool_exec_slots_account = c.txpool_nonexec_slots_account = 4096;
      c.txpool_life_time = std::chrono::minutes(30);
      break;
  }
  return c;
}

std::string origin_of(const NodeConfig& c, const std::string& key) {
  auto it = c.origins.find(key);
  return it == c.origins.end() ? "default" : it->second;
}

// Fills derived values and checks rules that involve more than one key.
Status finish(NodeConfig& c) {
  if (c.log_dir.empty()) c.log_dir = c.data_dir / "logs";
  if (c.subport == 0 && c.port < 65535) c.subport = static_cast<std::uint16_t>(c.port + 1);
  if (c.multichannel && c.subport == 0) {
    return make_error("config.invalid",
                      "MULTICHANNEL=1 needs SUBPORT, and its default PORT + 1 = 65536 is not a "
                      "port; set SUBPORT (PORT from " +
                          origin_of(c, "PORT") + ")");
  }
  struct Listener {
    const char* key;
    std::uint16_t port;
  };
  std::vector<Listener> listeners = {{"PORT", c.port}};
  if (c.multichannel) listeners.push_back({"SUBPORT", c.subport});
  if (c.rpc_enable) listeners.push_back({"RPC_PORT", c.rpc_port});
  if (c.ws_enable) listeners.push_back({"WS_PORT", c.ws_port});
  if (c.prometheus) listeners.push_back({"PROMETHEUS_PORT", c.prometheus_port});
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    for (std::size_t j = i + 1; j < listeners.size(); ++j) {
      if (listeners[i].port != listeners[j].port) continue;
      return make_error("config.port_conflict",
                        std::string(listeners[i].key) + " (" + origin_of(c, listeners[i].key) +
                            ") and " + listeners[j].key + " (" + origin_of(c, listeners[j].key) +
                            ") are both " + std::to_string(listeners[i].port) +
                            "; each listener needs its own port");
    }
  }
  return ok_status();
}

Result<NodeConfig> build(Role role, const ConfFile* file, const fs::path& file_base,
                         const std::vector<ConfigOverride>& overrides) {
  NodeConfig defaults = raw_defaults(role);
  NodeConfig cfg = defaults;
  std::vector<std::string> warnings;

  if (file != nullptr) {
    std::map<std::string, std::size_t> last;  // key -> index of the entry that takes effect
    std::map<std::string, int> first_line;
    for (std::size_t i = 0; i < file->entries.size(); ++i) last[file->entries[i].key] = i;
    for (std::size_t i = 0; i < file->entries.size(); ++i) {
      const ConfEntry& e = file->entries[i];
      std::string where = file->source + ":" + std::to_string(e.line);
      auto [it, fresh] = first_line.emplace(e.key, e.line);
      if (!fresh && last[e.key] == i) {
        warnings.push_back(where + ": " + e.key + " is set again (also on line " +
                           std::to_string(it->second) + "); the value on line " +
                           std::to_string(e.line) + " is used");
      }
      if (last[e.key] != i) continue;
      const KeyDef* def = find_def(e.key);
      if (def == nullptr) {
        if (const IgnoredKey* ig = find_ignored(e.key)) {
          bool gated_on = ig->gate.empty();
          if (!gated_on) {
            const ConfEntry* g = file->find(ig->gate);
            gated_on = g != nullptr && g->value == "1";
          }
          if (gated_on && !e.value.empty() && e.value != "0") {
            warnings.push_back(where + ": " + e.key + " is a Kaia setting corecell does not use (" +
                               std::string(ig->why) + "); ignored");
          }
        } else {
          warnings.push_back(where + ": unknown key " + e.key + suggestion(e.key) + "; ignored");
        }
        continue;
      }
      if ((def->roles & role_bit(role)) == 0) {
        if (!e.value.empty()) {
          warnings.push_back(where + ": " + e.key + " applies only to role " +
                             std::string(def->info.roles) + "; ignored for role " +
                             std::string(role_name(role)));
        }
        continue;
      }
      Ctx ctx{cfg, defaults, where, file_base, warnings};
      CC_TRY_STATUS(apply_value(ctx, *def, e.value));
      if (e.value.empty()) {
        cfg.origins.erase(e.key);
      } else {
        cfg.origins[e.key] = where;
      }
    }
  }

  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec) cwd = "/";
  for (const auto& o : overrides) {
    std::string where = "flag " + (o.flag.empty() ? o.key : o.flag);
    const KeyDef* def = find_def(o.key);
    if (def == nullptr) {
      return make_error("config.unknown_key", where + ": unknown configuration key " +
                                                  quote_value(o.key) + suggestion(o.key));
    }
    if ((def->roles & role_bit(role)) == 0) {
      return make_error("config.wrong_role", where + ": " + o.key + " applies only to role " +
                                                 std::string(def->info.roles) + ", not " +
                                                 std::string(role_name(role)));
    }
    Ctx ctx{cfg, defaults, where, cwd, warnings};
    CC_TRY_STATUS(apply_value(ctx, *def, o.value));
    if (o.value.empty()) {
      cfg.origins.erase(o.key);
    } else {
      cfg.origins[o.key] = where;
    }
  }

  CC_TRY_STATUS(finish(cfg));
  cfg.warnings = std::move(warnings);
  return cfg;
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::cn:
      return "cn";
    case Role::pn:
      return "pn";
    case Role::en:
      return "en";
  }
  return "cn";
}

Result<Role> parse_role(std::string_view text) {
  if (text == "cn") return Role::cn;
  if (text == "pn") return Role::pn;
  if (text == "en") return Role::en;
  return make_error("config.role", "unknown node role " + quote_value(text) +
                                       ": expected cn (consensus), pn (proxy) or en (endpoint)");
}

std::string_view conf_file_name(Role role) {
  switch (role) {
    case Role::cn:
      return "kcnd.conf";
    case Role::pn:
      return "kpnd.conf";
    case Role::en:
      return "kend.conf";
  }
  return "kcnd.conf";
}

Result<ConfigOverride> parse_override(std::string_view kv, std::string flag) {
  std::size_t eq = kv.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return make_error("config.override", (flag.empty() ? std::string("override") : "flag " + flag) +
                                             ": expected KEY=VALUE, got " + quote_value(kv));
  }
  return ConfigOverride{std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)),
                        std::move(flag)};
}

NodeConfig default_node_config(Role role) {
  NodeConfig c = raw_defaults(role);
  (void)finish(c);  // defaults have no conflicts; derives SUBPORT and LOG_DIR
  return c;
}

Result<NodeConfig> node_config_from_text(Role role, std::string_view text,
                                         const std::string& source, const fs::path& base_dir,
                                         const std::vector<ConfigOverride>& overrides) {
  CC_TRY_ASSIGN(ConfFile file, parse_conf(text, source));
  return build(role, &file, base_dir, overrides);
}

Result<NodeConfig> load_node_config(Role role, const std::optional<fs::path>& conf_path,
                                    const std::vector<ConfigOverride>& overrides) {
  if (!conf_path) return build(role, nullptr, fs::path("/"), overrides);
  CC_TRY_ASSIGN(ConfFile file, read_conf_file(*conf_path));
  std::error_code ec;
  fs::path abs = fs::absolute(*conf_path, ec);
  if (ec) abs = *conf_path;
  CC_TRY_ASSIGN(NodeConfig cfg, build(role, &file, abs.parent_path(), overrides));
  cfg.conf_path = *conf_path;
  return cfg;
}

std::string to_conf_text(const NodeConfig& config) {
  std::string out = "# corecell " + std::string(role_name(config.role)) + " configuration (" +
                    std::string(conf_file_name(config.role)) +
                    " syntax; see docs/CONFIGURATION.md)\n";
  for (const auto& d : key_defs()) {
    if ((d.roles & role_bit(config.role)) == 0) continue;
    out += std::string(d.info.name) + "=" + d.render(config) + "\n";
  }
  return out;
}

std::span<const ConfigKeyInfo> config_keys() {
  static const std::vector<ConfigKeyInfo> infos = [] {
    std::vector<ConfigKeyInfo> v;
    for (const auto& d : key_defs()) v.push_back(d.info);
    return v;
  }();
  return infos;
}

std::string flag_name_for(std::string_view key) {
  std::string out = "--";
  for (char ch : key) {
    out += ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out;
}

}  // namespace cc::node
