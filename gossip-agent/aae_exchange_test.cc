// Tests of the anti-entropy exchange against in-memory replicas: equal replicas cost only the
// roots, a wiped replica gets everything, siblings end identical everywhere, only differing keys
// are sent, and a replica that is not ready or stops answering leaves its ranges incomplete and
// unmarked.
#include "gossip-agent/aae_exchange.h"

#include <gtest/gtest.h>

#include <memory>

#include "gossip-agent/aae_fake_replica.h"

namespace ringkv::gossip {
namespace {

using version::KeyState;

std::string Value(const std::string& v, version::ActorId actor) { return FakeValue(v, actor); }

// The whole ring split into `n` equal ranges.
std::vector<AaeRange> Split(uint32_t n) {
  std::vector<AaeRange> out;
  for (uint32_t i = 0; i < n; ++i) {
    const auto [lo, hi] = aae::PartBounds(0, UINT64_MAX, n, i);
    out.push_back({lo, hi});
  }
  return out;
}

struct Trio {
  Trio() {
    for (const char* n : {"n1", "n2", "n3"}) reps.push_back(std::make_unique<FakeAaeReplica>(n));
    for (auto& r : reps) ptrs.push_back(r.get());
  }
  void PutAll(const std::string& key, const std::string& state) {
    for (auto& r : reps) r->Put(key, state);
  }
  std::vector<std::unique_ptr<FakeAaeReplica>> reps;
  std::vector<AaeReplica*> ptrs;
};

void ExpectIdentical(const Trio& t) {
  for (size_t i = 1; i < t.reps.size(); ++i) EXPECT_EQ(t.reps[i]->data(), t.reps[0]->data());
}

TEST(AaeExchange, EqualReplicasCostOnlyTheRootsAndAreMarked) {
  Trio t;
  for (int i = 0; i < 500; ++i) t.PutAll("k" + std::to_string(i), Value("v", 1));
  t.reps[1]->clock_ms = 777;
  const auto ranges = Split(16);
  ExchangeResult r = ExchangeRanges(t.ptrs, ranges);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.complete, std::vector<bool>(16, true));
  EXPECT_EQ(r.counters.keys_sent, 0u);
  EXPECT_EQ(r.counters.ranges_equal, 16u);
  EXPECT_EQ(r.counters.keys_compared, 500u);
  // One root request and one mark per replica.
  EXPECT_EQ(r.counters.round_trips, 6u);
  for (auto& rep : t.reps) {
    ASSERT_EQ(rep->marks.size(), 1u);
    // The 16 adjacent ranges are marked as one.
    EXPECT_EQ(rep->marks[0].first, (std::vector<AaeRange>{{0, UINT64_MAX}}));
    EXPECT_EQ(rep->syncs, 0u);
  }
  // Each replica is marked on its own clock, as read at the start of the exchange.
  EXPECT_EQ(t.reps[1]->marks[0].second, 777);
  EXPECT_EQ(t.reps[0]->marks[0].second, 1000);
}

TEST(AaeExchange, AWipedReplicaGetsEveryKey) {
  Trio t;
  for (int i = 0; i < 300; ++i) {
    const std::string k = "key" + std::to_string(i);
    t.reps[0]->Put(k, Value("v" + std::to_string(i), 1));
    t.reps[1]->Put(k, Value("v" + std::to_string(i), 1));
  }
  ExchangeOptions o;
  o.leaf_keys = 8;  // forces a descent of several levels
  ExchangeResult r = ExchangeRanges(t.ptrs, Split(4), o);
  EXPECT_EQ(r.complete, std::vector<bool>(4, true)) << r.error;
  EXPECT_EQ(t.reps[2]->size(), 300u);
  EXPECT_EQ(r.counters.keys_sent, 300u);
  EXPECT_EQ(r.counters.keys_differing, 300u);
  ExpectIdentical(t);
}

TEST(AaeExchange, SiblingsEndIdenticalOnEveryReplica) {
  Trio t;
  for (int i = 0; i < 50; ++i) t.PutAll("same" + std::to_string(i), Value("x", 9));
  // Three concurrent writes of one key, one per replica; another key only two replicas saw.
  t.reps[0]->Put("k", Value("a", 1));
  t.reps[1]->Put("k", Value("b", 2));
  t.reps[2]->Put("k", Value("c", 3));
  t.reps[0]->Put("j", Value("a", 1));
  t.reps[1]->Put("j", Value("b", 2));
  ExchangeResult r = ExchangeRanges(t.ptrs, Split(8));
  EXPECT_EQ(r.complete, std::vector<bool>(8, true)) << r.error;
  ExpectIdentical(t);
  auto k = KeyState::Decode(*t.reps[2]->Get("k"));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->LiveValues(), (std::vector<std::string>{"a", "b", "c"}));
  auto j = KeyState::Decode(*t.reps[2]->Get("j"));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->LiveValues(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.counters.keys_differing, 2u);
  EXPECT_EQ(r.counters.keys_sent, 6u);  // k to all three, j to all three
  // A second exchange finds nothing to do.
  ExchangeResult again = ExchangeRanges(t.ptrs, Split(8));
  EXPECT_EQ(again.counters.keys_sent, 0u);
  EXPECT_EQ(again.counters.ranges_equal, 8u);
}

