#include "localnet/status.h"

#include <algorithm>
#include <cstdio>

#include "ha/agent.h"
#include "localnet/supervisor.h"
#include "node/control.h"
#include "node/datadir.h"
#include "util/files.h"

namespace cc::localnet {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::uint64_t st_u64(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  return it->is_number_unsigned()
             ? it->get<std::uint64_t>()
             : static_cast<std::uint64_t>(std::max<std::int64_t>(0, it->get<std::int64_t>()));
}

std::string st_cell(const json& v, std::size_t width) {
  std::string s;
  if (v.is_null()) {
    s = "-";
  } else if (v.is_string()) {
    s = v.get<std::string>();
  } else if (v.is_boolean()) {
    s = v.get<bool>() ? "yes" : "no";
  } else {
    s = v.dump();
  }
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

bool node_in_sync(const json& st) {
  if (!st.is_object() || !st.contains("head") || !st.contains("sync")) return false;
  const json& sync = st["sync"];
  if (sync.value("syncing", true)) return false;
  const auto& peers = st.contains("peers") && st["peers"].is_array() ? st["peers"] : json::array();
  if (peers.empty()) return false;
  std::uint64_t best = st_u64(sync, "highestBlock");
  for (const auto& p : peers) best = std::max(best, st_u64(p, "head"));
  return st_u64(st["head"], "number") + 1 >= best;
}

json collect_status(const Manifest& m, std::chrono::milliseconds timeout) {
  json doc;
  doc["dir"] = m.dir.string();
  doc["chainId"] = m.chain_id;
  auto sup = supervisor_pid(m);
  doc["supervisor"] = {{"running", sup.has_value()}, {"pid", sup ? json(*sup) : json(nullptr)}};
  json nodes = json::array();
  for (const auto& n : m.nodes) {
    json o;
    o["name"] = n.name;
    o["cell"] = n.cell;
    o["role"] = role_text(n.role);
    o["standby"] = n.standby;
    o["address"] = n.address;
    o["p2p"] = n.ip + ":" + std::to_string(n.p2p_port);
    o["rpcUrl"] = n.rpc_url;
    o["metricsUrl"] = n.metrics_url;
    auto pid = node_pid(m, n);
    o["pid"] = pid ? json(*pid) : json(nullptr);
    o["state"] = "down";
    o["validator"] = nullptr;
    o["head"] = nullptr;
    o["peers"] = nullptr;
    o["round"] = nullptr;
    o["inSync"] = nullptr;
    o["lastExit"] = nullptr;
    o["ha"] = nullptr;
    if (n.has_agent()) {
      // An HA host: which role its agent holds now decides what the row means (the cell's
      // address, "p2p" here, is bound only by the active).
      auto agent = ha::query_agent_status(n.data_dir, timeout);
      o["ha"] = agent.ok() ? json{{"role", agent->value("role", "?")},
                                  {"epoch", agent->value("epoch", 0)},
                                  {"identity", (*agent)["node"].value("identity", "?")}}
                           : json{{"role", "down"}};
      if (agent.ok() && (*agent)["node"].value("identity", "") != "validator") {
        o["p2p"] = n.host_ip + ":" + std::to_string(n.p2p_port);
      }
    }
    if (auto exit_text = read_file(node_exit_path(m, n), 4096); exit_text.ok()) {
      std::string t = *exit_text;
      while (!t.empty() && t.back() == '\n') t.pop_back();
      o["lastExit"] = t;
    }
    if (pid) {
      auto st = node::control_request(node::control_socket_path(n.data_dir),
                                      json{{"cmd", "status"}}, timeout);
      if (st.ok() && st->is_object()) {
        const json& s = *st;
        o["state"] = "up";
        o["validator"] = s.value("validator", false);
        if (s.contains("head")) o["head"] = s["head"];
        o["peers"] = s.contains("peers") && s["peers"].is_array() ? s["peers"].size() : 0;
        if (s.contains("consensus") && s["consensus"].is_object()) {
          o["round"] = s["consensus"].value("round", 0);
        }
        o["inSync"] = node_in_sync(s);
      } else {
        o["state"] = "unresponsive";
      }
    }
    nodes.push_back(o);
  }
  doc["nodes"] = nodes;
  return doc;
}

std::string format_status_table(const json& doc) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-14s %-8s %-22s %-8s %-14s %-6s %-6s %-8s %s\n", "NODE",
                "ROLE", "P2P", "HEAD", "HASH", "PEERS", "ROUND", "IN-SYNC", "PID");
  out += line;
  for (const auto& n : doc.value("nodes", json::array())) {
    std::string role = n.value("role", "?");
    const bool ha = n.contains("ha") && n["ha"].is_object();
    if (ha) {
      const std::string r = n["ha"].value("role", "?");
      role += "/" + (r == "active" ? std::string("act") : r == "standby" ? std::string("sb") : r);
    } else if (n.value("standby", false)) {
      role += "/sb";
    }
    json head = "-";
    json hash = "-";
    if (n["head"].is_object()) {
      head = "#" + std::to_string(st_u64(n["head"], "number"));
      const std::string h = n["head"].value("hash", "");
      hash = h.size() > 12 ? h.substr(0, 12) : h;
    } else if (n.value("state", "down") != "up") {
      head = n.value("state", "down");
    }
    json round = n["round"];
    if (role == "cn/sb") round = "standby";
    std::snprintf(line, sizeof line, "%s %s %s %s %s %s %s %s %s\n",
                  st_cell(json(n.value("name", "?")), 14).c_str(), st_cell(json(role), 8).c_str(),
                  st_cell(n["p2p"], 22).c_str(), st_cell(head, 8).c_str(),
                  st_cell(hash, 14).c_str(), st_cell(n["peers"], 6).c_str(),
                  st_cell(round, 6).c_str(), st_cell(n["inSync"], 8).c_str(),
                  st_cell(n["pid"], 0).c_str());
    out += line;
  }
  const json& sup = doc.contains("supervisor") ? doc["supervisor"] : json::object();
  if (!sup.value("running", false))
    out += "(no supervisor running: `corecell localnet up` starts it)\n";
  return out;
}

}  // namespace cc::localnet
