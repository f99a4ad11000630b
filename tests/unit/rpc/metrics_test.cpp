// rpc/metrics.h against the status JSON of each kind of node (validator CN, standby CN, PN, EN)
// and against broken statuses; the exposition is checked by the real Prometheus linter
// (`promtool check metrics`, Debian package "prometheus"), and the health verdicts by their
// HTTP status codes and reasons.
#include "rpc/metrics.h"
#include "support/promtool.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace cc::rpc {
namespace {

using json = nlohmann::json;

// --- status samples, shaped as node/service.cpp status_json() builds them ---

json metrics_validator_cn() {
  return json::parse(R"({
    "role": "cn",
    "address": "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4",
    "node_id": "ab01",
    "kni": "kni://ab01@127.0.0.1:32323?discport=0&ntype=cn",
    "validator": true,
    "p2p_port": 32323,
    "head": {"number": 120, "hash": "0x01"},
    "sync": {"syncing": false, "startingBlock": 0, "currentBlock": 120, "highestBlock": 120,
             "lag": 0},
    "peers": [{"type": "cn", "head": 120}, {"type": "cn", "head": 120}, {"type": "cn", "head": 119},
              {"type": "pn", "head": 120}],
    "peers_by_type": {"cn": 3, "en": 0, "pn": 1, "bn": 0},
    "rejections": {"not_in_council": 2, "ip_not_allowlisted": 0, "too_many_peers": 1},
    "static_nodes": [{"kni": "kni://a", "connected": true, "failures": 0},
                     {"kni": "kni://b", "connected": false, "failures": 4}],
    "txpool": {"pending": 5, "queued": 2},
    "consensus": {"height": 121, "round": 1, "blocks_committed": 40,
                  "permit": {"epoch": 7, "ms_left": 4500},
                  "signatures": 90, "refusals": 3, "persist_failures": 0,
                  "last_signed_height": 120},
    "downloader": {"blocks_imported": 80, "peers_dropped": 1},
    "council_size": 4,
    "committee_size": 4,
    "in_sync": true
  })");
}

// A CN outside the council: node/service.cpp starts no validator, so "consensus" is null.
json metrics_standby_cn() {
  json s = metrics_validator_cn();
  s["validator"] = false;
  s["consensus"] = nullptr;
  return s;
}

json metrics_proxy_pn() {
  json s = metrics_standby_cn();
  s["role"] = "pn";
  s["peers_by_type"] = {{"cn", 1}, {"en", 5}, {"pn", 0}, {"bn", 0}};
  s["rejections"] = {{"type_not_accepted", 0}};
  return s;
}

// An EN catching up, from a node without the in-progress fields (no "sync"."lag", no council
// or committee size): the lag is derived from highestBlock - currentBlock.
json metrics_syncing_en() {
  json s = metrics_standby_cn();
  s["role"] = "en";
  s["head"]["number"] = 50;
  s["sync"] = {
      {"syncing", true}, {"startingBlock", 0}, {"currentBlock", 50}, {"highestBlock", 120}};
  s["peers_by_type"] = {{"cn", 0}, {"en", 2}, {"pn", 1}, {"bn", 0}};
  s.erase("council_size");
  s.erase("committee_size");
  s["in_sync"] = false;
  return s;
}

// Every field the metrics read, with the wrong type or a value no metric can carry.
json metrics_broken_status() {
  return json::parse(R"({
    "role": 7,
    "address": ["x"],
    "validator": "yes",
    "head": {"number": "120"},
    "sync": {"syncing": 1, "currentBlock": -5, "highestBlock": "9", "lag": -1},
    "peers": "many",
    "peers_by_type": [1, 2, 3],
    "rejections": {"not_in_council": -3, "too_many_peers": "2", "self_connection": null},
    "static_nodes": {"a": 1},
    "txpool": {"pending": "5", "queued": null},
    "consensus": {"height": true, "round": [1], "signatures": -1, "refusals": 2.5,
                  "permit": "held"},
    "downloader": 12,
    "council_size": {},
    "committee_size": "4",
    "in_sync": "true"
  })");
}

// --- reading an exposition ---

