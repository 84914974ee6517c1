// Unit tests of KeyState: each operation, the encoding, a decoder fuzz, the speed of a
// one-version state, and the scenarios of /work/shared/design/versioning.md "Tests that show it".
#include "common/version/key_state.h"

#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <random>

namespace ringkv::version {
namespace {

using Values = std::vector<std::string>;

std::string Hex(std::string_view s) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : s) {
    out.push_back(k[ch >> 4]);
    out.push_back(k[ch & 15]);
  }
  return out;
}

std::string Unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

CausalContext Ctx(std::initializer_list<Dot> dots) {
  CausalContext c;
  for (const Dot& d : dots) c.Add(d);
  return c;
}

// What a coordinator replies to a put: the request's ctx plus the new dot.
CausalContext PutReplyCtx(CausalContext req, Dot dot) {
  req.Add(dot);
  return req;
}

KeyState RoundTrip(const KeyState& s) {
  auto d = KeyState::Decode(s.Encode());
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : KeyState();
}

TEST(KeyStateTest, EmptyState) {
  KeyState s;
  EXPECT_EQ(s.VersionCount(), 0u);
  EXPECT_FALSE(s.HasLive());
  EXPECT_TRUE(s.OnlyTombstones());
  EXPECT_TRUE(s.LiveValues().empty());
  EXPECT_TRUE(s.context().empty());
  EXPECT_EQ(Hex(s.Encode()), "01" "92" "929090" "90");
  EXPECT_EQ(RoundTrip(s), s);
  auto e = KeyState::Decode("");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, s);
}

TEST(KeyStateTest, BlindUpdatesMakeSiblings) {
  KeyState s;
  Dot d1 = s.Update({}, "a", 1);
  Dot d2 = s.Update({}, "b", 1);
  EXPECT_EQ(d1, (Dot{1, 1}));
  EXPECT_EQ(d2, (Dot{1, 2}));
  EXPECT_EQ(s.VersionCount(), 2u);
  EXPECT_EQ(s.LiveValues(), (Values{"a", "b"}));
  EXPECT_EQ(s.context(), Ctx({{1, 1}, {1, 2}}));
}

TEST(KeyStateTest, UpdateSupersedesExactlyWhatCtxCovers) {
  KeyState s;
  s.Update({}, "a", 1);       // (1,1)
  s.Update({}, "b", 2);       // (2,1)
  s.Update({}, "c", 1);       // (1,2)
  Dot d = s.Update(Ctx({{1, 1}, {2, 1}}), "d", 2);
  EXPECT_EQ(d, (Dot{2, 2}));
  EXPECT_EQ(s.LiveValues(), (Values{"c", "d"}));
  ASSERT_EQ(s.versions().size(), 2u);
  EXPECT_EQ(s.versions()[0].dot, (Dot{1, 2}));
  EXPECT_EQ(s.versions()[1].dot, (Dot{2, 2}));
}

TEST(KeyStateTest, UpdateCountsPastCtxOfSameActor) {
  // A ctx can carry dots of this actor that the state does not hold (it came from a state that
  // was synced elsewhere): the new dot must be beyond them.
  KeyState s;
  Dot d = s.Update(Ctx({{5, 1}, {5, 2}, {5, 3}}), "x", 5);
  EXPECT_EQ(d, (Dot{5, 4}));
  KeyState t;
  d = t.Update(Ctx({{5, 9}}), "x", 5);
  EXPECT_EQ(d, (Dot{5, 10}));
  EXPECT_TRUE(t.context().Covers({5, 9}));
  // The state claims the actor's whole range up to the new dot (counters it has not seen were
  // never issued for the key, or died with a dropped state): one vector entry, no cloud.
  EXPECT_TRUE(t.context().Covers({5, 8}));
  EXPECT_EQ(t.context().vector(), (std::vector<Dot>{{5, 10}}));
  EXPECT_TRUE(t.context().cloud().empty());
  // Other actors' dots are never claimed.
  EXPECT_FALSE(t.context().Covers({4, 1}));
}

