// Tests of localnet/topology.h: the node list, addresses and Kaia's "who connects to whom" for a
// generated network, and the argument checks, all as pure functions of the parameters.
#include "localnet/topology.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace cc::localnet {
namespace {

TopologyParams four_cells_with_standby() {
  TopologyParams p;
  p.cells = 4;
  p.pns_per_cell = 1;
  p.standby = 1;
  p.ens = 1;
  p.ip_prefix = "127.0.120";
  p.first_host = 10;
  return p;
}

std::vector<std::string> names_of(const Plan& plan, const std::vector<std::size_t>& idx) {
  std::vector<std::string> out;
  for (std::size_t i : idx) out.push_back(plan.nodes.at(i).name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ips_of(const Plan& plan, const std::vector<std::size_t>& idx) {
  std::vector<std::string> out;
  for (std::size_t i : idx) out.push_back(plan.nodes.at(i).ip);
  std::sort(out.begin(), out.end());
  return out;
}

const Peering& peering_of(const Plan& plan, const std::string& name) {
  auto i = plan.find(name);
  EXPECT_TRUE(i.has_value()) << name;
  return plan.peering.at(i.value_or(0));
}

TEST(LocalnetTopology, NodesAreNamedByCellAndGetConsecutiveLoopbackAddresses) {
  auto plan = make_plan(four_cells_with_standby());
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  std::vector<std::string> names;
  for (const auto& n : plan->nodes) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cn-1", "cn-2", "cn-3", "cn-4", "cn-1-standby",
                                             "pn-1-1", "pn-2-1", "pn-3-1", "pn-4-1", "en-1"}));
  for (std::size_t i = 0; i < plan->nodes.size(); ++i) {
    EXPECT_EQ(plan->nodes[i].ip, "127.0.120." + std::to_string(10 + i));
  }
  const auto& standby = plan->nodes.at(*plan->find("cn-1-standby"));
  EXPECT_TRUE(standby.standby);
  EXPECT_EQ(standby.cell, 1u);
  EXPECT_EQ(standby.role, NodeRole::cn);
  EXPECT_EQ(plan->nodes.at(*plan->find("en-1")).cell, 0u);
  EXPECT_EQ(names_of(*plan, plan->council()),
            (std::vector<std::string>{"cn-1", "cn-2", "cn-3", "cn-4"}));
}

TEST(LocalnetTopology, CouncilCnDialsTheOtherCnsAdmitsTheirIpsAndKeepsItsOwnPns) {
  auto plan = make_plan(four_cells_with_standby());
  ASSERT_TRUE(plan.ok());
  const auto& cn2 = peering_of(*plan, "cn-2");
  EXPECT_EQ(names_of(*plan, cn2.static_nodes), (std::vector<std::string>{"cn-1", "cn-3", "cn-4"}));
  EXPECT_EQ(ips_of(*plan, cn2.cn_allowlist),
            (std::vector<std::string>{"127.0.120.10", "127.0.120.12", "127.0.120.13"}));
  EXPECT_EQ(names_of(*plan, cn2.proxy_nodes), (std::vector<std::string>{"pn-2-1"}));
}

TEST(LocalnetTopology, StandbyHasItsActivesPeeringAndTheActiveHostGetsAnAddressOfItsOwn) {
  auto plan = make_plan(four_cells_with_standby());
  ASSERT_TRUE(plan.ok());
  const auto& sb = peering_of(*plan, "cn-1-standby");
  const auto& active = peering_of(*plan, "cn-1");
  // The guide: the standby runs the same config but the nodekey (its node skips the CNs while
  // its key is not in the council; the HA agent swaps the key in at takeover).
  EXPECT_EQ(sb.static_nodes, active.static_nodes);
  EXPECT_EQ(names_of(*plan, sb.proxy_nodes), (std::vector<std::string>{"pn-1-1"}));
  EXPECT_EQ(ips_of(*plan, sb.cn_allowlist), ips_of(*plan, active.cn_allowlist));
  EXPECT_EQ(sb.proxy_nodes, active.proxy_nodes);
  // Nobody dials the standby, and it is no council member.
  const auto sb_index = *plan->find("cn-1-standby");
  for (const auto& p : plan->peering) {
    EXPECT_EQ(std::count(p.static_nodes.begin(), p.static_nodes.end(), sb_index), 0);
  }
  const auto council = plan->council();
  EXPECT_EQ(std::count(council.begin(), council.end(), sb_index), 0);
  // cn-1's address is the cell's; its host's own address comes after every node's.
  const auto& cn1 = plan->nodes.at(*plan->find("cn-1"));
  EXPECT_EQ(cn1.ha_host_ip, "127.0.120.20");
  for (const auto& n : plan->nodes) {
    EXPECT_NE(n.ip, cn1.ha_host_ip) << n.name;
    if (n.name != "cn-1") {
      EXPECT_TRUE(n.ha_host_ip.empty()) << n.name;
    }
  }
}