// The value of the one sample line for `series` (name plus rendered labels), if there is one.
std::optional<std::string> metrics_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::optional<std::string> found;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) {
      EXPECT_FALSE(found) << "series written twice: " << series;
      found = line.substr(series.size() + 1);
    }
  }
  return found;
}

bool metrics_has_family(const std::string& text, const std::string& name) {
  return text.find("# TYPE " + name + " ") != std::string::npos;
}

std::string metrics_line_name(const std::string& line) {
  const auto end = line.find_first_of("{ ");
  return line.substr(0, end);
}

// The exposition-format rules the brief holds us to, checked without promtool: every family has
// one HELP and one TYPE before its samples, its samples are contiguous (a family is never
// repeated), counters are named *_total, and every line ends with a newline.
std::string metrics_format_problems(const std::string& text) {
  std::string problems;
  if (!text.empty() && text.back() != '\n') problems += "no final newline\n";
  std::map<std::string, int> helps;
  std::map<std::string, std::string> types;
  std::set<std::string> closed;  // families whose block has ended
  std::string current;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::string name;
    if (line.rfind("# HELP ", 0) == 0) {
      name = metrics_line_name(line.substr(7));
      ++helps[name];
    } else if (line.rfind("# TYPE ", 0) == 0) {
      name = metrics_line_name(line.substr(7));
      const std::string type = line.substr(7 + name.size() + 1);
      if (types.count(name) != 0) problems += "TYPE repeated: " + name + "\n";
      types[name] = type;
      if (helps[name] != 1) problems += "TYPE without one HELP before it: " + name + "\n";
      if (type == "counter" && !name.ends_with("_total")) {
        problems += "counter not named *_total: " + name + "\n";
      }
    } else {
      name = metrics_line_name(line);
      if (types.count(name) == 0) problems += "sample before its TYPE: " + name + "\n";
    }
    if (name != current) {
      if (closed.count(name) != 0) problems += "family repeated: " + name + "\n";
      if (!current.empty()) closed.insert(current);
      current = name;
    }
  }
  for (const auto& [name, n] : helps) {
    if (n != 1) problems += fmt::format("HELP written {} times: {}\n", n, name);
    if (types.count(name) == 0) problems += "HELP without TYPE: " + name + "\n";
  }
  return problems;
}

// The exposition without Kaia's klaytn_ families (see tests/support/promtool.h).
std::string metrics_without_kaia_names(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::string rest = line;
    if (rest.rfind("# HELP ", 0) == 0 || rest.rfind("# TYPE ", 0) == 0) rest = rest.substr(7);
    if (rest.rfind("klaytn_", 0) != 0) out += line + "\n";
  }
  return out;
}

// --- the real linter ---

// promtool on the whole exposition: it parses, and its only complaints are the known ones about
// Kaia's names; on the corecell_ families alone: exit 0 and not a word.
void metrics_expect_promtool_clean(const std::string& text) {
  const auto promtool = cc::testing::find_promtool();
  ASSERT_TRUE(promtool.has_value()) << cc::testing::kInstallPromtool;

  const auto own = cc::testing::run_promtool(*promtool, metrics_without_kaia_names(text));
  EXPECT_EQ(own.exit_code, 0) << own.output << "\n--- input ---\n" << text;
  EXPECT_EQ(own.output, "") << "--- input ---\n" << text;

  const auto all = cc::testing::run_promtool(*promtool, text);
  std::istringstream lines(all.output);
  int complaints = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    ++complaints;
    EXPECT_EQ(cc::testing::kaia_metric_name_lint().count(line), 1U)
        << "unexpected promtool output: " << line << "\n--- input ---\n"
        << text;
  }
  // promtool exits 3 for lint findings only, 1 for a parse error.
  EXPECT_EQ(all.exit_code, complaints == 0 ? 0 : 3) << all.output;
}

// --- exposition ---