TEST(KeyStateTest, UpdateTakesTheCounterFloor) {
  KeyState s;
  EXPECT_EQ(s.NextCounter({}, 7), 1u);
  // The floor wins when it is above the key's own next counter...
  Dot d1 = s.Update({}, "a", 7, 100);
  EXPECT_EQ(d1, (Dot{7, 100}));
  EXPECT_EQ(s.NextCounter({}, 7), 101u);
  EXPECT_EQ(s.NextCounter(Ctx({{7, 300}}), 7), 301u);
  EXPECT_EQ(s.NextCounter(Ctx({{8, 300}}), 7), 101u);
  // ...and the key's next counter when the floor is below it.
  Dot d2 = s.Update({}, "b", 7, 50);
  EXPECT_EQ(d2, (Dot{7, 101}));
  Dot d3 = s.Update({}, "c", 7, 500);
  EXPECT_EQ(d3, (Dot{7, 500}));
  // Gaps between counters leave no cloud: the context is one vector entry.
  EXPECT_EQ(s.context().vector(), (std::vector<Dot>{{7, 500}}));
  EXPECT_TRUE(s.context().cloud().empty());
  EXPECT_EQ(s.LiveValues(), (Values{"a", "b", "c"}));
  ASSERT_EQ(s.versions().size(), 3u);
  EXPECT_EQ(s.versions()[2].dot, d3);
  // A ctx with a cloud dot of the actor above the state's counter: the new dot goes beyond it,
  // the cloud dot folds into the vector.
  Dot d4 = s.Update(Ctx({{7, 900}}), "d", 7, 600);
  EXPECT_EQ(d4, (Dot{7, 901}));
  EXPECT_EQ(s.context().vector(), (std::vector<Dot>{{7, 901}}));
  EXPECT_TRUE(s.context().cloud().empty());
  EXPECT_EQ(RoundTrip(s), s);
}

TEST(KeyStateTest, DeleteWritesTombstone) {
  KeyState s;
  s.Update({}, "a", 1);
  s.Update(s.context(), std::nullopt, 1);
  EXPECT_EQ(s.VersionCount(), 1u);
  EXPECT_TRUE(s.versions()[0].tombstone);
  EXPECT_FALSE(s.HasLive());
  EXPECT_TRUE(s.OnlyTombstones());
  EXPECT_TRUE(s.LiveValues().empty());
  // A put concurrent with the delete survives beside the tombstone.
  KeyState t;
  t.Update({}, "a", 1);
  CausalContext seen = t.context();
  t.Update({}, "b", 2);
  t.Update(seen, std::nullopt, 1);
  EXPECT_EQ(t.LiveValues(), (Values{"b"}));
  EXPECT_TRUE(t.HasLive());
  EXPECT_FALSE(t.OnlyTombstones());
  EXPECT_EQ(t.VersionCount(), 2u);
}

TEST(KeyStateTest, EmptyValueIsNotATombstone) {
  KeyState s;
  s.Update({}, "", 1);
  EXPECT_TRUE(s.HasLive());
  EXPECT_EQ(s.LiveValues(), (Values{""}));
  KeyState r = RoundTrip(s);
  EXPECT_EQ(r, s);
  EXPECT_FALSE(r.versions()[0].tombstone);
}

TEST(KeyStateTest, VersionCountAfterUpdate) {
  KeyState s;
  EXPECT_EQ(s.VersionCountAfterUpdate({}), 1u);
  s.Update({}, "a", 1);
  s.Update({}, "b", 2);
  s.Update({}, "c", 3);
  EXPECT_EQ(s.VersionCountAfterUpdate({}), 4u);
  EXPECT_EQ(s.VersionCountAfterUpdate(Ctx({{1, 1}})), 3u);
  EXPECT_EQ(s.VersionCountAfterUpdate(s.context()), 1u);
  KeyState t = s;
  t.Update(Ctx({{2, 1}}), "d", 1);
  EXPECT_EQ(t.VersionCount(), s.VersionCountAfterUpdate(Ctx({{2, 1}})));
}

TEST(KeyStateTest, SyncKeepsConcurrentAndDropsSuperseded) {
  KeyState a, b;
  a.Update({}, "x", 1);  // (1,1)
  b.Sync(a);
  EXPECT_EQ(b, a);
  b.Update(b.context(), "y", 2);  // (2,1) supersedes x
  a.Update({}, "z", 1);           // (1,2) concurrent with y
  KeyState ab = a, ba = b;
  ab.Sync(b);
  ba.Sync(a);
  EXPECT_EQ(ab, ba);
  EXPECT_EQ(ab.LiveValues(), (Values{"y", "z"}));
  KeyState again = ab;
  again.Sync(ab);
  EXPECT_EQ(again, ab);
  again.Sync(again);
  EXPECT_EQ(again, ab);
}

TEST(KeyStateTest, SyncWithOlderStateChangesNothing) {
  KeyState a;
  a.Update({}, "x", 1);
  KeyState old = a;
  a.Update(a.context(), "y", 1);
  KeyState cur = a;
  a.Sync(old);
  EXPECT_EQ(a, cur);
  old.Sync(cur);
  EXPECT_EQ(old, cur);
}

