// Tests of the ring: node specs, replication, token derivation and preference lists.
#include "common/ring/ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

namespace ringkv {
namespace {

NodeInfo Node(const std::string& id, const std::string& dc = "dc1",
              const std::string& rack = "rack1", uint32_t vnodes = 64) {
  NodeInfo n;
  n.id = id;
  n.dc = dc;
  n.rack = rack;
  n.vnodes = vnodes;
  return n;
}

Replication Rf(const std::string& text) {
  auto r = Replication::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

std::set<std::string> Ids(const std::vector<const NodeInfo*>& list) {
  std::set<std::string> out;
  for (const NodeInfo* n : list) out.insert(n->id);
  return out;
}

TEST(NodeState, Names) {
  for (const char* name : {"joining", "normal", "leaving", "down"}) {
    NodeState s;
    ASSERT_TRUE(ParseNodeState(name, &s));
    EXPECT_STREQ(NodeStateName(s), name);
  }
  NodeState s;
  EXPECT_FALSE(ParseNodeState("up", &s));
}

TEST(Replication, ParseSingleNumber) {
  auto r = Replication::Parse("3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->per_dc, (std::map<std::string, int>{{"dc1", 3}}));
  EXPECT_EQ(r->Total(), 3);
  auto east = Replication::Parse("2", "east");
  ASSERT_TRUE(east.ok());
  EXPECT_EQ(east->per_dc, (std::map<std::string, int>{{"east", 2}}));
}

TEST(Replication, ParsePerDc) {
  auto r = Replication::Parse("dc1:3, dc2:2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->per_dc, (std::map<std::string, int>{{"dc1", 3}, {"dc2", 2}}));
  EXPECT_EQ(r->Total(), 5);
  EXPECT_EQ(r->ToString(), "dc1:3,dc2:2");
  auto again = Replication::Parse(r->ToString());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *r);
}

TEST(Replication, ParseErrorsNameTheBadPart) {
  struct Case {
    const char* text;
    const char* needle;
  };
  for (const Case& c : {Case{"", "empty"}, Case{"0", "'0'"}, Case{"x", "'x'"},
                        Case{"-1", "'-1'"}, Case{"3.5", "'3.5'"}, Case{"dc1:3,dc1:2", "twice"},
                        Case{"dc1:3,", "part ''"}, Case{"dc1=3,dc2:1", "dc1=3"},
                        Case{"dc1:", "factor of dc1"}, Case{"d c:1", "'d c'"},
                        Case{"dc1:1000", "1000"}}) {
    auto r = Replication::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.text << " -> " << r.status().message();
  }
}

TEST(NodeSpec, ParseAllFieldsAndRoundTrip) {
  auto n = ParseNodeSpec(
      "id=n1,dc=east,rack=r2,client=tcp://127.0.0.1:7400,storage=tcp://127.0.0.1:7401,"
      "gossip=tcp://127.0.0.1:7402,vnodes=128");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->id, "n1");
  EXPECT_EQ(n->dc, "east");
  EXPECT_EQ(n->rack, "r2");
  EXPECT_EQ(n->client_endpoint, "tcp://127.0.0.1:7400");
  EXPECT_EQ(n->storage_endpoint, "tcp://127.0.0.1:7401");
  EXPECT_EQ(n->gossip_endpoint, "tcp://127.0.0.1:7402");
  EXPECT_EQ(n->vnodes, 128u);
  EXPECT_EQ(n->state, NodeState::kNormal);
  auto again = ParseNodeSpec(FormatNodeSpec(*n));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *n);

  NodeInfo down = *n;
  down.state = NodeState::kDown;
  auto d = ParseNodeSpec(FormatNodeSpec(down));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, NodeState::kDown);
}

TEST(NodeSpec, Defaults) {
  auto n = ParseNodeSpec("id=a");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->dc, "dc1");
  EXPECT_EQ(n->rack, "rack1");
  EXPECT_EQ(n->vnodes, kDefaultVnodes);
  EXPECT_TRUE(n->client_endpoint.empty());
}