TEST(MetricsExposition, ValidatorCnExposesKaiaAndCorecellFamilies) {
  const std::string text = render_metrics(metrics_validator_cn());
  EXPECT_EQ(metrics_format_problems(text), "");

  EXPECT_EQ(metrics_value(text, "klaytn_blockchain_head_blocknumber"), "120");
  EXPECT_EQ(metrics_value(text, "klaytn_consensus_istanbul_core_round"), "1");
  EXPECT_EQ(metrics_value(text, "klaytn_consensus_istanbul_core_councilSize"), "4");
  EXPECT_EQ(metrics_value(text, "klaytn_consensus_istanbul_core_committeeSize"), "4");
  EXPECT_EQ(metrics_value(text, "klaytn_p2p_CNPeerCountGauge"), "3");
  EXPECT_EQ(metrics_value(text, "klaytn_p2p_PNPeerCountGauge"), "1");
  EXPECT_EQ(metrics_value(text, "klaytn_p2p_ENPeerCountGauge"), "0");
  EXPECT_EQ(metrics_value(text, "klaytn_p2p_PeerCountGauge"), "4");
  EXPECT_EQ(metrics_value(text, "klaytn_tx_pool_pending_gauge"), "5");
  EXPECT_EQ(metrics_value(text, "klaytn_tx_pool_queue_gauge"), "2");

  EXPECT_EQ(metrics_value(text,
                          "corecell_node_info{role=\"cn\",address="
                          "\"0x5B38Da6a701c568545dCfcB03FcB875f56beddC4\"}"),
            "1");
  EXPECT_EQ(metrics_value(text, "corecell_validator"), "1");
  EXPECT_EQ(metrics_value(text, "corecell_consensus_height"), "121");
  EXPECT_EQ(metrics_value(text, "corecell_consensus_blocks_committed_total"), "40");
  EXPECT_EQ(metrics_value(text, "corecell_signguard_signatures_total"), "90");
  EXPECT_EQ(metrics_value(text, "corecell_signguard_refusals_total"), "3");
  EXPECT_EQ(metrics_value(text, "corecell_signguard_persist_failures_total"), "0");
  EXPECT_EQ(metrics_value(text, "corecell_signguard_last_signed_height"), "120");
  EXPECT_EQ(metrics_value(text, "corecell_signing_permit_held"), "1");
  EXPECT_EQ(metrics_value(text, "corecell_signing_permit_seconds_left"), "4.5");
  EXPECT_EQ(metrics_value(text, "corecell_signing_permit_epoch"), "7");
  EXPECT_EQ(metrics_value(text, "corecell_syncing"), "0");
  EXPECT_EQ(metrics_value(text, "corecell_in_sync"), "1");
  EXPECT_EQ(metrics_value(text, "corecell_sync_lag_blocks"), "0");
  EXPECT_EQ(metrics_value(text, "corecell_sync_highest_block"), "120");
  EXPECT_EQ(metrics_value(text, "corecell_blocks_imported_total"), "80");
  EXPECT_EQ(metrics_value(text, "corecell_sync_peers_dropped_total"), "1");
  EXPECT_EQ(metrics_value(text, "corecell_peers{type=\"cn\"}"), "3");
  EXPECT_EQ(metrics_value(text, "corecell_peers{type=\"pn\"}"), "1");
  EXPECT_EQ(metrics_value(text, "corecell_peers{type=\"en\"}"), "0");
  EXPECT_EQ(metrics_value(text, "corecell_p2p_rejections_total{reason=\"not_in_council\"}"), "2");
  EXPECT_EQ(metrics_value(text, "corecell_p2p_rejections_total{reason=\"too_many_peers\"}"), "1");
  EXPECT_EQ(metrics_value(text, "corecell_static_nodes"), "2");
  EXPECT_EQ(metrics_value(text, "corecell_static_nodes_connected"), "1");

  EXPECT_NE(text.find("# TYPE corecell_signguard_signatures_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE corecell_peers gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE klaytn_blockchain_head_blocknumber gauge\n"), std::string::npos);
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, ValidatorWithoutPermitReportsZeroSecondsLeft) {
  json s = metrics_validator_cn();
  s["consensus"]["permit"] = nullptr;
  const std::string text = render_metrics(s);
  EXPECT_EQ(metrics_value(text, "corecell_signing_permit_held"), "0");
  EXPECT_EQ(metrics_value(text, "corecell_signing_permit_seconds_left"), "0");
  EXPECT_FALSE(metrics_has_family(text, "corecell_signing_permit_epoch"));
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, StandbyCnHasNoConsensusOrSignGuardFamilies) {
  const std::string text = render_metrics(metrics_standby_cn());
  EXPECT_EQ(metrics_format_problems(text), "");
  EXPECT_EQ(metrics_value(text, "corecell_validator"), "0");
  EXPECT_EQ(metrics_value(text, "klaytn_blockchain_head_blocknumber"), "120");
  EXPECT_EQ(metrics_value(text, "klaytn_consensus_istanbul_core_councilSize"), "4");
  for (const char* absent :
       {"klaytn_consensus_istanbul_core_round", "corecell_consensus_height",
        "corecell_signguard_signatures_total", "corecell_signing_permit_held",
        "corecell_signing_permit_seconds_left", "corecell_consensus_blocks_committed_total"}) {
    EXPECT_FALSE(metrics_has_family(text, absent)) << absent;
  }
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, ProxyNodeIsLabelledPnAndCountsItsEndpoints) {
  const std::string text = render_metrics(metrics_proxy_pn());
  EXPECT_EQ(metrics_format_problems(text), "");
  EXPECT_EQ(metrics_value(text,
                          "corecell_node_info{role=\"pn\",address="
                          "\"0x5B38Da6a701c568545dCfcB03FcB875f56beddC4\"}"),
            "1");
  EXPECT_EQ(metrics_value(text, "klaytn_p2p_ENPeerCountGauge"), "5");
  EXPECT_EQ(metrics_value(text, "klaytn_p2p_PeerCountGauge"), "6");
  EXPECT_EQ(metrics_value(text, "corecell_p2p_rejections_total{reason=\"type_not_accepted\"}"),
            "0");
  EXPECT_FALSE(metrics_has_family(text, "klaytn_consensus_istanbul_core_round"));
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, SyncingEndpointDerivesLagAndOmitsAbsentSizes) {
  const std::string text = render_metrics(metrics_syncing_en());
  EXPECT_EQ(metrics_format_problems(text), "");
  EXPECT_EQ(metrics_value(text, "corecell_syncing"), "1");
  EXPECT_EQ(metrics_value(text, "corecell_in_sync"), "0");
  EXPECT_EQ(metrics_value(text, "corecell_sync_lag_blocks"), "70");
  EXPECT_EQ(metrics_value(text, "klaytn_blockchain_head_blocknumber"), "50");
  EXPECT_FALSE(metrics_has_family(text, "klaytn_consensus_istanbul_core_councilSize"));
  EXPECT_FALSE(metrics_has_family(text, "klaytn_consensus_istanbul_core_committeeSize"));
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, StatusLagWinsOverDerivedLagAndNeverGoesNegative) {
  json s = metrics_syncing_en();
  s["sync"]["lag"] = 3;
  EXPECT_EQ(metrics_value(render_metrics(s), "corecell_sync_lag_blocks"), "3");
  s["sync"].erase("lag");
  s["sync"]["currentBlock"] = 130;  // ahead of what peers announced
  EXPECT_EQ(metrics_value(render_metrics(s), "corecell_sync_lag_blocks"), "0");
}

