#include "rpc/metrics.h"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace cc::rpc {
namespace {

using json = nlohmann::json;

// --- reading the status defensively ---

// The value at `path` under `root`, or nullptr when any step is not an object, is missing, or the
// value is null: callers then type-check what they got.
const json* metrics_at(const json& root, std::initializer_list<const char*> path) {
  const json* cur = &root;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    const auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

std::optional<bool> metrics_bool(const json* v) {
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

// A non-negative integer (heights, counts, counters); negative or fractional values are not one.
std::optional<std::uint64_t> metrics_count(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<std::uint64_t>();
  if (v->is_number_integer()) {
    const auto i = v->get<std::int64_t>();
    if (i >= 0) return static_cast<std::uint64_t>(i);
  }
  return std::nullopt;
}

std::optional<std::string> metrics_string(const json* v) {
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

// A sample value as the exposition format writes it (Go's ParseFloat reads it back): integers
// exactly, floats shortest round-trip, and the format's own spellings of NaN and infinities.
std::optional<std::string> metrics_value_text(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) return fmt::format("{}", v->get<std::uint64_t>());
  if (v->is_number_integer()) return fmt::format("{}", v->get<std::int64_t>());
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isnan(d)) return std::string("NaN");
    if (std::isinf(d)) return std::string(d > 0 ? "+Inf" : "-Inf");
    return fmt::format("{}", d);
  }
  return std::nullopt;
}

// --- writing the exposition ---

// Label values may hold any UTF-8; the status's strings are our own, but a string built in code
// is not checked by nlohmann until it is dumped. Dumping with `replace` and reading it back gives
// the same text with U+FFFD for every invalid byte, so a bad string can never make the whole
// exposition unparseable.
std::string metrics_valid_utf8(const std::string& s) {
  const json sanitized =
      json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::replace), nullptr, false);
  return sanitized.is_string() ? sanitized.get<std::string>() : std::string();
}

// Exposition format 0.0.4: label values escape backslash, double quote and line feed; HELP text
// escapes backslash and line feed.
std::string metrics_escape(std::string_view text, bool is_label_value) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && is_label_value) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

using MetricsLabels = std::vector<std::pair<std::string_view, std::string>>;

struct MetricsFamily {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  std::vector<std::pair<std::string, std::string>> samples;  // rendered labels, value
  std::set<std::string> label_sets;                          // a label set is written once
};

// Collects samples by family so that each family is written once, in first-use order, with its
// HELP and TYPE, however the samples arrive; families that end up with no sample are not written.
class MetricsWriter {
 public:
  void gauge(std::string_view name, std::string_view help, const json* v,
             const MetricsLabels& labels = {}) {
    if (auto text = metrics_value_text(v)) add(name, "gauge", help, labels, std::move(*text));
  }
  void gauge_flag(std::string_view name, std::string_view help, std::optional<bool> v) {
    if (v) add(name, "gauge", help, {}, *v ? "1" : "0");
  }
  void gauge_count(std::string_view name, std::string_view help, std::optional<std::uint64_t> v,
                   const MetricsLabels& labels = {}) {
    if (v) add(name, "gauge", help, labels, fmt::format("{}", *v));
  }
  // Counters never go down and are never negative: a value that is not a count is omitted.
  void counter(std::string_view name, std::string_view help, const json* v,
               const MetricsLabels& labels = {}) {
    if (auto n = metrics_count(v)) add(name, "counter", help, labels, fmt::format("{}", *n));
  }
  void info(std::string_view name, std::string_view help, const MetricsLabels& labels) {
    add(name, "gauge", help, labels, "1");
  }