TEST(KeyStateTest, EncodingLayout) {
  KeyState s;
  s.Update({}, "hi", 1);   // (1,1)
  s.Update({}, std::nullopt, 200);  // (200,1)
  // 01, [ [ [[1,1],[200,1]], [] ], [ [1,1,bin "hi"], [200,1,nil] ] ]
  EXPECT_EQ(Hex(s.Encode()), "01" "92" "92" "92" "920101" "92ccc801" "90"
                             "92" "930101c4026869" "93ccc801c0");
  EXPECT_EQ(RoundTrip(s), s);
}

TEST(KeyStateTest, RoundTripLargeValuesAndCloud) {
  KeyState s;
  s.Update(Ctx({{3, 5}, {4, 70000}}), std::string(300, 'x'), 7);
  s.Update({}, std::string(70000, 'y'), 3);
  s.Update({}, std::nullopt, UINT64_MAX);
  KeyState r = RoundTrip(s);
  EXPECT_EQ(r, s);
  EXPECT_EQ(r.Encode(), s.Encode());
}

TEST(KeyStateTest, DecodeRejectsInvalid) {
  const char* bad[] = {
      "00" "92929090" "90",               // format byte
      "01" "92929090",                    // truncated
      "01" "92929090" "90" "00",          // trailing byte
      "01" "93929090" "90" "90",          // 3-element outer array
      "01" "92939090" "90" "90",          // 3-element context
      "01" "92" "9291920101" "90" "91930102c0",     // version dot (1,2) not covered
      "01" "92" "9291920102" "90" "92930101c0930101c0",  // duplicate dot
      "01" "92" "9291920102" "90" "92930102c0930101c0",  // unsorted
      "01" "92" "9291920101" "90" "91930100c0",     // counter 0
      "01" "92" "9291920101" "90" "91930101a0",     // str value: must be bin
      "01" "92" "9291920101" "90" "91930101c2",     // bool value
      "01" "92" "9291920101" "90" "919201c0",       // 2-element version
      "01" "92" "9291920101" "90" "91930101c40568",  // bin longer than input
      "01" "92" "9291920101" "90" "91930101c50001" "68",  // non-minimal bin length
      "01" "92" "9291920100" "90" "90",             // context counter 0
  };
  for (const char* h : bad) {
    auto d = KeyState::Decode(Unhex(h));
    EXPECT_FALSE(d.ok()) << h;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument) << h;
    }
  }
}

TEST(KeyStateTest, DecodeNeverCrashesOnRandomBytesOrMutations) {
  std::mt19937_64 rng(4242);
  std::vector<std::string> seeds;
  for (int i = 0; i < 40; ++i) {
    KeyState s;
    int n = 1 + rng() % 6;
    for (int j = 0; j < n; ++j) {
      CausalContext ctx = rng() % 2 ? s.context() : CausalContext();
      std::optional<std::string_view> v;
      std::string val(rng() % 5, 'a' + rng() % 3);
      if (rng() % 4) v = val;
      s.Update(ctx, v, rng() % 3);
    }
    seeds.push_back(s.Encode());
  }
  int accepted = 0;
  for (int iter = 0; iter < 100000; ++iter) {
    std::string s;
    if (iter % 4 == 0) {
      s.resize(rng() % 48);
      for (char& ch : s) ch = static_cast<char>(rng());
      if (!s.empty() && rng() % 2) s[0] = kVersionFormat;
    } else {
      s = seeds[rng() % seeds.size()];
      int edits = 1 + rng() % 3;
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0: s[pos] = static_cast<char>(rng()); break;
          case 1: s.erase(pos, 1); break;
          case 2: s.insert(pos, 1, static_cast<char>(rng())); break;
          case 3: s.resize(pos); break;
        }
      }
    }
    auto d = KeyState::Decode(s);
    if (d.ok()) {
      ++accepted;
      if (!s.empty()) {
        ASSERT_EQ(Hex(d->Encode()), Hex(s));
      }
      for (const Version& v : d->versions()) ASSERT_TRUE(d->context().Covers(v.dot));
    } else {
      ASSERT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    }
  }
  EXPECT_GT(accepted, 0);
}

// The hot path: a one-version state (one actor in the vector) is encoded and decoded on every
// request. Measured in thread CPU time so a loaded machine does not skew it; the bound (far above
// the few hundred ns a release build takes) is only checked in optimized, unsanitized builds.
double ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