TEST(MetricsExposition, WrongTypedFieldsAreOmittedNeverThrown) {
  std::string text;
  ASSERT_NO_THROW(text = render_metrics(metrics_broken_status()));
  EXPECT_EQ(metrics_format_problems(text), "");
  // Nothing in the broken status is a usable value, so every family is missing.
  EXPECT_EQ(text, "");

  for (const json& odd : {json(nullptr), json::array({1, 2}), json("status"), json(42),
                          json::object(), json{{"consensus", json::array()}}}) {
    ASSERT_NO_THROW(text = render_metrics(odd)) << odd.dump();
    EXPECT_EQ(text, "") << odd.dump();
  }
}

TEST(MetricsExposition, PartlyBrokenStatusKeepsTheGoodFields) {
  json s = metrics_broken_status();
  s["head"]["number"] = 9;
  s["rejections"]["too_many_peers"] = 4;
  s["consensus"]["refusals"] = 2;
  s["consensus"]["permit"] = {{"epoch", "seven"}, {"ms_left", "soon"}};
  const std::string text = render_metrics(s);
  EXPECT_EQ(metrics_format_problems(text), "");
  EXPECT_EQ(metrics_value(text, "klaytn_blockchain_head_blocknumber"), "9");
  EXPECT_EQ(metrics_value(text, "corecell_p2p_rejections_total{reason=\"too_many_peers\"}"), "4");
  EXPECT_FALSE(metrics_value(text, "corecell_p2p_rejections_total{reason=\"not_in_council\"}"));
  EXPECT_EQ(metrics_value(text, "corecell_signguard_refusals_total"), "2");
  EXPECT_FALSE(metrics_has_family(text, "corecell_signguard_signatures_total"));
  EXPECT_EQ(metrics_value(text, "corecell_signing_permit_held"), "1");
  EXPECT_FALSE(metrics_has_family(text, "corecell_signing_permit_seconds_left"));
  EXPECT_FALSE(metrics_has_family(text, "corecell_signing_permit_epoch"));
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, LabelValuesAreEscaped) {
  json s = metrics_validator_cn();
  s["rejections"] = {{"quote\"back\\slash\nnewline", 1}};
  s["peers_by_type"] = {{"c\\n", 2}};  // a backslash then 'n', not a newline
  s["role"] = "cn\"";
  const std::string text = render_metrics(s);
  EXPECT_EQ(metrics_format_problems(text), "");
  EXPECT_EQ(
      metrics_value(text, R"(corecell_p2p_rejections_total{reason="quote\"back\\slash\nnewline"})"),
      "1");
  EXPECT_EQ(metrics_value(text, R"(corecell_peers{type="c\\n"})"), "2");
  EXPECT_NE(text.find(R"(corecell_node_info{role="cn\"",)"), std::string::npos);
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, InvalidUtf8InALabelCannotBreakTheScrape) {
  json s = metrics_validator_cn();
  s["rejections"] = {{std::string("bad\xff\xfe"), 1}, {std::string("bad\xff"), 2}};
  std::string text;
  ASSERT_NO_THROW(text = render_metrics(s));
  EXPECT_EQ(metrics_format_problems(text), "");
  EXPECT_EQ(text.find('\xff'), std::string::npos);
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, FloatValuesUseTheFormatsSpellings) {
  json s = metrics_validator_cn();
  s["txpool"]["pending"] = 1.5;
  s["txpool"]["queued"] = std::numeric_limits<double>::quiet_NaN();
  s["council_size"] = std::numeric_limits<double>::infinity();
  const std::string text = render_metrics(s);
  EXPECT_EQ(metrics_value(text, "klaytn_tx_pool_pending_gauge"), "1.5");
  EXPECT_EQ(metrics_value(text, "klaytn_tx_pool_queue_gauge"), "NaN");
  EXPECT_EQ(metrics_value(text, "klaytn_consensus_istanbul_core_councilSize"), "+Inf");
  metrics_expect_promtool_clean(text);
}