  [[nodiscard]] std::string render() const {
    std::string out;
    for (const auto& f : families_) {
      if (f.samples.empty()) continue;
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, metrics_escape(f.help, false),
                         f.name, f.type);
      for (const auto& [labels, value] : f.samples) {
        out += fmt::format("{}{} {}\n", f.name, labels, value);
      }
    }
    return out;
  }

 private:
  void add(std::string_view name, std::string_view type, std::string_view help,
           const MetricsLabels& labels, std::string value) {
    auto [it, inserted] = index_.try_emplace(name, families_.size());
    if (inserted) families_.push_back(MetricsFamily{name, type, help, {}, {}});
    MetricsFamily& family = families_[it->second];
    std::string rendered;
    if (!labels.empty()) {
      rendered = "{";
      for (const auto& [label, label_value] : labels) {
        if (rendered.size() > 1) rendered += ',';
        rendered +=
            fmt::format("{}=\"{}\"", label, metrics_escape(metrics_valid_utf8(label_value), true));
      }
      rendered += '}';
    }
    // Two JSON keys can sanitize to one label value; a repeated series would fail the scrape.
    if (!family.label_sets.insert(rendered).second) return;
    family.samples.emplace_back(std::move(rendered), std::move(value));
  }

  std::vector<MetricsFamily> families_;
  std::map<std::string_view, std::size_t> index_;
};

// The node's total peer count: the per-type counts summed (the same source as the per-type
// gauges), or the peer list's length when there are no per-type counts.
std::optional<std::uint64_t> metrics_total_peers(const json& status) {
  if (const json* by_type = metrics_at(status, {"peers_by_type"});
      by_type != nullptr && by_type->is_object()) {
    std::uint64_t total = 0;
    bool any = false;
    for (const auto& [type, n] : by_type->items()) {
      if (auto count = metrics_count(&n)) {
        total += *count;
        any = true;
      }
    }
    if (any) return total;
  }
  if (const json* list = metrics_at(status, {"peers"}); list != nullptr && list->is_array()) {
    return list->size();
  }
  return std::nullopt;
}

// Blocks behind the best peer: the status's own "sync"."lag" when present, otherwise
// highestBlock - currentBlock (never negative: our head can be ahead of what peers announced).
std::optional<std::uint64_t> metrics_sync_lag(const json& status) {
  if (auto lag = metrics_count(metrics_at(status, {"sync", "lag"}))) return lag;
  const auto highest = metrics_count(metrics_at(status, {"sync", "highestBlock"}));
  const auto current = metrics_count(metrics_at(status, {"sync", "currentBlock"}));
  if (!highest || !current) return std::nullopt;
  return *highest > *current ? *highest - *current : 0;
}

void metrics_kaia_families(MetricsWriter& w, const json& s) {
  w.gauge("klaytn_blockchain_head_blocknumber", "Number of the head block.",
          metrics_at(s, {"head", "number"}));
  w.gauge("klaytn_consensus_istanbul_core_round", "Istanbul BFT round at the current height.",
          metrics_at(s, {"consensus", "round"}));
  w.gauge("klaytn_consensus_istanbul_core_councilSize",
          "Validators in the council at the next height.", metrics_at(s, {"council_size"}));
  w.gauge("klaytn_consensus_istanbul_core_committeeSize",
          "Validators in the committee at the next height.", metrics_at(s, {"committee_size"}));
  w.gauge("klaytn_p2p_CNPeerCountGauge", "Connected consensus node (CN) peers.",
          metrics_at(s, {"peers_by_type", "cn"}));
  w.gauge("klaytn_p2p_PNPeerCountGauge", "Connected proxy node (PN) peers.",
          metrics_at(s, {"peers_by_type", "pn"}));
  w.gauge("klaytn_p2p_ENPeerCountGauge", "Connected endpoint node (EN) peers.",
          metrics_at(s, {"peers_by_type", "en"}));
  w.gauge_count("klaytn_p2p_PeerCountGauge", "Connected peers of every type.",
                metrics_total_peers(s));
  w.gauge("klaytn_tx_pool_pending_gauge", "Transactions in the pool that are executable now.",
          metrics_at(s, {"txpool", "pending"}));
  w.gauge("klaytn_tx_pool_queue_gauge", "Transactions in the pool waiting for a nonce gap.",
          metrics_at(s, {"txpool", "queued"}));
}

void metrics_identity_families(MetricsWriter& w, const json& s) {
  if (auto role_name = metrics_string(metrics_at(s, {"role"}))) {
    MetricsLabels labels{{"role", *role_name}};
    if (auto address = metrics_string(metrics_at(s, {"address"}))) {
      labels.emplace_back("address", *address);
    }
    w.info("corecell_node_info", "Constant 1; labels carry the node's role and address.", labels);
  }
  w.gauge_flag("corecell_validator", "1 when the node's address is in the council, else 0.",
               metrics_bool(metrics_at(s, {"validator"})));
}