TEST(KeyStateTest, OneVersionEncodeDecodeIsFast) {
  KeyState s;
  s.Update({}, std::string(100, 'v'), 0x1234567890abcdefULL);
  const std::string enc = s.Encode();
  const std::string cenc = s.context().Encode();
  constexpr int kIters = 50000;
  size_t sink = 0;
  const double t0 = ThreadCpuNs();
  for (int i = 0; i < kIters; ++i) sink += s.Encode().size();
  const double t1 = ThreadCpuNs();
  for (int i = 0; i < kIters; ++i) sink += KeyState::Decode(enc)->VersionCount();
  const double t2 = ThreadCpuNs();
  for (int i = 0; i < kIters; ++i) sink += CausalContext::Decode(cenc)->vector().size();
  const double t3 = ThreadCpuNs();
  const double encode_ns = (t1 - t0) / kIters, decode_ns = (t2 - t1) / kIters;
  std::printf(
      "1-version KeyState (100-byte value): encode %.0f ns, decode %.0f ns; ctx decode %.0f ns "
      "(%zu)\n",
      encode_ns, decode_ns, (t3 - t2) / kIters, sink % 10);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(encode_ns, 2000);
  EXPECT_LT(decode_ns, 2000);
#endif
}

// ---- Scenarios from the design notes ("Tests that show it"). ----

// Replicas as the storage agents would run them: the coordinating replica runs Update and the
// resulting state is synced to the others.
struct Replica {
  ActorId actor;
  KeyState state;
};

TEST(KeyStateScenarioTest, TwoBlindPutsSameCoordinatorThenPutWithPartialRead) {
  Replica a{101, {}}, b{202, {}};
  // Blind put "x" through replica A, synced to B.
  a.state.Update({}, "x", a.actor);
  b.state.Sync(a.state);
  // A read at B sees only "x".
  CausalContext read_ctx = b.state.context();
  ASSERT_EQ(b.state.LiveValues(), (Values{"x"}));
  // A second blind put through the same replica A; B misses it for now.
  a.state.Update({}, "y", a.actor);
  // A put with the read's ctx, coordinated by A: it replaces "x" only; "y" must survive.
  a.state.Update(read_ctx, "z", a.actor);
  EXPECT_EQ(a.state.LiveValues(), (Values{"y", "z"}));
  // The same put coordinated by B instead, then everything synced: "y" still survives.
  Replica a2{101, {}}, b2{202, {}};
  a2.state.Update({}, "x", a2.actor);
  b2.state.Sync(a2.state);
  a2.state.Update({}, "y", a2.actor);
  b2.state.Update(b2.state.context(), "z", b2.actor);
  a2.state.Sync(b2.state);
  b2.state.Sync(a2.state);
  EXPECT_EQ(a2.state, b2.state);
  EXPECT_EQ(a2.state.LiveValues(), (Values{"y", "z"}));
}

TEST(KeyStateScenarioTest, ReplicaThatLostItsDataComesBackWithNewActor) {
  Replica a{1, {}}, b{2, {}}, c{3, {}};
  a.state.Update({}, "x", a.actor);  // (1,1), reaches B and C
  b.state.Sync(a.state);
  c.state.Sync(a.state);
  a.state.Update(a.state.context(), "y", a.actor);  // (1,2) supersedes x, reaches B only
  b.state.Sync(a.state);
  CausalContext c_read = c.state.context();  // a client read at C: saw only "x"

  // A's disk is replaced: new data directory, new actor id, empty state.
  Replica a_new{4, {}};
  // A blind write and a write with C's stale read, both coordinated by the new A.
  a_new.state.Update({}, "w", a_new.actor);
  a_new.state.Update(c_read, "v", a_new.actor);
  EXPECT_EQ(a_new.state.LiveValues(), (Values{"v", "w"}));
  // Replication: "y" was never seen by either write and must survive; "x" was seen by the
  // write of "v" (and superseded by "y" already).
  b.state.Sync(a_new.state);
  c.state.Sync(a_new.state);
  c.state.Sync(b.state);
  a_new.state.Sync(b.state);
  EXPECT_EQ(b.state.LiveValues(), (Values{"v", "w", "y"}));
  EXPECT_EQ(c.state, b.state);
  EXPECT_EQ(a_new.state, b.state);

  // Why the new actor id matters: reusing the old id, the fresh counter reissues dot (1,1),
  // which B's context already covers, so B drops the new write as if superseded.
  Replica a_reused{1, {}};
  Dot d = a_reused.state.Update({}, "lost", a_reused.actor);
  EXPECT_EQ(d, (Dot{1, 1}));
  KeyState b_copy = b.state;
  b_copy.Sync(a_reused.state);
  EXPECT_EQ(b_copy.LiveValues(), (Values{"v", "w", "y"}));  // "lost" is gone: a lost write
}