TEST(NodeSpec, ErrorsNameTheBadPart) {
  struct Case {
    const char* spec;
    const char* needle;
  };
  for (const Case& c :
       {Case{"dc=dc1", "missing id"}, Case{"id=n1,colour=red", "unknown field 'colour'"},
        Case{"id=n1,vnodes=0", "vnodes '0'"}, Case{"id=n1,vnodes=abc", "vnodes 'abc'"},
        Case{"id=n1,vnodes=99999999", "vnodes"}, Case{"id=n1,,dc=x", "empty field"},
        Case{"id=n1,dc", "field 'dc' is not NAME=VALUE"}, Case{"id=n1,id=n2", "'id' given twice"},
        Case{"id=n 1", "id 'n 1'"}, Case{"id=", "id ''"},
        Case{"id=n1,client=127.0.0.1:1", "client endpoint '127.0.0.1:1'"},
        Case{"id=n1,state=up", "state 'up'"}}) {
    auto n = ParseNodeSpec(c.spec);
    ASSERT_FALSE(n.ok()) << c.spec;
    EXPECT_EQ(n.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(n.status().message().find(c.needle), std::string::npos)
        << c.spec << " -> " << n.status().message();
    EXPECT_NE(n.status().message().find(c.spec), std::string::npos) << "names the whole spec";
  }
}

TEST(Ring, TokensAreDeterministicAndDistinct) {
  auto a = Ring::TokensFor("n1", 256);
  auto b = Ring::TokensFor("n1", 256);
  auto c = Ring::TokensFor("n2", 256);
  ASSERT_EQ(a.size(), 256u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set<Token>(a.begin(), a.end()).size(), 256u);
  // The first tokens stay put when vnodes grows: a bigger host keeps its old ranges.
  auto more = Ring::TokensFor("n1", 300);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), more.begin()));
  // Pinned value: the derivation is XXH3-64("n1#0") and must never change across releases.
  EXPECT_EQ(a[0], TokenOf("n1#0"));
}

TEST(Ring, BuildErrors) {
  EXPECT_FALSE(Ring::Build({}, Rf("3")).ok());
  EXPECT_FALSE(Ring::Build({Node("a")}, Replication{}).ok());
  auto dup = Ring::Build({Node("a"), Node("a")}, Rf("3"));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("'a' appears twice"), std::string::npos);
  auto nodc = Ring::Build({Node("a")}, Rf("dc1:1,dc9:1"));
  ASSERT_FALSE(nodc.ok());
  EXPECT_NE(nodc.status().message().find("dc9"), std::string::npos);
  EXPECT_FALSE(Ring::Build({Node("a", "dc1", "rack1", 0)}, Rf("1")).ok());
  EXPECT_FALSE(Ring::Build({Node("")}, Rf("1")).ok());
  NodeInfo bad_tokens = Node("a");
  bad_tokens.tokens = {1, 2, 3};
  EXPECT_FALSE(Ring::Build({bad_tokens}, Rf("1")).ok());
}

TEST(Ring, SameRingWhateverTheConfigOrder) {
  auto r1 = Ring::Build({Node("a"), Node("b"), Node("c"), Node("d")}, Rf("3"));
  auto r2 = Ring::Build({Node("d"), Node("c"), Node("b"), Node("a")}, Rf("3"));
  ASSERT_TRUE(r1.ok() && r2.ok());
  for (int i = 0; i < 2000; ++i) {
    Token t = TokenOf("key" + std::to_string(i));
    auto p1 = r1->PreferenceList(t);
    auto p2 = r2->PreferenceList(t);
    ASSERT_EQ(p1.size(), p2.size());
    for (size_t j = 0; j < p1.size(); ++j) EXPECT_EQ(p1[j]->id, p2[j]->id);
  }
}

// Reference for a single-DC, single-rack ring: the first `count` distinct node ids met walking
// the sorted (token, id) list clockwise from `t`, computed by hand.
std::vector<std::string> ReferenceWalk(const Ring& ring, Token t, size_t count) {
  std::vector<std::pair<Token, std::string>> all;
  for (const NodeInfo& n : ring.nodes()) {
    for (Token tok : Ring::TokensFor(n.id, n.vnodes)) all.emplace_back(tok, n.id);
  }
  std::sort(all.begin(), all.end());
  size_t pos = std::lower_bound(all.begin(), all.end(), std::make_pair(t, std::string())) -
               all.begin();
  std::vector<std::string> want;
  for (size_t s = 0; s < all.size() && want.size() < count; ++s) {
    const std::string& id = all[(pos + s) % all.size()].second;
    if (std::find(want.begin(), want.end(), id) == want.end()) want.push_back(id);
  }
  return want;
}

