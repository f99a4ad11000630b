// cli/ctl_cmd.cpp — `corecell ctl`: talk to a running node through its control socket
// (DATA_DIR/corecell.sock, node/control.h). Thin: it sends one request and prints the reply.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/app.h"
#include "cli/common.h"
#include "node/control.h"
#include "node/datadir.h"

namespace cc::cli {
namespace {
using json = nlohmann::json;

struct CtlArgs {
  std::string datadir;
  std::string socket;
  bool json_output = false;
};

std::filesystem::path socket_of(const CtlArgs& a) {
  if (!a.socket.empty()) return a.socket;
  if (a.datadir.empty()) fail("pass --datadir DATA_DIR (or --socket PATH) of the running node");
  return node::control_socket_path(std::filesystem::absolute(a.datadir));
}

void print_status(const json& s) {
  std::printf("role      %s\n", text_of(s.value("role", json("?"))).c_str());
  std::printf("address   %s\n", text_of(s.value("address", json("?"))).c_str());
  std::printf("kni       %s\n", text_of(s.value("kni", json("?"))).c_str());
  if (s.contains("head")) {
    std::printf("head      #%s %s\n", text_of(s["head"]["number"]).c_str(),
                text_of(s["head"]["hash"]).c_str());
  }
  if (s.contains("sync")) {
    const json& y = s["sync"];
    std::printf("syncing   %s (start #%s, current #%s, highest #%s)\n",
                y.value("syncing", false) ? "yes" : "no", text_of(y["startingBlock"]).c_str(),
                text_of(y["currentBlock"]).c_str(), text_of(y["highestBlock"]).c_str());
  }
  if (s.contains("peers")) {
    std::printf("peers     %zu\n", s["peers"].size());
    for (const auto& p : s["peers"]) {
      std::printf("  %-3s %-8s %-21s head #%-8s %s\n", text_of(p["type"]).c_str(),
                  p.value("inbound", false) ? "inbound" : "outbound", text_of(p["remote"]).c_str(),
                  text_of(p.value("head", json("?"))).c_str(), text_of(p["address"]).c_str());
    }
  }
  if (s.contains("rejections") && !s["rejections"].empty()) {
    std::printf("refused peers:\n");
    for (const auto& [reason, count] : s["rejections"].items()) {
      std::printf("  %-20s %s\n", reason.c_str(), text_of(count).c_str());
    }
  }
}

void run_status(const CtlArgs& a) {
  json result = or_fail(node::control_request(socket_of(a), json{{"cmd", "status"}}));
  if (a.json_output) {
    std::printf("%s\n", result.dump(2).c_str());
  } else {
    print_status(result);
  }
}

}  // namespace

void add_ctl_commands(CLI::App& app) {
  auto* ctl = app.add_subcommand(
      "ctl", "Talk to a running node on this host through DATA_DIR/corecell.sock");
  ctl->require_subcommand(1);
  auto args = std::make_shared<CtlArgs>();
  auto* status = ctl->add_subcommand(
      "status", "Show a running node's role, head, sync state, peers and refused peers");
  status->add_option("--datadir", args->datadir, "the node's DATA_DIR");
  status->add_option("--socket", args->socket,
                     "control socket path (default DATA_DIR/corecell.sock)");
  status->add_flag("--json", args->json_output, "print the raw JSON status");
  status->callback([args] { run_status(*args); });
}

}  // namespace cc::cli
