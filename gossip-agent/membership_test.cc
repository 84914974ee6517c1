// The merge rules and the exchange: idempotent merges, a higher generation replacing the old
// incarnation, two tables that disagree converging through SYN/ACK/ACK2 (bytes encoded and
// decoded on the way), agreeing tables exchanging only hash and heartbeats, and claims about a
// node that only the node itself may make.
#include "gossip-agent/membership.h"

#include <gtest/gtest.h>

namespace ringkv::gossip {
namespace {

gp::NodeEntry Node(const std::string& id, uint64_t gen = 1, uint64_t ver = 1) {
  gp::NodeEntry e;
  e.id = id;
  e.gossip_endpoint = "tcp://127.0.0.1:7" + id;
  e.vnodes = 8;
  e.heartbeat = {gen, ver};
  e.storage = {true, 1};
  e.coordinator = {true, 1};
  return e;
}

gp::Message Wire(const gp::Message& m) {
  auto d = gp::Decode(gp::Encode(m));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : gp::Message{};
}

// One push-pull exchange started by `a`; returns the number of messages sent.
int Exchange(Membership& a, Membership& b) {
  std::optional<gp::Message> msg = a.MakeSyn();
  Membership* to = &b;
  int sent = 0;
  while (msg && sent < 8) {
    ++sent;
    msg = to->Handle(Wire(*msg));
    to = to == &a ? &b : &a;
  }
  return sent;
}

bool SameView(const Membership& a, const Membership& b) {
  return a.ViewHash() == b.ViewHash() && a.Digests() == b.Digests();
}

TEST(Membership, MergeRules) {
  Membership m(Node("a"));
  EXPECT_EQ(m.MergeEntry(Node("b", 1, 5)), Membership::Merge::kNew);
  EXPECT_EQ(m.MergeEntry(Node("b", 1, 5)), Membership::Merge::kIgnored);  // idempotent
  EXPECT_EQ(m.MergeEntry(Node("b", 1, 4)), Membership::Merge::kIgnored);  // older
  EXPECT_EQ(m.MergeEntry(Node("b", 1, 9)), Membership::Merge::kHeartbeat);
  EXPECT_EQ(m.HeartbeatOf("b")->version, 9u);
  gp::NodeEntry leaving = Node("b", 1, 10);
  leaving.state = gp::MemberState::kLeaving;
  EXPECT_EQ(m.MergeEntry(leaving), Membership::Merge::kFacts);
  EXPECT_EQ(m.Get("b")->state, gp::MemberState::kLeaving);
  // An older entry, though "newer looking" in its facts, never wins.
  gp::NodeEntry stale = Node("b", 1, 3);
  EXPECT_EQ(m.MergeEntry(stale), Membership::Merge::kIgnored);
  EXPECT_EQ(m.Get("b")->state, gp::MemberState::kLeaving);
  // "down" is never a fact in the table.
  gp::NodeEntry down = Node("b", 1, 99);
  down.state = gp::MemberState::kDown;
  EXPECT_EQ(m.MergeEntry(down), Membership::Merge::kIgnored);
  EXPECT_EQ(m.Ids(), (std::vector<std::string>{"a", "b"}));
}

TEST(Membership, TheTableIsBoundedAgainstAFloodOfNewIds) {
  // Each inserting merge is O(size) (a sorted vector), so the flood is kept near the bound.
  Membership m(Node("a"));
  for (size_t i = 1; i < gp::kMaxMembers; ++i) {
    ASSERT_EQ(m.MergeEntry(Node("x" + std::to_string(i))), Membership::Merge::kNew) << i;
  }
  ASSERT_EQ(m.size(), gp::kMaxMembers);
  EXPECT_EQ(m.MergeEntry(Node("forged")), Membership::Merge::kIgnored);
  EXPECT_EQ(m.size(), gp::kMaxMembers);
  EXPECT_EQ(m.counters().members_refused, 1u);
  EXPECT_FALSE(m.Get("forged").has_value());
  // Known members still merge.
  EXPECT_EQ(m.MergeEntry(Node("x1", 1, 9)), Membership::Merge::kHeartbeat);
}

TEST(Membership, HigherGenerationReplacesTheOldIncarnation) {
  Membership m(Node("a"));
  gp::NodeEntry old = Node("b", 5, 1000);
  old.storage_endpoint = "tcp://old";
  m.MergeEntry(old);
  gp::NodeEntry fresh = Node("b", 6, 1);  // restarted: version starts over
  fresh.storage_endpoint = "tcp://new";
  bool new_gen = false;
  m.set_on_heartbeat([&](const std::string&, gp::Heartbeat, bool g) { new_gen = g; });
  EXPECT_EQ(m.MergeEntry(fresh), Membership::Merge::kFacts);
  EXPECT_TRUE(new_gen);
  EXPECT_EQ(m.Get("b")->storage_endpoint, "tcp://new");
  EXPECT_EQ(*m.HeartbeatOf("b"), (gp::Heartbeat{6, 1}));
  // The old incarnation's entries, whatever their version, are now ignored.
  EXPECT_EQ(m.MergeEntry(Node("b", 5, 5000)), Membership::Merge::kIgnored);

  // And it spreads: a third table that still holds the old incarnation takes the new one.
  Membership c(Node("c"));
  c.MergeEntry(old);
  Exchange(m, c);
  EXPECT_EQ(*c.HeartbeatOf("b"), (gp::Heartbeat{6, 1}));
  EXPECT_EQ(c.Get("b")->storage_endpoint, "tcp://new");
}

TEST(Membership, TwoTablesThatDisagreeConverge) {
  // Every heartbeat by position (sparse_heartbeats 0), as before the sparse window.
  MembershipOptions all;
  all.sparse_heartbeats = 0;
  Membership a(Node("a"), all), b(Node("b"), all);
  a.MergeEntry(Node("x", 1, 7));
  b.MergeEntry(Node("x", 1, 3));
  gp::NodeEntry y = Node("y", 2, 2);
  y.state = gp::MemberState::kJoining;
  b.MergeEntry(y);
  a.MergeEntry(Node("z", 1, 1));
  EXPECT_FALSE(SameView(a, b));
  // SYN (hash differs) -> ACK (bucket hashes) -> ACK (digests of the buckets that differ) ->
  // ACK (entries + requests) -> ACK2 (entries).
  EXPECT_EQ(Exchange(a, b), 5);
  EXPECT_EQ(a.ViewHash(), b.ViewHash());
  // x differed only in its version (not a fact): that travels with the heartbeats of the next
  // exchange, now that the hashes agree.
  EXPECT_EQ(Exchange(b, a), 2);
  EXPECT_TRUE(SameView(a, b));
  EXPECT_EQ(b.HeartbeatOf("x")->version, 7u);
  EXPECT_EQ(a.Get("y")->state, gp::MemberState::kJoining);
  EXPECT_EQ(a.size(), 5u);
  // Now they agree: two compact messages, no digest nor entry.
  a.Beat();
  gp::Message syn = a.MakeSyn();
  EXPECT_FALSE(syn.has_digests);
  auto ack = b.Handle(Wire(syn));
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->has_heartbeats);
  EXPECT_TRUE(ack->entries.empty());
  EXPECT_FALSE(ack->has_digests);
  EXPECT_FALSE(a.Handle(Wire(*ack)));
  EXPECT_EQ(b.HeartbeatOf("a"), a.HeartbeatOf("a"));
  EXPECT_EQ(b.counters().hash_matched, 2u);  // the ACK of the second exchange, this SYN
}

TEST(Membership, ConvergesInSmallStepsWhenTheBudgetIsTight) {
  MembershipOptions tight;
  tight.entry_budget_bytes = 400;  // about two entries per message
  Membership a(Node("a"), tight), b(Node("b"), tight);
  for (int i = 0; i < 20; ++i) a.MergeEntry(Node("n" + std::to_string(i)));
  int exchanges = 0;
  while (!SameView(a, b) && exchanges < 50) {
    Exchange(exchanges % 2 ? a : b, exchanges % 2 ? b : a);
    ++exchanges;
  }
  EXPECT_TRUE(SameView(a, b));
  EXPECT_GT(exchanges, 3);
}

TEST(Membership, OnlyTheNodeRaisesItsOwnHeartbeat) {
  Membership a(Node("a", 3, 10));
  // A claim about `a` from elsewhere that is newer than `a` itself (a forgotten incarnation or
  // a forgery saying it left) is overtaken: `a` jumps past it with its real facts.
  gp::NodeEntry forged = Node("a", 3, 50);
  forged.state = gp::MemberState::kRemoved;
  EXPECT_EQ(a.MergeEntry(forged), Membership::Merge::kSelfRefuted);
  EXPECT_EQ(a.Self().state, gp::MemberState::kNormal);
  EXPECT_GT(a.Self().heartbeat.version, 50u);
  forged.heartbeat = {7, 1};
  a.MergeEntry(forged);
  EXPECT_EQ(a.Self().heartbeat.generation, 7u);
  EXPECT_EQ(a.Self().state, gp::MemberState::kNormal);
  EXPECT_EQ(a.counters().self_refuted, 2u);
  // And whoever held the forgery takes the refutation.
  Membership b(Node("b"));
  b.MergeEntry(forged);
  Exchange(a, b);
  EXPECT_EQ(b.Get("a")->state, gp::MemberState::kNormal);
  EXPECT_EQ(b.HeartbeatOf("a"), a.HeartbeatOf("a"));
}

TEST(Membership, OwnChangesRaiseTheVersionAndNotify) {
  Membership a(Node("a"));
  std::vector<std::string> changes;
  a.set_on_change([&](const gp::NodeEntry& e) { changes.push_back(e.id + ":" + gp::MemberStateName(e.state)); });
  uint64_t hash = a.ViewHash();
  uint64_t vv = a.view_version();
  a.Beat();
  EXPECT_EQ(a.ViewHash(), hash);  // heartbeats are not facts
  EXPECT_EQ(a.view_version(), vv);
  a.SetSelfState(gp::MemberState::kLeaving);
  EXPECT_NE(a.ViewHash(), hash);
  EXPECT_EQ(a.view_version(), vv + 1);
  a.SetSelfHealth({false, 1}, {true, 1});
  EXPECT_FALSE(a.Self().storage.up);
  a.SetSelfHealth({false, 1}, {true, 1});  // no change, no version
  a.MergeEntry(Node("b"));
  EXPECT_EQ(changes, (std::vector<std::string>{"a:leaving", "a:leaving", "b:normal"}));
  EXPECT_EQ(a.Self().heartbeat.version, 4u);  // 1, beat, state, health
}

TEST(Membership, MismatchedHeartbeatVectorsAreNotApplied) {
  Membership a(Node("a")), b(Node("b"));
  a.MergeEntry(Node("x", 1, 1));
  b.MergeEntry(Node("y", 1, 1));
  gp::Message syn = a.MakeSyn();
  syn.heartbeats.assign(syn.heartbeats.size(), 1000);
  auto ack = b.Handle(Wire(syn));
  ASSERT_TRUE(ack);
  // Different views: bucket hashes (then digests of the differing buckets), never heartbeats
  // by position.
  EXPECT_EQ(ack->bucket_hashes.size(), gp::kBuckets);
  EXPECT_FALSE(ack->has_heartbeats);
  EXPECT_EQ(b.HeartbeatOf("y")->version, 1u);
  EXPECT_EQ(b.counters().hash_mismatched, 1u);
}

TEST(Membership, SparseHeartbeatsAreBoundedAndRotateOverEveryMember) {
  // 200 members on both sides, views equal: a SYN carries the sender's heartbeat and 4 others
  // (not 200), and within 200 / 4 exchanges every member's newer version has travelled.
  Membership a(Node("a")), b(Node("b"));
  for (int i = 0; i < 198; ++i) {
    std::string id = "m" + std::to_string(1000 + i);
    a.MergeEntry(Node(id, 1, 50));
    b.MergeEntry(Node(id, 1, 1));
  }
  a.MergeEntry(Node("b", 1, 1));
  b.MergeEntry(Node("a", 1, 1));
  ASSERT_EQ(a.ViewHash(), b.ViewHash());  // same facts, older versions on b
  a.Beat();
  gp::Message syn = a.MakeSyn();
  EXPECT_TRUE(syn.has_sparse);
  EXPECT_FALSE(syn.has_heartbeats);
  EXPECT_EQ(syn.sparse.size(), 5u);
  size_t small = gp::Encode(syn).size();
  EXPECT_LT(small, 120u);  // ~4 bytes per heartbeat, against 200+ for the full vector
  MembershipOptions all;
  all.sparse_heartbeats = 0;
  Membership full(Node("a"), all);
  for (int i = 0; i < 198; ++i) full.MergeEntry(Node("m" + std::to_string(1000 + i), 1, 50));
  EXPECT_GT(gp::Encode(full.MakeSyn()).size(), small + 150);
  for (int i = 0; i < 60; ++i) {
    auto ack = b.Handle(Wire(a.MakeSyn()));
    ASSERT_TRUE(ack);
    EXPECT_TRUE(ack->has_sparse);
  }
  for (int i = 0; i < 198; ++i) {
    EXPECT_EQ(b.HeartbeatOf("m" + std::to_string(1000 + i))->version, 50u) << i;
  }
  EXPECT_EQ(b.HeartbeatOf("a"), a.HeartbeatOf("a"));
}

TEST(Membership, AdvanceHeartbeatTakesOnlyTheSameGeneration) {
  Membership m(Node("a"));
  m.MergeEntry(Node("b", 2, 5));
  EXPECT_TRUE(m.AdvanceHeartbeat("b", {2, 9}));
  EXPECT_EQ(m.HeartbeatOf("b")->version, 9u);
  EXPECT_FALSE(m.AdvanceHeartbeat("b", {2, 8}));   // older
  EXPECT_FALSE(m.AdvanceHeartbeat("b", {3, 1}));   // a new incarnation needs its entry
  EXPECT_EQ(m.HeartbeatOf("b")->generation, 2u);
  EXPECT_FALSE(m.AdvanceHeartbeat("nobody", {1, 1}));
  // A claim about this node above its own heartbeat is refuted.
  uint64_t before = m.HeartbeatOf("a")->version;
  m.AdvanceHeartbeat("a", {1, before + 10});
  EXPECT_GT(m.HeartbeatOf("a")->version, before + 10);
}

}  // namespace
}  // namespace ringkv::gossip
