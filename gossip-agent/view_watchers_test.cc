// ViewWatchers' bookkeeping (limit, renewal, expiry, push timing) and BuildView's judgement.
#include "gossip-agent/view_watchers.h"

#include <gtest/gtest.h>

namespace ringkv::gossip {
namespace {

TEST(ViewWatchers, RenewLimitExpire) {
  ViewWatchers w;
  EXPECT_FALSE(w.PushDue(0));  // nobody watches
  EXPECT_TRUE(w.Watch({"a"}, true, 1, 0));
  EXPECT_TRUE(w.Watch({"a"}, false, 2, 500));  // renewed, not added
  ASSERT_EQ(w.watchers().size(), 1u);
  EXPECT_EQ(w.watchers()[0].rid, 2u);
  EXPECT_FALSE(w.watchers()[0].delimiter);
  for (size_t i = 1; i < kMaxWatchers; ++i) {
    EXPECT_TRUE(w.Watch({"w" + std::to_string(i)}, true, i, 1000));
  }
  EXPECT_FALSE(w.Watch({"one too many"}, true, 1, 1000));
  EXPECT_EQ(w.watchers().size(), kMaxWatchers);
  // "a" was last heard at 500: gone after the TTL, the others stay.
  w.PushDue(500 + kWatcherTtlMs + 1);
  EXPECT_EQ(w.watchers().size(), kMaxWatchers - 1);
  w.PushDue(1000 + kWatcherTtlMs + 1);
  EXPECT_TRUE(w.empty());
}

TEST(ViewWatchers, ChangesAreCoalescedAndPushesAtLeastEverySecond) {
  ViewWatchers w;
  w.Watch({"a"}, true, 1, 0);
  EXPECT_TRUE(w.PushDue(0));  // never pushed
  w.Pushed(0);
  EXPECT_FALSE(w.PushDue(50));
  w.Changed();
  EXPECT_EQ(w.NextPushMs(), kMinPushGapMs);
  EXPECT_FALSE(w.PushDue(kMinPushGapMs - 1));
  EXPECT_TRUE(w.PushDue(kMinPushGapMs));
  w.Pushed(kMinPushGapMs);
  EXPECT_FALSE(w.PushDue(kMinPushGapMs + kMaxPushGapMs - 1));
  EXPECT_EQ(w.NextPushMs(), kMinPushGapMs + kMaxPushGapMs);
  EXPECT_TRUE(w.PushDue(kMinPushGapMs + kMaxPushGapMs));
}

TEST(BuildView, JudgementPerMember) {
  gp::NodeEntry self;
  self.id = "b";
  self.vnodes = 4;
  self.heartbeat = {1, 0};
  GossiperOptions o;
  Gossiper g(self, o, 1);
  gp::NodeEntry a = self;
  a.id = "a";
  a.heartbeat = {3, 9};
  gp::NodeEntry c = a;
  c.id = "c";
  c.state = gp::MemberState::kRemoved;
  g.membership().MergeEntry(a);
  g.membership().MergeEntry(c);
  gp::ViewPush v = BuildView(g, 100, 42);
  EXPECT_EQ(v.self, "b");
  EXPECT_EQ(v.view_version, 42u);
  ASSERT_EQ(v.members.size(), 3u);
  EXPECT_EQ(v.members[0].entry.id, "a");
  EXPECT_EQ(v.members[0].entry.heartbeat, (gp::Heartbeat{3, 9}));
  EXPECT_TRUE(v.members[0].up);
  EXPECT_GE(v.members[0].heartbeat_age_ms, 0);
  EXPECT_TRUE(v.members[1].up);  // itself
  EXPECT_EQ(v.members[1].phi, 0.0);
  EXPECT_EQ(v.members[1].heartbeat_age_ms, 0);
  EXPECT_FALSE(v.members[2].up);  // removed
  // What it encodes is what a coordinator decodes.
  auto d = gp::DecodeView(gp::EncodeView(v, 5));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, v);
}

}  // namespace
}  // namespace ringkv::gossip
