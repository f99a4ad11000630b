// bench/provision_bench.cpp — time from `corecell provision` start to the replacement CN's first
// seal (issue #7), beside the same CN simply restarted from its intact DATA_DIR, on a real local
// network run through the corecell binary next to this one (build/bin/corecell).
//   network    `localnet init`: 4 cells, a PN per cell, no EN; 1 s blocks; the chain first grows
//              to --blocks.
//   baseline   restart: `localnet stop cn-1`, then `localnet start cn-1`; from the start request
//              to the first block above its in-sync head that carries its seal (its own view,
//              the criterion provision's `verify` step uses).
//   measured   provision: cn-1's machine lost (`localnet stop`, its directory removed), an online
//              snapshot of pn-1-1 taken (timed on its own), then `corecell provision` with the
//              image and key backup made at the start; its own "first seal ... after the start".
// Each run does both; the report gives every sample, the medians and their ratio. A lost CN is
// also a slower proposer turn for the others (a round change), which neither figure includes.
// With --ha, cell 1 is an HA cell (`--standby 1`, its standby host removed at the start, so no
// agent takes over by itself) and cn-1's host is lost by a crash (kill -9 of agent and node; its
// lease runs out), both for the restart and before provisioning with an image made with
// --ha-conf. Both figures then include the agent's wait for the crashed holding to expire and
// its own-name cooldown (2 x TTL) before it takes the lease: the ratio isolates what
// provisioning adds.
// Not Google Benchmark: each sample is a multi-second process start.
//
// Reproduce: make bench-provision   (or build/bin/provision_bench --runs 5)
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "localnet/manifest.h"
#include "localnet/supervisor.h"
#include "node/control.h"
#include "node/datadir.h"
#include "util/files.h"
#include "util/process.h"

namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Options {
  int runs = 3;
  int blocks = 30;
  std::string dir;
  std::string ip_prefix = "127.0.133";
  bool ha = false;
};

class Bench {
 public:
  Bench(fs::path corecell, fs::path dir, Options o)
      : corecell_(std::move(corecell)), dir_(std::move(dir)), o_(std::move(o)) {}

  ~Bench() { (void)corecell({"localnet", "down", "--dir", dir_.string()}); }

  int run() {
    if (!setup()) return 1;
    std::vector<double> restart, provision, snapshot;
    for (int i = 1; i <= o_.runs; ++i) {
      const auto r = restart_to_first_seal();
      const auto p = provision_to_first_seal(i, snapshot);
      if (!r || !p) return 1;
      std::printf("run %d: restart -> first seal %.2f s; provision -> first seal %.2f s\n", i, *r,
                  *p);
      std::fflush(stdout);
      restart.push_back(*r);
      provision.push_back(*p);
    }
    const double rm = median(restart);
    const double pm = median(provision);
    std::printf("\n%s\n%-44s %10s\n",
                o_.ha ? "HA host (agent, lease taken first)" : "stand-alone CN",
                "figure (median of runs)", "seconds");
    std::printf("%-44s %10.2f\n", "provision start -> first seal (measured)", pm);
    std::printf("%-44s %10.2f\n", "restart of the intact CN -> first seal", rm);
    std::printf("%-44s %10.2f\n", "online snapshot of the PN (before provision)", median(snapshot));
    std::printf("ratio provision / restart = %.2f (informational)\n", rm > 0 ? pm / rm : 0.0);
    return 0;
  }

 private:
  static double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

  cc::util::CommandResult corecell(std::vector<std::string> args,
                                   std::chrono::milliseconds timeout = 300s) const {
    args.insert(args.begin(), corecell_.string());
    auto r = cc::util::run_command(args, timeout);
    if (!r.ok()) return cc::util::CommandResult{-1, false, r.error().message};
    return *r;
  }

  bool must(const cc::util::CommandResult& r, const char* what) const {
    if (r.exit_status == 0) return true;
    std::fprintf(stderr, "provision_bench: %s failed (%s):\n%s\n", what,
                 cc::util::describe_exit_status(r.exit_status).c_str(), r.output.c_str());
    return false;
  }

  fs::path node_dir(const std::string& name) const { return dir_ / "nodes" / name; }

