// Peer choice: distinct live targets, never self, down and removed peers skipped, a down peer
// and a seed now and then, and a seed always when nobody else is live.
#include "gossip-agent/gossip_round.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace ringkv::gossip {
namespace {

struct Table {
  std::vector<std::string> ids;
  std::vector<PeerStatus> status;
  PeerView View() const {
    PeerView v;
    v.size = ids.size();
    v.id = [this](size_t i) -> const std::string& { return ids[i]; };
    v.status = [this](size_t i) { return status[i]; };
    return v;
  }
};

Table MakeTable(int n, int down_every = 0) {
  Table t;
  for (int i = 0; i < n; ++i) {
    t.ids.push_back("n" + std::to_string(i));
    PeerStatus s = PeerStatus::kLive;
    if (i == 0) s = PeerStatus::kSelf;
    else if (down_every && i % down_every == 0) s = PeerStatus::kDown;
    t.status.push_back(s);
  }
  return t;
}

TEST(GossipRound, PicksDistinctLivePeersNeverSelf) {
  Table t = MakeTable(50, 5);
  std::mt19937_64 rng(1);
  std::map<std::string, int> hits;
  for (int r = 0; r < 2000; ++r) {
    auto targets = PickTargets(t.View(), {}, {}, "n0", RoundOptions{}, rng);
    ASSERT_EQ(targets.size(), 3u);
    std::set<std::string> distinct(targets.begin(), targets.end());
    EXPECT_EQ(distinct.size(), 3u);
    for (const auto& id : targets) {
      EXPECT_NE(id, "n0");
      int i = std::stoi(id.substr(1));
      EXPECT_NE(i % 5, 0) << id << " is down";
      ++hits[id];
    }
  }
  EXPECT_EQ(hits.size(), 40u);  // every live peer gets picked (49 others, 9 down)
}

TEST(GossipRound, FewLivePeersAreFoundByTheScan) {
  Table t = MakeTable(1000);
  for (size_t i = 1; i < t.status.size(); ++i) t.status[i] = PeerStatus::kRemoved;
  t.status[777] = PeerStatus::kLive;
  std::mt19937_64 rng(2);
  auto targets = PickTargets(t.View(), {}, {}, "n0", RoundOptions{}, rng);
  EXPECT_EQ(targets, (std::vector<std::string>{"n777"}));
}

TEST(GossipRound, DownPeersAndSeedsNowAndThen) {
  Table t = MakeTable(11, 5);  // n5 and n10 down, 8 live
  std::vector<std::string> down = {"n5", "n10"};
  std::vector<std::string> seeds = {"n0", "n1"};  // n0 is self: never picked
  std::mt19937_64 rng(3);
  int with_down = 0, with_seed = 0;
  const int rounds = 4000;
  for (int r = 0; r < rounds; ++r) {
    auto targets = PickTargets(t.View(), down, seeds, "n0", RoundOptions{}, rng);
    bool d = false, s = false;
    for (const auto& id : targets) {
      d = d || id == "n5" || id == "n10";
      s = s || id == "n1";
    }
    with_down += d;
    with_seed += s;
  }
  // P(down) = 2 / (8 + 1) ~ 0.22.
  EXPECT_NEAR(with_down / double(rounds), 2.0 / 9.0, 0.04);
  // n1 is live too, so it is picked as a live peer 3/8 of the time, and as a seed otherwise
  // with probability 1/10 (one other seed over 8 live + 2 down).
  EXPECT_NEAR(with_seed / double(rounds), 3.0 / 8 + 5.0 / 8 * 0.1, 0.04);
}

TEST(GossipRound, AloneAgentAlwaysTriesASeed) {
  Table t = MakeTable(1);
  std::mt19937_64 rng(4);
  auto targets = PickTargets(t.View(), {}, {"s1", "s2"}, "n0", RoundOptions{}, rng);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_TRUE(targets[0] == "s1" || targets[0] == "s2");
  EXPECT_TRUE(PickTargets(t.View(), {}, {"n0"}, "n0", RoundOptions{}, rng).empty());
}

}  // namespace
}  // namespace ringkv::gossip