// Present only on a council CN: node/validator.cpp's status_json().
void metrics_consensus_families(MetricsWriter& w, const json& s) {
  const json* consensus = metrics_at(s, {"consensus"});
  if (consensus == nullptr || !consensus->is_object()) return;
  const json& c = *consensus;
  w.gauge("corecell_consensus_height", "Height the consensus core is deciding.",
          metrics_at(c, {"height"}));
  w.counter("corecell_consensus_blocks_committed_total",
            "Blocks this node's consensus core decided and imported since start.",
            metrics_at(c, {"blocks_committed"}));
  w.counter("corecell_signguard_signatures_total", "Signatures the SignGuard released since start.",
            metrics_at(c, {"signatures"}));
  w.counter("corecell_signguard_refusals_total",
            "Signatures the SignGuard refused (no permit, watermark) since start.",
            metrics_at(c, {"refusals"}));
  w.counter("corecell_signguard_persist_failures_total",
            "SignGuard sign-state writes that failed, each refusing its signature, since start.",
            metrics_at(c, {"persist_failures"}));
  w.gauge("corecell_signguard_last_signed_height",
          "Highest height in the persisted sign state (the SignGuard watermark).",
          metrics_at(c, {"last_signed_height"}));
  // "permit": null means no permit is held; an absent key says nothing, so nothing is written.
  if (const auto it = c.find("permit"); it != c.end()) {
    const json& permit = *it;
    if (permit.is_null() || permit.is_object()) {
      const bool held = permit.is_object();
      w.gauge_flag("corecell_signing_permit_held", "1 while the node holds a signing permit.",
                   held);
      if (!held) {
        w.gauge_count("corecell_signing_permit_seconds_left",
                      "Seconds until the signing permit expires (0 when none is held).",
                      std::uint64_t{0});
      } else if (const json* ms = metrics_at(permit, {"ms_left"});
                 ms != nullptr && ms->is_number()) {
        const json seconds = ms->get<double>() / 1000.0;
        w.gauge("corecell_signing_permit_seconds_left",
                "Seconds until the signing permit expires (0 when none is held).", &seconds);
      }
      if (held) {
        w.gauge("corecell_signing_permit_epoch", "Epoch of the held signing permit.",
                metrics_at(permit, {"epoch"}));
      }
    }
  }
}

void metrics_sync_families(MetricsWriter& w, const json& s) {
  w.gauge_flag("corecell_syncing", "1 while the downloader is catching up with a peer.",
               metrics_bool(metrics_at(s, {"sync", "syncing"})));
  w.gauge_flag("corecell_in_sync",
               "1 when not syncing and, with peers, the head is at the best peer's head.",
               metrics_bool(metrics_at(s, {"in_sync"})));
  w.gauge_count("corecell_sync_lag_blocks", "Blocks behind the highest known peer head.",
                metrics_sync_lag(s));
  w.gauge("corecell_sync_highest_block", "Highest block number announced by a peer.",
          metrics_at(s, {"sync", "highestBlock"}));
  w.counter("corecell_blocks_imported_total", "Blocks the downloader imported since start.",
            metrics_at(s, {"downloader", "blocks_imported"}));
  w.counter("corecell_sync_peers_dropped_total",
            "Peers the downloader dropped for bad or missing replies since start.",
            metrics_at(s, {"downloader", "peers_dropped"}));
}

void metrics_p2p_families(MetricsWriter& w, const json& s) {
  if (const json* by_type = metrics_at(s, {"peers_by_type"});
      by_type != nullptr && by_type->is_object()) {
    for (const auto& [type, n] : by_type->items()) {
      w.gauge("corecell_peers", "Connected peers by node type.", &n, {{"type", type}});
    }
  }
  if (const json* rejections = metrics_at(s, {"rejections"});
      rejections != nullptr && rejections->is_object()) {
    for (const auto& [reason, n] : rejections->items()) {
      w.counter("corecell_p2p_rejections_total",
                "Connections refused by the admission policy since start, by reason.", &n,
                {{"reason", reason}});
    }
  }
  if (const json* statics = metrics_at(s, {"static_nodes"});
      statics != nullptr && statics->is_array()) {
    std::uint64_t connected = 0;
    for (const auto& node : *statics) {
      if (metrics_bool(metrics_at(node, {"connected"})).value_or(false)) ++connected;
    }
    w.gauge_count("corecell_static_nodes", "Static nodes configured (static-nodes.json).",
                  statics->size());
    w.gauge_count("corecell_static_nodes_connected", "Static nodes currently connected.",
                  connected);
  }
}