// A tombstone goes to a replica holding the value it deletes, never to one holding nothing of
// the key (one that dropped it after a complete repair would get it back with a new write time,
// and the replicas would pass it around one repair behind each other, never dropping it).
TEST(AaeExchange, ATombstoneGoesToAValueNeverToAnEmptyReplica) {
  Trio t;
  version::KeyState live;
  live.Update(version::CausalContext(), std::string_view("v"), 1);
  version::KeyState dead = live;
  dead.Update(live.context(), std::nullopt, 1);
  ASSERT_TRUE(dead.OnlyTombstones());
  t.reps[0]->Put("k", dead.Encode());  // deleted here
  t.reps[2]->Put("k", live.Encode());  // missed the delete
  // reps[1]: dropped its tombstone already (or never saw the key)
  ExchangeResult r = ExchangeRanges(t.ptrs, Split(4));
  EXPECT_EQ(r.complete, std::vector<bool>(4, true)) << r.error;
  ASSERT_NE(t.reps[2]->Get("k"), nullptr);
  auto now = KeyState::Decode(*t.reps[2]->Get("k"));
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE(now->HasLive());
  EXPECT_EQ(t.reps[1]->Get("k"), nullptr);
  EXPECT_EQ(r.counters.keys_sent, 1u);
  // Again: nothing moves, and the ranges are still complete (markable).
  ExchangeResult again = ExchangeRanges(t.ptrs, Split(4));
  EXPECT_EQ(again.complete, std::vector<bool>(4, true)) << again.error;
  EXPECT_EQ(again.counters.keys_sent, 0u);
  EXPECT_EQ(t.reps[1]->Get("k"), nullptr);
}

TEST(AaeExchange, OnlyTheDifferingKeysMove) {
  Trio t;
  for (int i = 0; i < 20000; ++i) t.PutAll("k" + std::to_string(i), Value("v", 1));
  for (int i = 0; i < 10; ++i) t.reps[i % 3]->Put("k" + std::to_string(i * 997), Value("new", 5));
  const uint64_t full = t.reps[0]->io_bytes();
  ExchangeResult r = ExchangeRanges(t.ptrs, Split(64));
  EXPECT_EQ(r.complete, std::vector<bool>(64, true)) << r.error;
  EXPECT_EQ(r.counters.keys_differing, 10u);
  // One replica holds only "new", the others only "v", concurrent: the merge (both siblings)
  // differs from all three.
  EXPECT_EQ(r.counters.keys_sent, 30u);
  ExpectIdentical(t);
  // Far from a copy: the fake counts 8 + key bytes per listed key, so listing every key once
  // would be ~3 x 20000 x 14 bytes.
  EXPECT_LT(r.counters.bytes, 60000u) << full;
}

TEST(AaeExchange, AReplicaNotReadyLeavesEveryRangeIncompleteAndUnmarked) {
  Trio t;
  t.reps[0]->Put("a", Value("v", 1));
  t.reps[1]->ready = false;
  ExchangeResult r = ExchangeRanges(t.ptrs, Split(4));
  EXPECT_EQ(r.complete, std::vector<bool>(4, false));
  EXPECT_NE(r.error.find("n2 is not ready"), std::string::npos) << r.error;
  for (auto& rep : t.reps) EXPECT_TRUE(rep->marks.empty());
  EXPECT_EQ(t.reps[2]->size(), 0u);
}

TEST(AaeExchange, AReplicaThatStopsAnsweringLeavesItsRangesUnmarked) {
  Trio t;
  for (int i = 0; i < 100; ++i) t.PutAll("k" + std::to_string(i), Value("v", 1));
  t.reps[0]->Put("extra", Value("v", 1));
  // n3 answers the roots, then nothing.
  t.reps[2]->fail_after_calls = 1;
  const auto ranges = Split(4);
  ExchangeResult r = ExchangeRanges(t.ptrs, ranges);
  size_t extra_range = 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (TokenOf("extra") >= ranges[i].first && TokenOf("extra") <= ranges[i].last) extra_range = i;
  }
  EXPECT_FALSE(r.complete[extra_range]);
  EXPECT_NE(r.error.find("n3"), std::string::npos) << r.error;
  // The equal ranges were compared but could not be marked on n3 either.
  for (size_t i = 0; i < ranges.size(); ++i) EXPECT_FALSE(r.complete[i]) << i;
  EXPECT_TRUE(t.reps[2]->marks.empty());
}

TEST(AaeExchange, PaceSeesTheBytesAndCanStop) {
  Trio t;
  for (int i = 0; i < 100; ++i) t.reps[0]->Put("k" + std::to_string(i), Value("v", 1));
  uint64_t seen = 0;
  int calls = 0;
  ExchangeResult r = ExchangeRanges(t.ptrs, Split(2), {}, [&](uint64_t b) {
    seen += b;
    return ++calls < 4;
  });
  EXPECT_EQ(r.complete, std::vector<bool>(2, false));
  EXPECT_EQ(r.error, "stopped");
  EXPECT_GT(seen, 0u);
  for (auto& rep : t.reps) EXPECT_TRUE(rep->marks.empty());
}

}  // namespace
}  // namespace ringkv::gossip
