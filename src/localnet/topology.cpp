#include "localnet/topology.h"

#include <charconv>
#include <string_view>

namespace cc::localnet {
namespace {

// True for "a.b.c" with three decimal octets 0..255 and a == 127 (loopback only: a localnet
// must never bind or dial anything outside this machine).
bool topo_is_loopback_prefix(std::string_view prefix) {
  unsigned octets[3] = {0, 0, 0};
  std::size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    std::size_t end = prefix.find('.', pos);
    if (i < 2 && end == std::string_view::npos) return false;
    if (i == 2) {
      if (end != std::string_view::npos) return false;
      end = prefix.size();
    }
    std::string_view part = prefix.substr(pos, end - pos);
    if (part.empty() || part.size() > 3) return false;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), octets[i]);
    if (ec != std::errc() || p != part.data() + part.size() || octets[i] > 255) return false;
    pos = end + 1;
  }
  return octets[0] == 127;
}

std::size_t topo_node_count(const TopologyParams& p) {
  // A standby adds its own node and the HA host address of its cell's CN.
  return p.cells + (p.standby ? 2 : 0) + p.cells * p.pns_per_cell + p.ens;
}

}  // namespace

const char* role_text(NodeRole role) {
  switch (role) {
    case NodeRole::cn:
      return "cn";
    case NodeRole::pn:
      return "pn";
    case NodeRole::en:
      return "en";
  }
  return "?";
}

Status validate(const TopologyParams& p) {
  if (p.cells < 1) {
    return make_error("localnet.bad_args", "--cells must be at least 1 (the council size)");
  }
  if (p.pns_per_cell < 1) {
    return make_error("localnet.bad_args",
                      "--pns must be at least 1: each cell's CN (and its standby) reaches the "
                      "network only through its PNs");
  }
  if (p.standby && (*p.standby < 1 || *p.standby > p.cells)) {
    return make_error("localnet.bad_args", "--standby " + std::to_string(*p.standby) +
                                               ": no such cell; cells are numbered 1.." +
                                               std::to_string(p.cells));
  }
  if (!topo_is_loopback_prefix(p.ip_prefix)) {
    return make_error("localnet.bad_args",
                      "--ip-prefix \"" + p.ip_prefix +
                          "\": expected the first three octets of a loopback address, e.g. "
                          "127.0.0 (a localnet binds only 127.x.y.z)");
  }
  const std::size_t last = p.first_host + topo_node_count(p) - 1;
  if (p.first_host < 1 || last > 254) {
    return make_error("localnet.bad_args", "--first-host " + std::to_string(p.first_host) +
                                               " with " + std::to_string(topo_node_count(p)) +
                                               " nodes needs addresses " + p.ip_prefix + "." +
                                               std::to_string(p.first_host) + ".." +
                                               std::to_string(last) +
                                               "; the last octet must stay within 1..254 "
                                               "(lower --first-host or use fewer nodes)");
  }
  return ok_status();
}

std::vector<std::size_t> Plan::council() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].role == NodeRole::cn && !nodes[i].standby) out.push_back(i);
  }
  return out;
}

std::optional<std::size_t> Plan::find(const std::string& name) const {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].name == name) return i;
  }
  return std::nullopt;
}

Result<Plan> make_plan(const TopologyParams& p) {
  CC_TRY_STATUS(validate(p));
  Plan plan;
  unsigned host = p.first_host;
  auto add = [&](std::string name, std::size_t cell, NodeRole role, bool standby) {
    plan.nodes.push_back(PlannedNode{std::move(name), cell, role, standby,
                                     p.ip_prefix + "." + std::to_string(host), ""});
    ++host;
  };
  for (std::size_t c = 1; c <= p.cells; ++c) add("cn-" + std::to_string(c), c, NodeRole::cn, false);
  if (p.standby) {
    add("cn-" + std::to_string(*p.standby) + "-standby", *p.standby, NodeRole::cn, true);
  }
  for (std::size_t c = 1; c <= p.cells; ++c) {
    for (std::size_t k = 1; k <= p.pns_per_cell; ++k) {
      add("pn-" + std::to_string(c) + "-" + std::to_string(k), c, NodeRole::pn, false);
    }
  }
  for (std::size_t e = 1; e <= p.ens; ++e) add("en-" + std::to_string(e), 0, NodeRole::en, false);
  if (p.standby) plan.nodes[*p.standby - 1].ha_host_ip = p.ip_prefix + "." + std::to_string(host++);

  const auto council = plan.council();
  auto pns_of_cell = [&](std::size_t cell) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
      if (plan.nodes[i].role == NodeRole::pn && plan.nodes[i].cell == cell) out.push_back(i);
    }
    return out;
  };
  plan.peering.resize(plan.nodes.size());
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const PlannedNode& n = plan.nodes[i];
    Peering& peer = plan.peering[i];
    switch (n.role) {
      case NodeRole::cn:
        // Active and standby alike admit and list the other cells' CNs and keep their own
        // cell's PNs (a node whose key is not in the council skips the CNs when dialing).
        for (std::size_t j : council) {
          if (plan.nodes[j].cell == n.cell) continue;
          peer.cn_allowlist.push_back(j);
          peer.static_nodes.push_back(j);
        }
        peer.proxy_nodes = pns_of_cell(n.cell);
        break;
      case NodeRole::pn:
        for (std::size_t j = 0; j < plan.nodes.size(); ++j) {
          if (plan.nodes[j].role == NodeRole::pn && plan.nodes[j].cell != n.cell) {
            peer.static_nodes.push_back(j);
          }
        }
        break;
      case NodeRole::en: {
        // PN k of cell c, visiting cells first so the EN's few peers sit in different cells;
        // each EN starts at a different cell.
        const std::size_t e = i - (plan.nodes.size() - p.ens);  // ENs come last
        std::vector<std::size_t> order;
        for (std::size_t k = 1; k <= p.pns_per_cell; ++k) {
          for (std::size_t c = 0; c < p.cells; ++c) {
            const std::size_t cell = (c + e) % p.cells + 1;
            order.push_back(pns_of_cell(cell).at(k - 1));
          }
        }
        for (std::size_t j = 0; j < order.size() && j < kEnPeerLimit; ++j) {
          peer.static_nodes.push_back(order[j]);
        }
        break;
      }
    }
  }
  return plan;
}

}  // namespace cc::localnet