// --- health ---

json metrics_head_field(const json& status) {
  if (auto head = metrics_count(metrics_at(status, {"head", "number"}))) return *head;
  return nullptr;
}

}  // namespace

std::string render_metrics(const json& status) {
  if (!status.is_object()) return {};
  MetricsWriter w;
  metrics_kaia_families(w, status);
  metrics_identity_families(w, status);
  metrics_consensus_families(w, status);
  metrics_sync_families(w, status);
  metrics_p2p_families(w, status);
  return w.render();
}

std::string_view metrics_content_type() { return "text/plain; version=0.0.4; charset=utf-8"; }

HealthReply liveness(const json& status) {
  if (!status.is_object()) return {503, {{"status", "not answering"}}};
  json body = {{"status", "alive"}, {"head", metrics_head_field(status)}};
  if (auto r = metrics_string(metrics_at(status, {"role"}))) body["role"] = *r;
  return {200, std::move(body)};
}

HealthReply readiness(const json& status) {
  if (!status.is_object()) {
    return {503, {{"status", "not ready"}, {"reasons", json::array({"not answering"})}}};
  }
  const auto in_sync = metrics_bool(metrics_at(status, {"in_sync"}));
  const auto syncing = metrics_bool(metrics_at(status, {"sync", "syncing"}));
  const auto lag = metrics_sync_lag(status);
  const auto peers = metrics_total_peers(status);
  // Kaia answers "not syncing" when a node has no peers at all; such a node serves a chain nobody
  // confirms, so it is not ready. The exception is a sole validator (a council of one), which
  // makes blocks with nobody to talk to.
  const bool sole_validator = metrics_bool(metrics_at(status, {"validator"})).value_or(false) &&
                              metrics_count(metrics_at(status, {"council_size"})).value_or(0) == 1;
  const bool has_peers = peers.value_or(0) > 0 || sole_validator;
  // in_sync is the verdict; syncing and lag only explain a negative one. (A lag of a block or two
  // while a just-announced block is imported must not make readiness flap every second.)
  const bool ready = in_sync.value_or(false) && has_peers;

  json body = {{"status", ready ? "ready" : "not ready"},
               {"head", metrics_head_field(status)},
               {"lag", lag ? json(*lag) : json(nullptr)},
               {"peers", peers ? json(*peers) : json(nullptr)}};
  if (ready) return {200, std::move(body)};
  json reasons = json::array();
  if (syncing.value_or(false)) reasons.push_back("syncing");
  if (lag.value_or(0) > 0) reasons.push_back(fmt::format("lag {} blocks", *lag));
  if (!has_peers) reasons.push_back("no peers");
  if (!in_sync) {
    reasons.push_back("in_sync unknown");  // fail closed: a load balancer must not guess
  } else if (!*in_sync && reasons.empty()) {
    reasons.push_back("not in sync");
  }
  body["reasons"] = std::move(reasons);
  return {503, std::move(body)};
}

HealthReply role(const json& status) {
  const auto node_role = metrics_string(metrics_at(status, {"role"}));
  std::optional<std::string> verdict;
  if (node_role == "pn") {
    verdict = "proxy";
  } else if (node_role == "en") {
    verdict = "endpoint";
  } else if (node_role == "cn") {
    if (auto in_council = metrics_bool(metrics_at(status, {"validator"}))) {
      verdict = *in_council ? "validator" : "standby";
    }
  }
  if (!verdict) return {503, {{"role", "unknown"}}};
  json body = {{"role", *verdict}, {"node_role", *node_role}};
  // A council CN behind the HA agent signs only with a permit: say whether it holds one.
  if (const json* consensus = metrics_at(status, {"consensus"});
      consensus != nullptr && consensus->is_object()) {
    if (const auto it = consensus->find("permit"); it != consensus->end()) {
      body["signing_permit"] = it->is_object();
    }
  }
  return {200, std::move(body)};
}

}  // namespace cc::rpc