TEST(LocalnetTopology, PnsDialTheOtherCellsPnsAndNothingElse) {
  auto p = four_cells_with_standby();
  p.pns_per_cell = 2;
  auto plan = make_plan(p);
  ASSERT_TRUE(plan.ok());
  const auto& pn = peering_of(*plan, "pn-3-2");
  EXPECT_EQ(names_of(*plan, pn.static_nodes),
            (std::vector<std::string>{"pn-1-1", "pn-1-2", "pn-2-1", "pn-2-2", "pn-4-1", "pn-4-2"}));
  EXPECT_TRUE(pn.cn_allowlist.empty());
  EXPECT_TRUE(pn.proxy_nodes.empty());
  EXPECT_EQ(names_of(*plan, peering_of(*plan, "cn-3").proxy_nodes),
            (std::vector<std::string>{"pn-3-1", "pn-3-2"}));
}

TEST(LocalnetTopology, EndpointsDialAFewPnsInDifferentCellsStartingAtDifferentCells) {
  auto p = four_cells_with_standby();
  p.cells = 6;
  p.standby.reset();
  p.ens = 2;
  auto plan = make_plan(p);
  ASSERT_TRUE(plan.ok());
  const auto& en1 = peering_of(*plan, "en-1");
  const auto& en2 = peering_of(*plan, "en-2");
  ASSERT_EQ(en1.static_nodes.size(), kEnPeerLimit);
  EXPECT_EQ(names_of(*plan, en1.static_nodes),
            (std::vector<std::string>{"pn-1-1", "pn-2-1", "pn-3-1", "pn-4-1"}));
  EXPECT_EQ(names_of(*plan, en2.static_nodes),
            (std::vector<std::string>{"pn-2-1", "pn-3-1", "pn-4-1", "pn-5-1"}));
  for (std::size_t i : en1.static_nodes) EXPECT_EQ(plan->nodes[i].role, NodeRole::pn);
}

TEST(LocalnetTopology, SingleCellHasNoCnPeersButKeepsItsPn) {
  TopologyParams p;
  p.cells = 1;
  p.ens = 0;
  auto plan = make_plan(p);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->nodes.size(), 2u);
  EXPECT_TRUE(plan->peering[0].static_nodes.empty());
  EXPECT_TRUE(plan->peering[0].cn_allowlist.empty());
  EXPECT_EQ(names_of(*plan, plan->peering[0].proxy_nodes), (std::vector<std::string>{"pn-1-1"}));
}

TEST(LocalnetTopology, BadArgumentsAreRefusedNamingTheFlag) {
  auto expect_error = [](TopologyParams p, const std::string& flag) {
    auto st = validate(p);
    ASSERT_FALSE(st.ok()) << flag;
    EXPECT_NE(st.error().message.find(flag), std::string::npos) << st.error().message;
    EXPECT_FALSE(make_plan(p).ok());
  };
  auto p = four_cells_with_standby();
  p.cells = 0;
  expect_error(p, "--cells");
  p = four_cells_with_standby();
  p.pns_per_cell = 0;
  expect_error(p, "--pns");
  p = four_cells_with_standby();
  p.standby = 5;
  expect_error(p, "--standby 5");
  p = four_cells_with_standby();
  p.standby = 0;
  expect_error(p, "--standby 0");
  for (const char* prefix : {"10.0.0", "127.0", "127.0.0.1", "127.0.256", "127.a.0", ""}) {
    p = four_cells_with_standby();
    p.ip_prefix = prefix;
    expect_error(p, "--ip-prefix");
  }
  p = four_cells_with_standby();
  p.first_host = 250;  // 10 nodes and the HA host address: .250 .. .260
  expect_error(p, "--first-host");
  p.first_host = 0;
  expect_error(p, "--first-host");
  p.first_host = 244;  // .244 .. .254 fits exactly
  EXPECT_TRUE(validate(p).ok());
}

}  // namespace
}  // namespace cc::localnet