TEST(Ring, PreferenceListIsFirstDistinctNodesClockwise) {
  auto ring = Ring::Build({Node("a"), Node("b"), Node("c"), Node("d"), Node("e")}, Rf("3"));
  ASSERT_TRUE(ring.ok());
  for (int i = 0; i < 3000; ++i) {
    Token t = TokenOf("k" + std::to_string(i));
    std::vector<std::string> want = ReferenceWalk(*ring, t, 3);
    auto got = ring->PreferenceList(t);
    ASSERT_EQ(got.size(), 3u);
    for (size_t j = 0; j < 3; ++j) EXPECT_EQ(got[j]->id, want[j]);
  }
}

TEST(Ring, WalkFromMeetsEveryNodeOnceInClockwiseOrder) {
  auto ring = Ring::Build({Node("a"), Node("b"), Node("c"), Node("d"), Node("e")}, Rf("3"));
  ASSERT_TRUE(ring.ok());
  for (int i = 0; i < 2000; ++i) {
    Token t = TokenOf("w" + std::to_string(i));
    std::vector<std::string> want = ReferenceWalk(*ring, t, 5);
    auto got = ring->WalkFrom(t);
    ASSERT_EQ(got.size(), 5u);
    for (size_t j = 0; j < 5; ++j) EXPECT_EQ(got[j]->id, want[j]);
    // With one DC and one rack the preference list is the walk's first N nodes.
    auto pref = ring->PreferenceList(t);
    for (size_t j = 0; j < pref.size(); ++j) EXPECT_EQ(pref[j], got[j]);
  }
}

TEST(Ring, WrapsAroundTheTopOfTheTokenSpace) {
  NodeInfo a = Node("a", "dc1", "rack1", 2);
  NodeInfo b = Node("b", "dc1", "rack1", 2);
  NodeInfo c = Node("c", "dc1", "rack1", 2);
  a.tokens = {100, 1000};
  b.tokens = {200, 2000};
  c.tokens = {300, 3000};
  auto ring = Ring::Build({a, b, c}, Rf("2"));
  ASSERT_TRUE(ring.ok());
  auto ids = [&](Token t) {
    std::vector<std::string> out;
    for (const NodeInfo* n : ring->PreferenceList(t)) out.push_back(n->id);
    return out;
  };
  EXPECT_EQ(ids(100), (std::vector<std::string>{"a", "b"}));  // a token owns itself
  EXPECT_EQ(ids(101), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(ids(2500), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(ids(3001), (std::vector<std::string>{"a", "b"}));  // past the last token: wrap
  EXPECT_EQ(ids(UINT64_MAX), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ids(0), (std::vector<std::string>{"a", "b"}));
}

TEST(Ring, FewerNodesThanReplicationFactor) {
  auto ring = Ring::Build({Node("a"), Node("b")}, Rf("3"));
  ASSERT_TRUE(ring.ok());
  auto p = ring->PreferenceList(TokenOf("x"));
  EXPECT_EQ(Ids(p), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(ring->N(), 3);
}

TEST(Ring, PerDataCenterCounts) {
  std::vector<NodeInfo> nodes;
  for (int i = 0; i < 5; ++i) nodes.push_back(Node("e" + std::to_string(i), "east"));
  for (int i = 0; i < 4; ++i) nodes.push_back(Node("w" + std::to_string(i), "west"));
  nodes.push_back(Node("x0", "backup"));  // a DC with no replicas
  auto ring = Ring::Build(nodes, Rf("east:3,west:2"));
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  for (int i = 0; i < 2000; ++i) {
    auto p = ring->PreferenceList(TokenOf("key" + std::to_string(i)));
    ASSERT_EQ(p.size(), 5u);
    std::map<std::string, int> per_dc;
    for (const NodeInfo* n : p) per_dc[n->dc]++;
    EXPECT_EQ(per_dc["east"], 3);
    EXPECT_EQ(per_dc["west"], 2);
    EXPECT_EQ(per_dc.count("backup"), 0u);
    EXPECT_EQ(Ids(p).size(), 5u) << "distinct nodes";
  }
}

TEST(Ring, SpreadsAcrossRacks) {
  // Rack r1 has 4 nodes, r2 and r3 one each: a plain walk would often put all three replicas
  // on r1; the rack-aware walk must use three racks for every key.
  std::vector<NodeInfo> nodes = {Node("a", "dc1", "r1"), Node("b", "dc1", "r1"),
                                 Node("c", "dc1", "r1"), Node("d", "dc1", "r1"),
                                 Node("e", "dc1", "r2"), Node("f", "dc1", "r3")};
  auto ring = Ring::Build(nodes, Rf("3"));
  ASSERT_TRUE(ring.ok());
  for (int i = 0; i < 3000; ++i) {
    auto p = ring->PreferenceList(TokenOf("key" + std::to_string(i)));
    ASSERT_EQ(p.size(), 3u);
    std::set<std::string> racks;
    for (const NodeInfo* n : p) racks.insert(n->rack);
    EXPECT_EQ(racks.size(), 3u);
  }
}

TEST(Ring, MoreReplicasThanRacksFillsFromSkippedInWalkOrder) {
  // Two racks, RF 3: one rack gets two replicas. The third replica must be the first node of
  // the already-used rack met on the walk (the earliest skipped one).
  NodeInfo a = Node("a", "dc1", "r1", 1);
  NodeInfo b = Node("b", "dc1", "r1", 1);
  NodeInfo c = Node("c", "dc1", "r1", 1);
  NodeInfo d = Node("d", "dc1", "r2", 1);
  a.tokens = {10};
  b.tokens = {20};
  c.tokens = {30};
  d.tokens = {40};
  auto ring = Ring::Build({a, b, c, d}, Rf("3"));
  ASSERT_TRUE(ring.ok());
  std::vector<std::string> got;
  for (const NodeInfo* n : ring->PreferenceList(5)) got.push_back(n->id);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "d", "b"}));
  got.clear();
  for (const NodeInfo* n : ring->PreferenceList(35)) got.push_back(n->id);
  EXPECT_EQ(got, (std::vector<std::string>{"d", "a", "b"}));
}

