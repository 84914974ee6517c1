// A few Gossipers over a perfect in-process network and a virtual clock: a new node becomes
// known everywhere, a silent node is convicted everywhere within 3 s, a restarted node (new
// generation) is up again at once, a forged suspicion cannot mark a live node down, a
// suspicion of a dead node is checked and spread in well under a round, the bytes a node
// sends per round do not grow with N, and bytes that are not a message change nothing.
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
  // Delivers `q` and everything it causes (replies, probes, rumours), instantly.
  void Deliver(std::deque<Outgoing> q) {
    int budget = 100000;
    while (!q.empty() && budget-- > 0) {
      Outgoing o = std::move(q.front());
      q.pop_front();
      auto it = nodes.find(o.to);
      if (it == nodes.end() || !alive[o.to]) continue;
      auto r = it->second->Receive(o.bytes, now);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (*r) q.push_back(std::move(**r));
      for (auto& m : it->second->TakeOutgoing()) q.push_back(std::move(m));
    }
  }
  // Every live node runs a round at `now`, then time advances by 100 ms steps to the next
  // round, evaluating detectors (whose probes are delivered at once).
  void Second() {
    std::deque<Outgoing> q;
    for (auto& [id, g] : nodes) {
      if (!alive[id]) continue;
      for (auto& o : g->Round(now, now)) q.push_back(std::move(o));
    }
    Deliver(std::move(q));
    for (int step = 0; step < 10; ++step) Step();
  }
  void Step() {
    now += 100;
    std::deque<Outgoing> q;
    for (auto& [id, g] : nodes) {
      if (!alive[id]) continue;
      g->Evaluate(now);
      for (auto& o : g->TakeOutgoing()) q.push_back(std::move(o));
    }
    Deliver(std::move(q));
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
  // Its monitors suspect it ~1.5 s after its last answer, convict it 0.4 s later when their
  // probes go unanswered; everyone else checks the rumour the same way (figures:
  // ringkv-gossip-sim). Before the probing detector this took ~3.5-4 s.
  EXPECT_LE(c.now - died, 3000);

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

TEST(Gossiper, HeartbeatAgeIsKnownForEveryMemberNotOnlyTheWatchedOnes) {
  Cluster c;
  for (int i = 0; i < 12; ++i) c.Add("n" + std::to_string(10 + i), 1, {"n10"});
  for (int i = 0; i < 20; ++i) c.Second();
  Gossiper& g = *c.nodes["n10"];
  EXPECT_EQ(g.HeartbeatAgeMs("n10", c.now), 0);
  EXPECT_EQ(g.HeartbeatAgeMs("nobody", c.now), -1);
  int unwatched = 0;
  for (int i = 11; i < 22; ++i) {
    std::string id = "n" + std::to_string(i);
    if (!g.detector().IsWatched(id)) ++unwatched;
    int64_t age = g.HeartbeatAgeMs(id, c.now);
    EXPECT_GE(age, 0) << id;
    EXPECT_LE(age, 5000) << id;  // heartbeats keep arriving, relayed or direct
  }
  EXPECT_GE(unwatched, 5);  // the detector watches only its 3 subjects
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

// A message carrying a suspicion of a live node (forged, or a false alarm): every receiver
// probes the node itself, the node answers, nobody convicts it; the node refutes.
TEST(Gossiper, AForgedSuspicionCannotMarkALiveNodeDown) {
  Cluster c;
  for (int i = 0; i < 8; ++i) c.Add("n" + std::to_string(i), 1, {"n0"});
  for (int i = 0; i < 15; ++i) c.Second();
  ASSERT_TRUE(c.AllKnow("n7"));
  gp::Message forged;
  forged.kind = gp::Kind::kSyn;
  forged.from = "n1";  // claims to be n1
  forged.view_hash = 1;
  forged.has_sparse = true;
  forged.suspects.push_back({"n5", {1, 1u << 30}});  // and a heartbeat n5 never had
  std::deque<Outgoing> q;
  for (int i = 0; i < 8; ++i) {
    if (i != 5) q.push_back({"n" + std::to_string(i), gp::Encode(forged)});
  }
  c.Deliver(std::move(q));
  uint64_t probes = 0;
  for (int step = 0; step < 50; ++step) {
    if (step % 10 == 0) c.Second(); else c.Step();
    ASSERT_TRUE(c.AllJudge("n5", true)) << step;
  }
  for (auto& [id, g] : c.nodes) probes += g->counters().probes;
  EXPECT_GE(probes, 7u);  // each receiver checked for itself
  EXPECT_GE(c.nodes["n5"]->counters().refutations, 1u);
}

// A suspicion of a node that is really gone: each receiver's own probes go unanswered, so it
// convicts within verify_ms (0.4 s), long before its phi would have (~1.5 s + 0.4 s).
TEST(Gossiper, ASuspicionOfADeadNodeIsCheckedAndSpreadWithinARound) {
  Cluster c;
  for (int i = 0; i < 8; ++i) c.Add("n" + std::to_string(i), 1, {"n0"});
  for (int i = 0; i < 15; ++i) c.Second();
  c.alive["n5"] = false;
  gp::Message m;
  m.kind = gp::Kind::kSyn;
  m.from = "n1";
  m.view_hash = 1;
  m.has_sparse = true;
  m.suspects.push_back({"n5", *c.nodes["n1"]->membership().HeartbeatOf("n5")});
  c.Deliver({{"n2", gp::Encode(m)}});
  int64_t t0 = c.now;
  while (!c.AllJudge("n5", false)) {
    ASSERT_LT(c.now - t0, 1000);
    c.Step();
  }
  EXPECT_GE(c.now - t0, 400);  // nobody convicted before its own probes had time to fail
}

// With views agreeing, what a node sends per round is the same at 20 and at 300 members (a
// bounded window of heartbeats); with every heartbeat in each SYN it grew ~15-fold.
TEST(Gossiper, BytesPerRoundDoNotGrowWithTheClusterSize) {
  auto bytes_per_round = [](int n, size_t sparse) {
    Cluster c;
    std::vector<std::shared_ptr<const Facts>> facts;
    for (int i = 0; i < n; ++i) {
      c.Add("n" + std::to_string(1000 + i), 1, {"n1000"});
      GossiperOptions o;
      o.membership.sparse_heartbeats = sparse;
      o.seeds = {"n1000"};
      std::string id = "n" + std::to_string(1000 + i);
      c.nodes[id] = std::make_unique<Gossiper>(Node(id), o, i + 1);
      facts.push_back(MakeFacts(Node(id)));
    }
    for (auto& [id, g] : c.nodes) {  // every table restored with every node
      for (auto& f : facts) {
        if (f->entry.id != id) g->membership().MergeFacts(f, 1);
      }
    }
    for (int i = 0; i < 12; ++i) c.Second();
    uint64_t before = 0, after = 0;
    for (auto& [id, g] : c.nodes) before += g->counters().sent_bytes;
    for (int i = 0; i < 10; ++i) c.Second();
    for (auto& [id, g] : c.nodes) after += g->counters().sent_bytes;
    return double(after - before) / n / 10;
  };
  double small = bytes_per_round(20, 4), large = bytes_per_round(300, 4);
  EXPECT_LT(large, small * 1.3) << small << " " << large;
  EXPECT_GT(bytes_per_round(300, 0), large * 3);  // every heartbeat: grows with N
}

}  // namespace
}  // namespace ringkv::gossip
