// MemberSaver and the conversions between configured nodes, gossip entries and ring rows, with
// a real ring.db: a facts change writes the ring (once, coalesced), heartbeats alone wait for
// their period, a membership that makes no ring keeps the last ring but saves the members.
#include "gossip-agent/member_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace ringkv::gossip {
namespace {

NodeInfo Node(int i, NodeState state = NodeState::kNormal) {
  NodeInfo n;
  n.id = "n" + std::to_string(i);
  n.rack = "r" + std::to_string(i);
  n.client_endpoint = "tcp://127.0.0.1:" + std::to_string(27900 + 3 * i);
  n.storage_endpoint = "tcp://127.0.0.1:" + std::to_string(27901 + 3 * i);
  n.gossip_endpoint = "tcp://127.0.0.1:" + std::to_string(27902 + 3 * i);
  n.vnodes = 8;
  n.state = state;
  return n;
}

TEST(MemberStore, ConversionsKeepTheFactsAndNeverMakeDown) {
  gp::NodeEntry e = EntryFromConfig(Node(1, NodeState::kLeaving));
  EXPECT_EQ(e.id, "n1");
  EXPECT_EQ(e.rack, "r1");
  EXPECT_EQ(e.gossip_endpoint, "tcp://127.0.0.1:27905");
  EXPECT_EQ(e.vnodes, 8u);
  EXPECT_EQ(e.state, gp::MemberState::kLeaving);
  EXPECT_EQ(e.heartbeat, (gp::Heartbeat{0, 0}));
  EXPECT_EQ(EntryFromConfig(Node(2, NodeState::kDown)).state, gp::MemberState::kNormal);

  auto n = RingNodeOf(e);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, Node(1, NodeState::kLeaving));
  e.state = gp::MemberState::kRemoved;
  EXPECT_FALSE(RingNodeOf(e).has_value());
  e.state = gp::MemberState::kNormal;
  e.tokens = {5, 9};  // explicit tokens decide the count
  EXPECT_EQ(RingNodeOf(e)->vnodes, 2u);
  e.tokens.clear();
  e.vnodes = 0;
  EXPECT_FALSE(RingNodeOf(e).has_value());
}

class MemberSaverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv_member_store_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = RingStore::Open(dir_ + "/ring.db");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::unique_ptr<RingStore> store_;
};

TEST_F(MemberSaverTest, FactsWriteTheRingHeartbeatsWaitForTheirPeriod) {
  gp::NodeEntry self = EntryFromConfig(Node(1));
  self.heartbeat = {100, 0};
  Membership m(self);
  m.MergeEntry(EntryFromConfig(Node(2)));
  MemberSaver saver(store_.get(), *Replication::Parse("1"), {100, 5000});

  // The first save writes the ring.
  auto r = saver.MaybeSave(m, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
  EXPECT_EQ(store_->Version().value(), 1u);
  EXPECT_EQ(store_->LoadMembers()->size(), 2u);

  // Heartbeats alone: nothing before the period.
  m.Beat();
  EXPECT_FALSE(saver.MaybeSave(m, 1000).value());
  EXPECT_EQ(saver.saves(), 1u);
  EXPECT_EQ(saver.NextDueMs(), 5000);
  EXPECT_FALSE(saver.MaybeSave(m, 5000).value());  // saved, ring unchanged
  EXPECT_EQ(saver.saves(), 2u);
  EXPECT_EQ((*store_->LoadMembers())[0].heartbeat.version, 1u);

  // A facts change: due after the coalescing delay, and it changes the ring.
  gp::NodeEntry three = EntryFromConfig(Node(3));
  three.heartbeat = {7, 1};
  m.MergeEntry(three);
  saver.FactsChanged(6000);
  saver.FactsChanged(6050);  // coalesced: still due at 6100
  EXPECT_EQ(saver.NextDueMs(), 6100);
  EXPECT_FALSE(saver.MaybeSave(m, 6099).value());
  EXPECT_TRUE(saver.MaybeSave(m, 6100).value());
  auto snap = store_->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->version, 2u);
  EXPECT_EQ(snap->nodes.size(), 3u);

  // Removed: out of the ring, still a member (its state must keep spreading).
  three.state = gp::MemberState::kRemoved;
  three.heartbeat = {7, 2};
  m.MergeEntry(three);
  saver.FactsChanged(7000);
  EXPECT_TRUE(saver.MaybeSave(m, 8000).value());
  EXPECT_EQ(store_->Load()->nodes.size(), 2u);
  EXPECT_EQ(store_->LoadMembers()->size(), 3u);

  // Forgotten ids leave the members table.
  EXPECT_TRUE(saver.MaybeSave(m, 8001, /*force=*/true, {"n3"}).ok());
  EXPECT_EQ(store_->LoadMembers()->size(), 2u);  // n3 is written again only when saved again
}

TEST_F(MemberSaverTest, AMembershipWithoutARingKeepsTheLastRing) {
  gp::NodeEntry self = EntryFromConfig(Node(1));
  self.heartbeat = {5, 0};
  self.dc = "dc2";  // no node in dc1, which the replication needs
  Membership m(self);
  MemberSaver saver(store_.get(), *Replication::Parse("dc1:1"));
  auto r = saver.MaybeSave(m, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(*r);
  EXPECT_EQ(store_->Version().value(), 0u);
  EXPECT_EQ(store_->LoadMembers()->size(), 1u);
  // The generation in use is stored, so the next start takes a higher one.
  EXPECT_EQ(store_->NextGeneration(1).value(), 6u);
}

}  // namespace
}  // namespace ringkv::gossip
