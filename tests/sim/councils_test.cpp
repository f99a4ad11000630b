// Every council size from 1 to 10 reaches agreement on valid blocks through lossy, duplicating,
// reordering links, with transfers executed and proposals checked by execution.
#include <gtest/gtest.h>

#include "simulator.h"

namespace cc::sim {
namespace {

class CouncilSize : public ::testing::TestWithParam<std::size_t> {};

TEST_P(CouncilSize, AgreesOnValidBlocksThroughLossyLinks) {
  SimConfig cfg;
  cfg.validators = GetParam();
  cfg.seed = 1000 + GetParam();
  cfg.link = LinkPolicy{1, 40, 0.05, 0.05};
  cfg.faults_until_ms = 6000;
  cfg.txs_per_block = 2;
  cfg.execute_proposals = true;
  Simulation sim(cfg);
  sim.start();
  sim.run_until(6000);
  EXPECT_TRUE(sim.run_until_heads(std::max<std::uint64_t>(sim.max_honest_head(), 4) + 3, 60000))
      << "heads: min " << sim.min_honest_head() << " max " << sim.max_honest_head();
  const auto v = sim.check();
  EXPECT_TRUE(v.empty()) << v.size() << " violations, first: " << v.front();
  // Every block carries at least a quorum of seals (also checked on import) and transfers.
  for (std::size_t h = 1; h <= sim.min_honest_head(); ++h) {
    const auto* b = sim.block_at(h);
    ASSERT_NE(b, nullptr);
    EXPECT_GE(b->header.istanbul_extra()->committed_seals.size(), sim.council().commit_quorum());
    EXPECT_EQ(b->transactions.size(), 2u);
  }
}

INSTANTIATE_TEST_SUITE_P(OneToTen, CouncilSize, ::testing::Range<std::size_t>(1, 11));

}  // namespace
}  // namespace cc::sim
