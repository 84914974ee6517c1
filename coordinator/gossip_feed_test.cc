// GossipFeed's decisions: which nodes' agents a view makes usable, when the ring changes, when a
// restarted storage agent ends a local suspicion, and which messages are refused.
#include "coordinator/gossip_feed.h"

#include <gtest/gtest.h>

namespace ringkv::coordinator {
namespace {

namespace gp = gossip_protocol;

gp::MemberView Member(const std::string& id, bool up = true) {
  gp::MemberView m;
  m.entry.id = id;
  m.entry.client_endpoint = "tcp://127.0.0.1:1";
  m.entry.storage_endpoint = "tcp://127.0.0.1:2" + id;
  m.entry.gossip_endpoint = "tcp://127.0.0.1:3" + id;
  m.entry.vnodes = 8;
  m.entry.heartbeat = {1, 1};
  m.entry.storage = {true, 100};
  m.entry.coordinator = {true, 200};
  m.entry.storage_direct_port = 4000;
  m.up = up;
  return m;
}

gp::ViewPush View(uint64_t version, std::vector<gp::MemberView> members) {
  gp::ViewPush v;
  v.self = "n1";
  v.view_version = version;
  v.members = std::move(members);
  return v;
}

const NodeVerdict& Of(const ViewChange& c, const std::string& id) {
  for (const NodeVerdict& v : c.nodes) {
    if (v.id == id) return v;
  }
  static const NodeVerdict none;
  ADD_FAILURE() << "no verdict for " << id;
  return none;
}

TEST(GossipFeedTest, NothingIsDecidedBeforeTheFirstView) {
  GossipFeed feed("n1");
  EXPECT_FALSE(feed.have_view());
  EXPECT_EQ(feed.view_age_ms(1000), -1);
  EXPECT_TRUE(feed.WatchDue(0));  // the first watch goes at once
  feed.WatchSent(100);
  EXPECT_FALSE(feed.WatchDue(100 + GossipFeed::kWatchIntervalMs - 1));
  EXPECT_TRUE(feed.WatchDue(100 + GossipFeed::kWatchIntervalMs));
}

TEST(GossipFeedTest, FirstViewGivesTheRingAndEveryNodesVerdict) {
  GossipFeed feed("n1");
  auto c = feed.OnView(View(1, {Member("n1"), Member("n2"), Member("n3")}), 1000);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->changed);
  ASSERT_TRUE(c->ring_nodes.has_value());
  ASSERT_EQ(c->ring_nodes->size(), 3u);
  EXPECT_EQ((*c->ring_nodes)[1].id, "n2");
  EXPECT_EQ((*c->ring_nodes)[1].storage_endpoint, "tcp://127.0.0.1:2n2");
  EXPECT_EQ((*c->ring_nodes)[1].vnodes, 8u);
  ASSERT_EQ(c->nodes.size(), 3u);
  for (const NodeVerdict& v : c->nodes) {
    EXPECT_TRUE(v.storage_usable) << v.id;
    EXPECT_TRUE(v.gossip_usable) << v.id;
    EXPECT_EQ(v.storage_direct_port, 4000u);
    EXPECT_FALSE(v.new_incarnation);
  }
  EXPECT_TRUE(feed.have_view());
  EXPECT_EQ(feed.view_age_ms(1500), 500);
}

TEST(GossipFeedTest, ANodeDownInTheViewIsUsedForNothing) {
  GossipFeed feed("n1");
  ASSERT_TRUE(feed.OnView(View(1, {Member("n1"), Member("n2"), Member("n3")}), 0).ok());
  auto c = feed.OnView(View(2, {Member("n1"), Member("n2"), Member("n3", /*up=*/false)}), 10);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->changed);
  EXPECT_FALSE(c->ring_nodes.has_value()) << "up/down is no ring change";
  EXPECT_FALSE(Of(*c, "n3").storage_usable);
  EXPECT_FALSE(Of(*c, "n3").gossip_usable);
  EXPECT_TRUE(Of(*c, "n2").storage_usable);
  // Up again: used again.
  c = feed.OnView(View(3, {Member("n1"), Member("n2"), Member("n3")}), 20);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(Of(*c, "n3").storage_usable);
  EXPECT_TRUE(Of(*c, "n3").gossip_usable);
}

TEST(GossipFeedTest, AStorageAgentDownLeavesItsGossipAgentUsable) {
  GossipFeed feed("n1");
  gp::MemberView n2 = Member("n2");
  n2.entry.storage.up = false;
  auto c = feed.OnView(View(1, {Member("n1"), n2}), 0);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(Of(*c, "n2").storage_usable);
  EXPECT_TRUE(Of(*c, "n2").gossip_usable);
}

TEST(GossipFeedTest, AStorageAgentNotCheckedYetIsNotJudgedDown) {
  // Incarnation 0 and not up: its gossip agent has had no answer from it yet (it started first).
  // Unknown is not down, or a cluster starting up would refuse every write for a round or two.
  GossipFeed feed("n1");
  gp::MemberView n2 = Member("n2");
  n2.entry.storage = {false, 0};
  auto c = feed.OnView(View(1, {Member("n1"), n2}), 0);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(Of(*c, "n2").storage_usable);
  // Never answered past the gossip agent's first health timeout: down.
  n2.entry.storage = {false, gp::kIncarnationNeverAnswered};
  c = feed.OnView(View(2, {Member("n1"), n2}), 5);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(Of(*c, "n2").storage_usable);
  // Once it answered, a later silence is down.
  n2.entry.storage = {false, 7};
  c = feed.OnView(View(3, {Member("n1"), n2}), 10);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(Of(*c, "n2").storage_usable);
}

