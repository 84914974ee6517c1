// Tests of repair planning: the ranges cover the token space exactly once, each with the
// preference list of its tokens; scopes keep only a node's ranges, a token interval, or the
// ranges a node drives (each range has exactly one driver).
#include "gossip-agent/repair_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace ringkv::gossip {
namespace {

Ring FourNodes(int rf) {
  std::vector<NodeInfo> nodes;
  for (const char* id : {"n1", "n2", "n3", "n4"}) {
    NodeInfo n;
    n.id = id;
    n.vnodes = 16;
    nodes.push_back(n);
  }
  auto r = Ring::Build(nodes, *Replication::Parse(std::to_string(rf)));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(*r);
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> ListOf(const Ring& ring, Token t) {
  std::vector<std::string> out;
  for (const NodeInfo* n : ring.PreferenceList(t)) out.push_back(n->id);
  return out;
}

TEST(RepairPlan, CoversTheTokenSpaceOnceWithEachRangesPreferenceList) {
  const Ring ring = FourNodes(3);
  const auto plan = PlanRanges(ring, {});
  ASSERT_FALSE(plan.empty());
  EXPECT_EQ(plan.front().range.first, 0u);
  EXPECT_EQ(plan.back().range.last, UINT64_MAX);
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& p = plan[i];
    ASSERT_LE(p.range.first, p.range.last);
    if (i > 0) {
      EXPECT_EQ(plan[i - 1].range.last + 1, p.range.first);
    }
    EXPECT_EQ(p.replicas.size(), 3u);
    // Both ends of the range are held by its replicas.
    EXPECT_EQ(Sorted(ListOf(ring, p.range.first)), Sorted(p.replicas)) << i;
    EXPECT_EQ(Sorted(ListOf(ring, p.range.last)), Sorted(p.replicas)) << i;
    // Ranges are cut at every 1/16 of the token space, and merged otherwise.
    EXPECT_EQ(p.range.first >> 60, p.range.last >> 60) << i;
    if (i > 0 && (p.range.first >> 60) == (plan[i - 1].range.last >> 60)) {
      EXPECT_NE(Sorted(plan[i - 1].replicas), Sorted(p.replicas)) << "adjacent, same set";
    }
  }
}

TEST(RepairPlan, OneReplicaSetForTheWholeRingIsSixteenPieces) {
  std::vector<NodeInfo> nodes;
  for (const char* id : {"n1", "n2", "n3"}) {
    NodeInfo n;
    n.id = id;
    n.vnodes = 64;
    nodes.push_back(n);
  }
  const Ring ring = *Ring::Build(nodes, *Replication::Parse("3"));
  const auto plan = PlanRanges(ring, {});
  ASSERT_EQ(plan.size(), 16u);
  for (size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(plan[i].range.first, Token{i} << 60);
    EXPECT_EQ(plan[i].range.last, (Token{i} << 60) | ((Token{1} << 60) - 1));
  }
}

TEST(RepairPlan, ScopesNarrowThePlan) {
  const Ring ring = FourNodes(2);
  const auto all = PlanRanges(ring, {});
  RepairScope node;
  node.node = "n2";
  for (const auto& p : PlanRanges(ring, node)) {
    EXPECT_NE(std::find(p.replicas.begin(), p.replicas.end(), "n2"), p.replicas.end());
  }
  // Every range is driven by exactly one node.
  std::map<Token, int> drivers;
  size_t driven = 0;
  for (const char* id : {"n1", "n2", "n3", "n4"}) {
    RepairScope s;
    s.driver = id;
    for (const auto& p : PlanRanges(ring, s)) {
      EXPECT_EQ(p.replicas[0], id);
      ++drivers[p.range.first];
      ++driven;
    }
  }
  for (const auto& [first, n] : drivers) EXPECT_EQ(n, 1) << first;
  EXPECT_GE(driven, all.size());
  RepairScope part;
  part.has_range = true;
  part.first = 1000;
  part.last = 1ull << 62;
  const auto clipped = PlanRanges(ring, part);
  ASSERT_FALSE(clipped.empty());
  EXPECT_EQ(clipped.front().range.first, 1000u);
  EXPECT_EQ(clipped.back().range.last, 1ull << 62);
  EXPECT_EQ(ScopeName(part), "tokens 1000:4611686018427387904");
  EXPECT_EQ(ScopeName({}), "all");
}

}  // namespace
}  // namespace ringkv::gossip