  json status(const std::string& name) const {
    auto st = cc::node::control_request(cc::node::control_socket_path(node_dir(name)),
                                        json{{"cmd", "status"}}, 2000ms);
    return st.ok() ? *st : json::object();
  }

  bool node_running(const std::string& name) const {
    const auto pid = cc::util::read_pid_file(cc::node::lock_path(node_dir(name)));
    return pid && cc::util::process_alive(*pid);
  }

  std::uint64_t head(const std::string& name) const {
    return status(name).value("/head/number"_json_pointer, std::uint64_t{0});
  }

  bool setup() {
    std::vector<std::string> init = {"localnet", "init",  "--dir", dir_.string(), "--cells",
                                     "4",        "--ens", "0",     "--ip-prefix", o_.ip_prefix};
    if (o_.ha) {
      init.push_back("--standby");
      init.push_back("1");
    }
    if (!must(corecell(init), "localnet init") ||
        !must(corecell({"localnet", "up", "--dir", dir_.string()}), "localnet up")) {
      return false;
    }
    if (o_.ha) {
      // No standby: only the provisioned host's agent may take the lease.
      if (!must(corecell({"localnet", "stop", "--dir", dir_.string(), "cn-1-standby"}),
                "localnet stop cn-1-standby")) {
        return false;
      }
      std::error_code ec;
      fs::remove_all(node_dir("cn-1-standby"), ec);
    }
    std::printf("network up in %s; growing the chain to #%d\n", dir_.c_str(), o_.blocks);
    std::fflush(stdout);
    const auto deadline = Clock::now() + std::chrono::seconds(o_.blocks * 3 + 60);
    while (head("cn-2") < static_cast<std::uint64_t>(o_.blocks) && Clock::now() < deadline) {
      std::this_thread::sleep_for(200ms);
    }
    image_ = dir_ / "cn-1.image";
    if (o_.ha) {
      // The cell's validator backup and passphrase, as `localnet init --standby` made them.
      pass_ = dir_ / "ha" / "cell-1" / "passphrase";
      backup_ = dir_ / "ha" / "cell-1" / "validator.backup";
      return must(corecell({"image", "create", "--ha-conf", (node_dir("cn-1") / "ha.conf").string(),
                            "--out", image_.string()}),
                  "image create --ha-conf");
    }
    pass_ = dir_ / "bench.pass";
    if (!cc::atomic_write_file(pass_, std::string("provision bench passphrase\n"), 0600).ok()) {
      return false;
    }
    backup_ = dir_ / "cn-1.backup";
    return must(corecell({"key", "backup", "--nodekey",
                          cc::node::nodekey_path(node_dir("cn-1")).string(), "--passphrase-file",
                          pass_.string(), "--out", backup_.string(), "--kdf-cost", "interactive"}),
                "key backup") &&
           must(corecell({"image", "create", "--conf", (node_dir("cn-1") / "kcnd.conf").string(),
                          "--out", image_.string()}),
                "image create");
  }