TEST(GossipFeedTest, ARemovedNodeLeavesTheRing) {
  GossipFeed feed("n1");
  ASSERT_TRUE(feed.OnView(View(1, {Member("n1"), Member("n2"), Member("n3")}), 0).ok());
  gp::MemberView n3 = Member("n3");
  n3.entry.state = gp::MemberState::kRemoved;
  auto c = feed.OnView(View(2, {Member("n1"), Member("n2"), n3}), 0);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->ring_nodes.has_value());
  ASSERT_EQ(c->ring_nodes->size(), 2u);
  EXPECT_EQ((*c->ring_nodes)[1].id, "n2");
  EXPECT_FALSE(Of(*c, "n3").storage_usable);
  EXPECT_FALSE(Of(*c, "n3").gossip_usable);
}

TEST(GossipFeedTest, StatesTokensAndEndpointsChangeTheRing) {
  GossipFeed feed("n1");
  ASSERT_TRUE(feed.OnView(View(1, {Member("n1"), Member("n2")}), 0).ok());
  gp::MemberView n2 = Member("n2");
  n2.entry.state = gp::MemberState::kLeaving;
  auto c = feed.OnView(View(2, {Member("n1"), n2}), 0);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->ring_nodes.has_value());
  EXPECT_EQ((*c->ring_nodes)[1].state, NodeState::kLeaving);

  n2.entry.tokens = {1, 2, 3};
  c = feed.OnView(View(3, {Member("n1"), n2}), 0);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->ring_nodes.has_value());
  EXPECT_EQ((*c->ring_nodes)[1].tokens, (std::vector<Token>{1, 2, 3}));

  n2.entry.storage_endpoint = "tcp://127.0.0.1:9999";
  c = feed.OnView(View(4, {Member("n1"), n2}), 0);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->ring_nodes.has_value());
  EXPECT_EQ((*c->ring_nodes)[1].storage_endpoint, "tcp://127.0.0.1:9999");

  // A new node joins the ring.
  c = feed.OnView(View(5, {Member("n1"), n2, Member("n3")}), 0);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->ring_nodes.has_value());
  EXPECT_EQ(c->ring_nodes->size(), 3u);
}

TEST(GossipFeedTest, HeartbeatsAloneChangeNothing) {
  GossipFeed feed("n1");
  ASSERT_TRUE(feed.OnView(View(1, {Member("n1"), Member("n2")}), 0).ok());
  gp::MemberView n2 = Member("n2");
  n2.entry.heartbeat.version = 99;
  n2.phi = 1.5;
  n2.heartbeat_age_ms = 700;
  auto c = feed.OnView(View(2, {Member("n1"), n2}), 50);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->changed);
  EXPECT_FALSE(c->ring_nodes.has_value());
  EXPECT_TRUE(c->nodes.empty());
  // ...but the stored view (what `status` shows) is the newest.
  EXPECT_EQ(feed.view().members[1].heartbeat_age_ms, 700);
  EXPECT_EQ(feed.view().view_version, 2u);
  EXPECT_EQ(feed.views_received(), 2u);
}

TEST(GossipFeedTest, ANewStorageIncarnationIsFlagged) {
  GossipFeed feed("n1");
  ASSERT_TRUE(feed.OnView(View(1, {Member("n1"), Member("n2")}), 0).ok());
  gp::MemberView n2 = Member("n2");
  n2.entry.storage.incarnation = 101;
  n2.entry.storage_direct_port = 4001;  // restarted on another direct port
  auto c = feed.OnView(View(2, {Member("n1"), n2}), 0);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(Of(*c, "n2").new_incarnation);
  EXPECT_EQ(Of(*c, "n2").storage_direct_port, 4001u);
  EXPECT_FALSE(Of(*c, "n1").new_incarnation);
  EXPECT_FALSE(c->ring_nodes.has_value());
}

TEST(GossipFeedTest, AViewFromAnotherNodeOrGarbageIsRefusedAndTheLastViewStays) {
  GossipFeed feed("n1");
  ASSERT_TRUE(feed.OnView(View(1, {Member("n1"), Member("n2")}), 0).ok());
  gp::ViewPush other = View(2, {Member("n1")});
  other.self = "n2";
  EXPECT_FALSE(feed.OnView(other, 0).ok());
  EXPECT_FALSE(feed.OnMessage("garbage", 0).ok());
  EXPECT_FALSE(feed.OnMessage(gp::EncodeView(other, 1).substr(0, 10), 0).ok());
  // An agent that does not know `watch` answers unknown_op: no view.
  EXPECT_FALSE(feed.OnMessage("\x83\xa1v\x01\xa2ok\xc2\xa3rid\x01", 0).ok());
  EXPECT_EQ(feed.view().view_version, 1u);
  EXPECT_EQ(feed.view().members.size(), 2u);
}

TEST(GossipFeedTest, DecodesWhatTheGossipAgentEncodes) {
  GossipFeed feed("n1");
  gp::MemberView n2 = Member("n2", /*up=*/false);
  auto c = feed.OnMessage(gp::EncodeView(View(7, {Member("n1"), n2}), 3), 0);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(Of(*c, "n2").storage_usable);
  EXPECT_TRUE(Of(*c, "n1").storage_usable);
  EXPECT_EQ(feed.view().view_version, 7u);
}

}  // namespace
}  // namespace ringkv::coordinator
