// Quorum levels: parsing, needs per preference list, totals for the strong check.
#include "coordinator/quorum.h"

#include <gtest/gtest.h>

namespace ringkv::coordinator {
namespace {

TEST(QuorumTest, ParsesNamesAndCounts) {
  EXPECT_EQ(ParseQuorumName("one", 3, false)->kind, QuorumSpec::Kind::kOne);
  EXPECT_EQ(ParseQuorumName("quorum", 3, false)->kind, QuorumSpec::Kind::kQuorum);
  EXPECT_EQ(ParseQuorumName("all", 3, false)->kind, QuorumSpec::Kind::kAll);
  EXPECT_EQ(ParseQuorumName("local_quorum", 3, false)->kind, QuorumSpec::Kind::kLocalQuorum);
  EXPECT_EQ(ParseQuorumName("each_quorum", 3, true)->kind, QuorumSpec::Kind::kEachQuorum);
  EXPECT_FALSE(ParseQuorumName("each_quorum", 3, false).ok());
  EXPECT_EQ(ParseQuorumName("2", 3, false)->count, 2);
  EXPECT_FALSE(ParseQuorumName("0", 3, false).ok());
  EXPECT_FALSE(ParseQuorumName("4", 3, false).ok());
  EXPECT_FALSE(ParseQuorumName("two", 3, false).ok());
  EXPECT_FALSE(ParseQuorumName("", 3, false).ok());
  EXPECT_FALSE(ParseQuorumName("2x", 3, false).ok());
}

TEST(QuorumTest, NeedsForOneDc) {
  const std::vector<int> dcs = {0, 0, 0};
  EXPECT_EQ(NeedFor({QuorumSpec::Kind::kOne, 0}, dcs, 3, 0, 1).total, 1);
  EXPECT_EQ(NeedFor({QuorumSpec::Kind::kQuorum, 0}, dcs, 3, 0, 1).total, 2);
  EXPECT_EQ(NeedFor({QuorumSpec::Kind::kAll, 0}, dcs, 3, 0, 1).total, 3);
  EXPECT_EQ(NeedFor({QuorumSpec::Kind::kCount, 2}, dcs, 3, 0, 1).total, 2);
  EXPECT_EQ(NeedFor({QuorumSpec::Kind::kQuorum, 0}, {0, 0, 0, 0, 0}, 5, 0, 1).total, 3);
  QuorumNeed q = NeedFor({QuorumSpec::Kind::kQuorum, 0}, dcs, 3, 0, 1);
  EXPECT_FALSE(q.Met(1, {1}));
  EXPECT_TRUE(q.Met(2, {2}));
}

TEST(QuorumTest, LocalAndEachQuorumCountPerDc) {
  // dc0 holds two replicas, dc1 one; this coordinator is in dc1.
  const std::vector<int> dcs = {0, 0, 1};
  QuorumNeed local = NeedFor({QuorumSpec::Kind::kLocalQuorum, 0}, dcs, 3, 1, 2);
  EXPECT_FALSE(local.Met(2, {2, 0}));  // two acks, but none from dc1
  EXPECT_TRUE(local.Met(1, {0, 1}));
  QuorumNeed local0 = NeedFor({QuorumSpec::Kind::kLocalQuorum, 0}, dcs, 3, 0, 2);
  EXPECT_FALSE(local0.Met(1, {1, 0}));
  EXPECT_TRUE(local0.Met(2, {2, 0}));
  QuorumNeed each = NeedFor({QuorumSpec::Kind::kEachQuorum, 0}, dcs, 3, 0, 2);
  EXPECT_EQ(each.total, 3);
  EXPECT_FALSE(each.Met(2, {2, 0}));
  EXPECT_TRUE(each.Met(3, {2, 1}));
  // A coordinator outside every DC of the list cannot meet local_quorum.
  QuorumNeed none = NeedFor({QuorumSpec::Kind::kLocalQuorum, 0}, dcs, 3, -1, 2);
  EXPECT_FALSE(none.Met(3, {2, 1}));
}

TEST(QuorumTest, TotalsForTheStrongRule) {
  auto rep = Replication::Parse("dc1:3,dc2:2");
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(QuorumTotal({QuorumSpec::Kind::kQuorum, 0}, *rep, "dc1"), 3);
  EXPECT_EQ(QuorumTotal({QuorumSpec::Kind::kAll, 0}, *rep, "dc1"), 5);
  EXPECT_EQ(QuorumTotal({QuorumSpec::Kind::kLocalQuorum, 0}, *rep, "dc1"), 2);
  EXPECT_EQ(QuorumTotal({QuorumSpec::Kind::kLocalQuorum, 0}, *rep, "dc2"), 2);
  EXPECT_EQ(QuorumTotal({QuorumSpec::Kind::kEachQuorum, 0}, *rep, "dc1"), 4);
  EXPECT_EQ(QuorumTotal({QuorumSpec::Kind::kCount, 4}, *rep, "dc1"), 4);
}

}  // namespace
}  // namespace ringkv::coordinator