TEST(MetricsExposition, PromtoolReallyRejectsABrokenExposition) {
  // Guards the checks above: a promtool that accepted anything would make them vacuous.
  const auto promtool = cc::testing::find_promtool();
  ASSERT_TRUE(promtool.has_value()) << cc::testing::kInstallPromtool;
  const auto run = cc::testing::run_promtool(
      *promtool,
      "# HELP corecell_x_total x\n# TYPE corecell_x_total counter\ncorecell_x_total{"
      "reason=\"a\nb\"} 1\n");
  EXPECT_NE(run.exit_code, 0) << run.output;
  const auto lint = cc::testing::run_promtool(*promtool,
                                              "# HELP corecell_x x\n# TYPE corecell_x counter\n"
                                              "corecell_x 1\n");
  EXPECT_NE(lint.exit_code, 0) << lint.output;
  EXPECT_NE(lint.output.find("_total"), std::string::npos) << lint.output;
}

TEST(MetricsExposition, ContentTypeIsTextFormat004) {
  EXPECT_EQ(metrics_content_type(), "text/plain; version=0.0.4; charset=utf-8");
}

// --- health ---

TEST(MetricsHealth, LivenessIsAliveWhileTheNodeAnswers) {
  const auto live = liveness(metrics_syncing_en());
  EXPECT_EQ(live.http_status, 200);
  EXPECT_EQ(live.body["status"], "alive");
  EXPECT_EQ(live.body["head"], 50);
  EXPECT_EQ(live.body["role"], "en");

  const auto broken = liveness(metrics_broken_status());
  EXPECT_EQ(broken.http_status, 200);
  EXPECT_TRUE(broken.body["head"].is_null());

  const auto silent = liveness(nullptr);
  EXPECT_EQ(silent.http_status, 503);
}

