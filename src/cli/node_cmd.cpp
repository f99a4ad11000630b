// cli/node_cmd.cpp — `corecell node`: start the node daemon for a role from a kcnd.conf-style
// file and flags (defaults < file < flags), join the p2p network (node/service.h), then run
// until SIGINT/SIGTERM.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/common.h"
#include "crypto/address.h"
#include "node/config.h"
#include "node/node.h"
#include "node/service.h"
#include "rpc/endpoints.h"
#include "util/log.h"

namespace cc::cli {
namespace {

struct NodeOptions {
  std::string role;
  std::string conf;
  std::vector<std::string> sets;              // --set KEY=VALUE
  std::map<std::string, std::string> by_key;  // generated per-key flags
  bool unsafe_ignore_sign_journal = false;
};

// SIGINT and SIGTERM: blocked in every thread before any starts (threads inherit the mask), then
// taken synchronously by the main thread with sigwait.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

int wait_for_stop_signal() {
  sigset_t set = stop_signals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void run_node(const NodeOptions& opt) {
  auto role = or_fail(node::parse_role(opt.role));
  std::vector<node::ConfigOverride> overrides;
  for (const auto& [key, value] : opt.by_key) {
    overrides.push_back({key, value, node::flag_name_for(key)});
  }
  for (const auto& s : opt.sets) overrides.push_back(or_fail(node::parse_override(s, "--set")));
  std::optional<std::filesystem::path> conf;
  if (!opt.conf.empty()) conf = opt.conf;
  auto config = or_fail(node::load_node_config(role, conf, overrides));
  config.unsafe_ignore_sign_journal = opt.unsafe_ignore_sign_journal;
  set_verbosity(config.verbosity);

  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A peer or HTTP client that closes while we write must cost that connection, not the node.
  std::signal(SIGPIPE, SIG_IGN);

  auto service = or_fail(node::Service::start(or_fail(node::Node::start(config))));
  auto endpoints = rpc::Endpoints::start(*service, config);
  if (!endpoints.ok()) {
    service->stop();
    fail(endpoints.error().message);
  }
  const nlohmann::json st = service->status();
  std::printf(
      "corecell node (%s) running\n  address  %s\n  kni      %s\n  datadir  %s\n  p2p port %u\n"
      "  head     #%llu %s\n",
      std::string(node::role_name(role)).c_str(), st["address"].get<std::string>().c_str(),
      st["kni"].get<std::string>().c_str(), config.data_dir.c_str(),
      static_cast<unsigned>(service->p2p_port()),
      static_cast<unsigned long long>(st["head"]["number"].get<std::uint64_t>()),
      st["head"]["hash"].get<std::string>().c_str());
  if ((*endpoints)->rpc_port() != 0) {
    std::printf("  rpc      http://%s:%u\n", config.rpc_addr.c_str(),
                static_cast<unsigned>((*endpoints)->rpc_port()));
  }
  if ((*endpoints)->metrics_port() != 0) {
    std::printf("  metrics  http://%s:%u/metrics\n", config.prometheus_addr.c_str(),
                static_cast<unsigned>((*endpoints)->metrics_port()));
  }
  std::fflush(stdout);
  int sig = wait_for_stop_signal();
  logger("node")->info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*endpoints)->stop();  // the endpoints read from the service: they go first
  service->stop();
}

}  // namespace

void add_node_command(CLI::App& app) {
  auto opt = std::make_shared<NodeOptions>();
  auto* cmd = app.add_subcommand(
      "node",
      "Run a node: role cn (consensus), pn (proxy) or en (endpoint). Settings come from a "
      "kcnd.conf-style file (--conf) and flags, flags winning; see docs/CONFIGURATION.md. A CN "
      "refuses to start without a valid DATA_DIR/klay/nodekey; a PN/EN creates one if missing.");
  cmd->add_option("--role", opt->role, "cn, pn or en")->required();
  cmd->add_option("--conf", opt->conf, "kcnd.conf / kpnd.conf / kend.conf style file");
  cmd->add_option("--set", opt->sets, "KEY=VALUE overriding the file (repeatable)");
  cmd->add_flag(
      "--unsafe-ignore-sign-journal", opt->unsafe_ignore_sign_journal,
      "CN only, and only when DATA_DIR/klay/signstate is missing: start signing at the block above "
      "the head instead of waiting until the chain has passed the heights in "
      "DATA_DIR/klay/signjournal. RISKS DOUBLE-SIGNING: this key may sign a second, different "
      "message at a height it already signed (an equivocation other validators can prove). Use "
      "only when you know the journal's last heights were never signed by this key anywhere.");
  // --datadir and --genesis are the usual spellings; every other key gets --lower-dashed-name.
  cmd->add_option_function<std::string>(
      "--datadir", [opt](const std::string& v) { opt->by_key["DATA_DIR"] = v; },
      "DATA_DIR: the data directory (Kaia layout)");
  for (const auto& key : node::config_keys()) {
    std::string name(key.name);
    std::string flag = node::flag_name_for(name);
    std::string help = std::string(key.help) + " [" + name + ": " + std::string(key.type) +
                       "; roles " + std::string(key.roles) + "]";
    cmd->add_option_function<std::string>(
        flag, [opt, name](const std::string& v) { opt->by_key[name] = v; }, help);
  }
  cmd->callback([opt] { run_node(*opt); });
}

}  // namespace cc::cli