// Compaction dropped a key's only-tombstone state (after its grace period), and with it every
// dot the replica had seen for the key. A client still holds a ctx read before the delete.
// With the node-wide counter floor the next dots for the key are beyond every counter the
// replica ever issued, so that old ctx cannot cover them; without it (counters restarting at 1)
// the old ctx covers a blind write it never saw and supersedes it: a lost write.
TEST(KeyStateScenarioTest, ForgottenStateWithOldCtxDoesNotSupersedeUnseenWrite) {
  constexpr ActorId kA = 1;
  uint64_t node_counter = 1;  // the storage agent's DotAllocator, shared by all its keys
  auto next = [&](const KeyState& s, const CausalContext& ctx) {
    const uint64_t c = std::max(node_counter, s.NextCounter(ctx, kA));
    node_counter = c + 1;
    return c;
  };
  KeyState s;
  for (int i = 0; i < 5; ++i) {
    CausalContext ctx = s.context();
    s.Update(ctx, "v" + std::to_string(i), kA, next(s, ctx));
  }
  const CausalContext old_ctx = s.context();  // a client's read: {A: 5}
  ASSERT_EQ(old_ctx.MaxCounter(kA), 5u);
  CausalContext ctx = s.context();
  s.Update(ctx, std::nullopt, kA, next(s, ctx));  // delete
  ASSERT_TRUE(s.OnlyTombstones());

  // Compaction forgets the key; the same agent keeps serving (node counter kept).
  KeyState forgotten;
  Dot blind = forgotten.Update({}, "unseen", kA, next(forgotten, {}));
  EXPECT_FALSE(old_ctx.Covers(blind));
  CausalContext ctx2 = old_ctx;
  Dot late = forgotten.Update(ctx2, "late", kA, next(forgotten, ctx2));
  EXPECT_NE(late, blind);
  // The write with the old ctx never saw "unseen": both stay, as siblings.
  EXPECT_EQ(forgotten.LiveValues(), (Values{"late", "unseen"}));

  // Without the floor the counter restarts: the blind write gets (A, 1), which the old ctx
  // covers, and the write with the old ctx silently drops it.
  KeyState no_floor;
  Dot reused = no_floor.Update({}, "unseen", kA);
  EXPECT_EQ(reused, (Dot{kA, 1}));
  EXPECT_TRUE(old_ctx.Covers(reused));
  no_floor.Update(old_ctx, "late", kA);
  EXPECT_EQ(no_floor.LiveValues(), (Values{"late"}));  // "unseen" is gone: the bug
}

TEST(KeyStateScenarioTest, IdenticalRetriesAreHarmless) {
  KeyState s;
  s.Update({}, "old", 1);
  CausalContext ctx = s.context();
  s.Update(ctx, "new", 1);
  s.Update(ctx, "new", 1);  // the client's retry after a timeout: a second dot, same bytes
  EXPECT_EQ(s.VersionCount(), 2u);
  EXPECT_EQ(s.LiveValues(), (Values{"new"}));
  // A put with a get's ctx collapses them.
  s.Update(s.context(), "final", 2);
  EXPECT_EQ(s.VersionCount(), 1u);
  EXPECT_EQ(s.LiveValues(), (Values{"final"}));
}

TEST(KeyStateScenarioTest, PutReplyCtxDoesNotCoverUnseenSibling) {
  KeyState s;
  s.Update({}, "unseen", 1);                   // (1,1): this client never saw it
  Dot d = s.Update({}, "mine", 1);             // (1,2): the client's blind put
  CausalContext reply = PutReplyCtx({}, d);    // request ctx (none) + the new dot
  EXPECT_TRUE(reply.Covers(d));
  EXPECT_FALSE(reply.Covers({1, 1}));
  // The client overwrites its own value with the reply ctx: "unseen" stays.
  s.Update(reply, "mine2", 1);
  EXPECT_EQ(s.LiveValues(), (Values{"mine2", "unseen"}));
  // (Whereas the state's whole context would have covered it.)
  EXPECT_TRUE(s.context().Covers({1, 1}));
  // The encoded reply ctx round-trips with the dot in its cloud.
  auto dec = CausalContext::Decode(reply.Encode());
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->cloud(), (std::vector<Dot>{{1, 2}}));
}

}  // namespace
}  // namespace ringkv::version