  // cn-1 goes down: `localnet stop`, or with --ha a crash of its host (agent and node killed at
  // once, held down so the supervisor does not restart the agent).
  bool take_cn1_down() {
    if (!o_.ha) return must(corecell({"localnet", "stop", "--dir", dir_.string(), "cn-1"}), "stop");
    auto m = cc::localnet::load_manifest(dir_);
    const cc::localnet::NodeEntry* cn1 = m.ok() ? m->find("cn-1") : nullptr;
    if (cn1 == nullptr) return false;
    // Both the agent and its node up (the node restarts as the validator after a takeover).
    const auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline && !(cc::localnet::node_pid(*m, *cn1) && node_running("cn-1"))) {
      std::this_thread::sleep_for(100ms);
    }
    auto st = cc::localnet::localnet_kill_node(*m, *cn1);
    if (!st.ok()) std::fprintf(stderr, "provision_bench: %s\n", st.error().message.c_str());
    return st.ok();
  }

  // From `localnet start` to the first block above the in-sync head that carries cn-1's seal.
  std::optional<double> restart_to_first_seal() {
    if (!take_cn1_down()) return std::nullopt;
    if (!o_.ha) std::this_thread::sleep_for(2s);
    const auto t0 = Clock::now();
    if (!must(corecell({"localnet", "start", "--dir", dir_.string(), "cn-1"}), "localnet start")) {
      return std::nullopt;
    }
    const auto deadline = t0 + 180s;
    std::uint64_t synced = 0;
    while (Clock::now() < deadline) {
      const json s = status("cn-1");
      if (s.value("in_sync", false)) {
        synced = s.value("/head/number"_json_pointer, std::uint64_t{0});
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    while (synced > 0 && Clock::now() < deadline) {
      auto r = cc::node::control_request(
          cc::node::control_socket_path(node_dir("cn-1")),
          json{{"cmd", "seals"}, {"address", address()}, {"depth", 64}}, 2000ms);
      if (r.ok()) {
        for (const auto& n : r->value("sealed", json::array())) {
          if (n.get<std::uint64_t>() > synced) {
            return std::chrono::duration<double>(Clock::now() - t0).count();
          }
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    std::fprintf(stderr, "provision_bench: restarted cn-1 did not seal within 180 s\n");
    return std::nullopt;
  }

  std::optional<double> provision_to_first_seal(int run, std::vector<double>& snapshot_s) {
    if (!take_cn1_down()) return std::nullopt;
    std::error_code ec;
    fs::remove_all(node_dir("cn-1"), ec);
    const fs::path snap = dir_ / ("pn-" + std::to_string(run) + ".tar.zst");
    const auto s0 = Clock::now();
    if (!must(corecell({"snapshot", "create", "--from", node_dir("pn-1-1").string(), "--out",
                        snap.string()}),
              "snapshot create")) {
      return std::nullopt;
    }
    snapshot_s.push_back(std::chrono::duration<double>(Clock::now() - s0).count());
    std::vector<std::string> args = {
        "provision",    "--image",          image_.string(),           "--snapshot",
        snap.string(),  "--nodekey-backup", backup_.string(),          "--passphrase-file",
        pass_.string(), "--datadir",        node_dir("cn-1").string(), "--service",
        "localnet"};
    if (!o_.ha) {
      args.push_back("--ip-mover");  // with --ha the agent moves the address
      args.push_back("loopback");
    }
    auto r = corecell(args);
    if (!must(r, "provision")) return std::nullopt;
    fs::remove(snap, ec);
    std::smatch m;
    if (!std::regex_search(r.output, m, std::regex("first seal in block #[0-9]+ ([0-9.]+) s"))) {
      std::fprintf(stderr, "provision_bench: no first-seal line in:\n%s\n", r.output.c_str());
      return std::nullopt;
    }
    return std::stod(m[1]);
  }

  std::string address() const {
    if (address_.empty()) {
      auto text = cc::read_file(dir_ / "network.json");
      if (text.ok()) {
        const json manifest = json::parse(*text, nullptr, false);
        for (const auto& n : manifest.value("nodes", json::array())) {
          if (n["name"] == "cn-1") address_ = n["address"];
        }
      }
    }
    return address_;
  }

  fs::path corecell_;
  fs::path dir_;
  Options o_;
  fs::path pass_, backup_, image_;
  mutable std::string address_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"time from `corecell provision` start to the replacement CN's first seal"};
  app.add_option("--runs", o.runs, "Samples of each")->capture_default_str();
  app.add_option("--blocks", o.blocks, "Grow the chain to this height first")
      ->capture_default_str();
  app.add_option("--dir", o.dir, "Work directory (default: a new one under /tmp, removed after)");
  app.add_option("--ip-prefix", o.ip_prefix, "127.x.y of the localnet")->capture_default_str();
  app.add_flag("--ha", o.ha,
               "Cell 1 as an HA cell: cn-1's host crashes, and is rebuilt from an --ha-conf "
               "image whose agent takes the lease first");
  CLI11_PARSE(app, argc, argv);
  auto self = cc::util::self_exe();
  if (!self.ok()) return 1;
  const fs::path corecell = self->parent_path() / "corecell";
  fs::path dir = o.dir;
  bool remove_dir = false;
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "cc-provision-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = fs::path(tmpl) / "net";
    remove_dir = true;
  }
  int rc = 0;
  {
    Bench b(corecell, dir, o);
    rc = b.run();
  }
  if (remove_dir && rc == 0) {
    std::error_code ec;
    fs::remove_all(dir.parent_path(), ec);
  }
  return rc;
}
