// A few Gossipers over a perfect in-process network and a virtual clock: a new node becomes
// known everywhere, a silent node is convicted everywhere within ~3 s, a restarted node (new
// generation) is up again at once, and bytes that are not a message change nothing.
#include "gossip-agent/gossiper.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>

namespace ringkv::gossip {
namespace {

gp::NodeEntry Node(const std::string& id, uint64_t gen = 1) {
  gp::NodeEntry e;
  e.id = id;
  e.gossip_endpoint = "sim://" + id;
  e.vnodes = 8;
  e.heartbeat = {gen, 1};
  return e;
}

struct Cluster {
  std::map<std::string, std::unique_ptr<Gossiper>> nodes;
  std::map<std::string, bool> alive;
  int64_t now = 0;

  void Add(const std::string& id, uint64_t gen, const std::vector<std::string>& seeds) {
    GossiperOptions o;
    o.seeds = seeds;
    nodes[id] = std::make_unique<Gossiper>(Node(id, gen), o, std::hash<std::string>{}(id) + gen);
    alive[id] = true;
  }
  // Every live node runs a round at `now` (instant delivery), then time advances by 100 ms
  // steps to the next round, evaluating detectors.
  void Second() {
    std::deque<Outgoing> q;
    for (auto& [id, g] : nodes) {
      if (!alive[id]) continue;
      for (auto& o : g->Round(now, now)) q.push_back(std::move(o));
    }
    int budget = 10000;
    while (!q.empty() && budget-- > 0) {
      Outgoing o = std::move(q.front());
      q.pop_front();
      auto it = nodes.find(o.to);
      if (it == nodes.end() || !alive[o.to]) continue;
      auto r = it->second->Receive(o.bytes, now);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (*r) q.push_back(std::move(**r));
    }
    for (int step = 0; step < 10; ++step) {
      now += 100;
      for (auto& [id, g] : nodes) {
        if (alive[id]) g->Evaluate(now);
      }
    }
  }
  bool AllKnow(const std::string& id) {
    for (auto& [n, g] : nodes) {
      if (alive[n] && !g->membership().Get(id)) return false;
    }
    return true;
  }
  bool AllJudge(const std::string& id, bool up) {
    for (auto& [n, g] : nodes) {
      if (alive[n] && n != id && g->IsUp(id) != up) return false;
    }
    return true;
  }
};

TEST(Gossiper, JoinConvictionAndReturn) {
  Cluster c;
  for (int i = 0; i < 8; ++i) c.Add("n" + std::to_string(i), 1, {"n0"});
  int seconds = 0;
  while (!c.AllKnow("n7") || !c.AllKnow("n3")) {
    ASSERT_LT(++seconds, 20);
    c.Second();
  }
  for (int i = 0; i < 10; ++i) c.Second();  // detectors learn the rhythm
  EXPECT_TRUE(c.AllJudge("n5", true));

  c.alive["n5"] = false;
  int64_t died = c.now;
  while (!c.AllJudge("n5", false)) {
    ASSERT_LT(c.now - died, 10000);
    c.Second();
  }
  EXPECT_LE(c.now - died, 6000);  // figures: ringkv-gossip-sim

  // n5 restarts with a higher generation: it is taken at once, everywhere, as up.
  c.Add("n5", 2, {"n0"});
  int64_t back = c.now;
  while (!c.AllJudge("n5", true)) {
    ASSERT_LT(c.now - back, 10000);
    c.Second();
  }
  EXPECT_LE(c.now - back, 3000);
  EXPECT_EQ(c.nodes["n1"]->membership().HeartbeatOf("n5")->generation, 2u);
}

TEST(Gossiper, GarbageChangesNothing) {
  Cluster c;
  c.Add("a", 1, {"b"});
  c.Add("b", 1, {"a"});
  c.Second();
  Gossiper& a = *c.nodes["a"];
  uint64_t hash = a.membership().ViewHash();
  for (std::string_view junk : {std::string_view("x"), std::string_view("\x81\xa1t\xa3syn", 7)}) {
    EXPECT_FALSE(a.Receive(junk, c.now).ok());
  }
  EXPECT_EQ(a.membership().ViewHash(), hash);
  EXPECT_EQ(a.counters().rejected_messages, 2u);
}

}  // namespace
}  // namespace ringkv::gossip