TEST(MetricsHealth, ReadyOnlyWhenInSyncWithPeers) {
  const auto ready = readiness(metrics_validator_cn());
  EXPECT_EQ(ready.http_status, 200) << ready.body.dump();
  EXPECT_EQ(ready.body["status"], "ready");
  EXPECT_FALSE(ready.body.contains("reasons"));

  // A lag of a block while an announced block is imported does not override in_sync.
  json just_behind = metrics_validator_cn();
  just_behind["sync"]["lag"] = 1;
  EXPECT_EQ(readiness(just_behind).http_status, 200);
}

TEST(MetricsHealth, SyncingNodeIsNotReadyAndSaysWhy) {
  const auto r = readiness(metrics_syncing_en());
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.body["status"], "not ready");
  EXPECT_EQ(r.body["reasons"], json::array({"syncing", "lag 70 blocks"}));
  EXPECT_EQ(r.body["lag"], 70);
}

TEST(MetricsHealth, NodeWithoutPeersIsNotReadyThoughKaiaCallsItSynced) {
  json s = metrics_standby_cn();
  s["peers_by_type"] = {{"cn", 0}, {"en", 0}, {"pn", 0}, {"bn", 0}};
  s["peers"] = json::array();
  const auto r = readiness(s);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.body["reasons"], json::array({"no peers"}));

  // A sole validator (council of one) has nobody to talk to and is still ready.
  json sole = metrics_validator_cn();
  sole["peers_by_type"] = s["peers_by_type"];
  sole["peers"] = json::array();
  sole["council_size"] = 1;
  EXPECT_EQ(readiness(sole).http_status, 200);
}

TEST(MetricsHealth, UnknownInSyncFailsClosed) {
  json s = metrics_validator_cn();
  s.erase("in_sync");
  const auto r = readiness(s);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.body["reasons"], json::array({"in_sync unknown"}));

  json falsy = metrics_validator_cn();
  falsy["in_sync"] = false;
  EXPECT_EQ(readiness(falsy).body["reasons"], json::array({"not in sync"}));

  EXPECT_EQ(readiness(metrics_broken_status()).http_status, 503);
  EXPECT_EQ(readiness(nullptr).http_status, 503);
}

TEST(MetricsHealth, RoleTellsValidatorStandbyProxyEndpoint) {
  const auto validator = role(metrics_validator_cn());
  EXPECT_EQ(validator.http_status, 200);
  EXPECT_EQ(validator.body["role"], "validator");
  EXPECT_EQ(validator.body["node_role"], "cn");
  EXPECT_EQ(validator.body["signing_permit"], true);

  json no_permit = metrics_validator_cn();
  no_permit["consensus"]["permit"] = nullptr;
  EXPECT_EQ(role(no_permit).body["signing_permit"], false);

  const auto standby = role(metrics_standby_cn());
  EXPECT_EQ(standby.http_status, 200);
  EXPECT_EQ(standby.body["role"], "standby");
  EXPECT_FALSE(standby.body.contains("signing_permit"));

  EXPECT_EQ(role(metrics_proxy_pn()).body["role"], "proxy");
  EXPECT_EQ(role(metrics_syncing_en()).body["role"], "endpoint");
}

TEST(MetricsHealth, UnknownRoleIs503) {
  EXPECT_EQ(role(metrics_broken_status()).http_status, 503);
  EXPECT_EQ(role(metrics_broken_status()).body["role"], "unknown");
  json bn = metrics_proxy_pn();
  bn["role"] = "bn";
  EXPECT_EQ(role(bn).http_status, 503);
  json cn_without_council = metrics_validator_cn();
  cn_without_council.erase("validator");
  EXPECT_EQ(role(cn_without_council).http_status, 503);
  EXPECT_EQ(role(nullptr).http_status, 503);
}

}  // namespace
}  // namespace cc::rpc