TEST(Ring, RacksAndDataCentersTogether) {
  std::vector<NodeInfo> nodes;
  for (int i = 0; i < 6; ++i) {
    nodes.push_back(Node("a" + std::to_string(i), "dc1", "r" + std::to_string(i % 3)));
  }
  for (int i = 0; i < 4; ++i) {
    nodes.push_back(Node("b" + std::to_string(i), "dc2", "r" + std::to_string(i % 2)));
  }
  auto ring = Ring::Build(nodes, Rf("dc1:3,dc2:2"));
  ASSERT_TRUE(ring.ok());
  for (int i = 0; i < 2000; ++i) {
    auto p = ring->PreferenceList(TokenOf("k" + std::to_string(i)));
    ASSERT_EQ(p.size(), 5u);
    std::map<std::string, std::set<std::string>> racks;
    for (const NodeInfo* n : p) racks[n->dc].insert(n->rack);
    EXPECT_EQ(racks["dc1"].size(), 3u);
    EXPECT_EQ(racks["dc2"].size(), 2u);
  }
}

TEST(Ring, DownNodesStillAppear) {
  NodeInfo down = Node("b");
  down.state = NodeState::kDown;
  auto ring = Ring::Build({Node("a"), down, Node("c")}, Rf("3"));
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(Ids(ring->PreferenceList(TokenOf("k"))), (std::set<std::string>{"a", "b", "c"}));
  ASSERT_NE(ring->Find("b"), nullptr);
  EXPECT_EQ(ring->Find("b")->state, NodeState::kDown);
  EXPECT_EQ(ring->Find("zz"), nullptr);
}

TEST(Ring, BiggerHostTakesBiggerShare) {
  auto ring = Ring::Build({Node("a", "dc1", "rack1", 256), Node("b", "dc1", "rack1", 256),
                           Node("big", "dc1", "rack1", 768)},
                          Rf("1"));
  ASSERT_TRUE(ring.ok());
  std::map<std::string, int> owned;
  const int kKeys = 100000;
  for (int i = 0; i < kKeys; ++i) owned[ring->PreferenceList(TokenOf(std::to_string(i)))[0]->id]++;
  // Ideal share of "big" is 3/5 = 0.6.
  EXPECT_GT(owned["big"], kKeys * 0.5);
  EXPECT_LT(owned["big"], kKeys * 0.7);
}

}  // namespace
}  // namespace ringkv
