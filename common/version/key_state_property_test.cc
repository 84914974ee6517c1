// Randomized property tests of KeyState against two reference models:
//  - an explicit model per replica: the set of stored (dot, value) pairs and the explicit set of
//    every dot the replica has seen, with update and sync written out on plain sets;
//  - a causal-history oracle that never drops anything: each replica knows a set of writes and
//    the union of the contexts those writes carried; a write is live there exactly when no known
//    write's context contains its dot. This is the client protocol's promise itself.
// Random puts and deletes at random replicas with random, often stale, contexts (from earlier
// reads, merged multi-replica reads and put replies), syncs delivered late, out of order and
// more than once, coordinator-style reads with read repair, and replicas that lose their data
// and come back as a new actor. Each replica takes its counters from a node-wide floor that
// also moves with writes of other keys (storage-agent/dot_allocator.h), so an actor's counters
// for the key have gaps. After every step every replica must agree with both models; and Sync
// must be commutative, associative and idempotent on the states met along the way.
// A second simulation lets compaction forget only-tombstone states and checks, against an
// oracle of which writes each client saw, that no write is superseded by one that did not see
// it — and that the same simulation without the floor does find such lost writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "common/version/key_state.h"

namespace ringkv::version {
namespace {

// Plain sorted vectors stand in for sets: the model is checked after every step, and tree-based
// sets made the test several times slower under the sanitizer build.
template <typename T>
using SortedSet = std::vector<T>;
using DotSet = SortedSet<Dot>;

template <typename T>
bool Contains(const SortedSet<T>& s, const T& x) {
  return std::binary_search(s.begin(), s.end(), x);
}
template <typename T>
void InsertAll(SortedSet<T>* s, const SortedSet<T>& o) {
  if (o.empty()) return;
  SortedSet<T> out;
  out.reserve(s->size() + o.size());
  std::set_union(s->begin(), s->end(), o.begin(), o.end(), std::back_inserter(out));
  s->swap(out);
}
template <typename T>
void Insert(SortedSet<T>* s, const T& x) {
  auto it = std::lower_bound(s->begin(), s->end(), x);
  if (it == s->end() || !(*it == x)) s->insert(it, x);
}

struct ModelVersion {
  Dot dot;
  bool tombstone;
  std::string value;
  auto operator<=>(const ModelVersion&) const = default;
};

struct Write {
  Dot dot;
  bool tombstone;
  std::string value;
};

// A context a client holds, with the explicit dot set it stands for.
struct ClientCtx {
  CausalContext ctx;
  DotSet dots;
};

struct Replica {
  ActorId actor;
  KeyState state;
  uint64_t node_counter = 1;  // the agent's node-wide counter floor (all its keys)
  // Explicit model.
  SortedSet<ModelVersion> stored;
  DotSet seen;
  // Oracle.
  SortedSet<size_t> known;  // indices into the global write log
  DotSet superseded;       // union of the contexts of the known writes
};

// A state in flight (a sync message): the implementation's and both models' views of it.
struct Message {
  KeyState state;
  SortedSet<ModelVersion> stored;
  DotSet seen;
  SortedSet<size_t> known;
  DotSet superseded;
};

DotSet DotsOf(const CausalContext& c) {
  DotSet out;
  for (const Dot& e : c.vector()) {
    for (uint64_t i = 1; i <= e.counter; ++i) out.push_back({e.actor, i});
  }
  InsertAll(&out, DotSet(c.cloud().begin(), c.cloud().end()));
  return out;
}

// Whether `stored` holds version v (the same dot and value).
bool Holds(const SortedSet<ModelVersion>& stored, const ModelVersion& v) {
  return Contains(stored, v);
}

void ModelSync(SortedSet<ModelVersion>* stored, DotSet* seen,
               const SortedSet<ModelVersion>& o_stored, const DotSet& o_seen) {
  SortedSet<ModelVersion> out;
  for (const auto& v : *stored) {
    if (Holds(o_stored, v) || !Contains(o_seen, v.dot)) Insert(&out, v);
  }
  for (const auto& v : o_stored) {
    if (Holds(*stored, v) || !Contains(*seen, v.dot)) Insert(&out, v);
  }
  *stored = std::move(out);
  InsertAll(seen, o_seen);
}

class Simulation {
 public:
  explicit Simulation(uint64_t seed) : rng_(seed) {
    const int n = 2 + static_cast<int>(rng_() % 4);  // 2..5 replicas
    for (int i = 0; i < n; ++i) replicas_.push_back(Replica{NewActor(), {}, 1, {}, {}, {}, {}});
    pool_.push_back(ClientCtx{});  // a client with no ctx
  }

  void Run(int steps) {
    for (int step = 0; step < steps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const uint64_t r = rng_() % 100;
      if (r < 35) {
        Put();
      } else if (r < 55) {
        Send();
      } else if (r < 75) {
        Deliver();
      } else if (r < 85) {
        Read();
      } else if (r < 95) {
        DirectSync();
      } else if (r < 97) {
        Wipe();
      } else {
        CheckAlgebra();
      }
      CheckAll();
      if (::testing::Test::HasFatalFailure()) return;
    }
    // Heal: deliver everything, then all-to-all syncs; all replicas converge.
    while (!inflight_.empty()) Deliver();
    for (int round = 0; round < 2; ++round) {
      for (size_t i = 0; i < replicas_.size(); ++i) {
        for (size_t j = 0; j < replicas_.size(); ++j)
          SyncInto(&replicas_[i], Snapshot(replicas_[j]));
      }
    }
    CheckAll();
    for (const auto& rep : replicas_) ASSERT_EQ(rep.state.Encode(), replicas_[0].state.Encode());
    CheckAlgebra();
  }

  size_t writes() const { return log_.size(); }

 private:
  ActorId NewActor() {
    for (;;) {
      ActorId a = rng_() % 3 == 0 ? rng_() : rng_() % 1000;  // small and full-width ids
      if (actors_.insert(a).second) return a;
    }
  }

  Replica& RandomReplica() { return replicas_[rng_() % replicas_.size()]; }

  const ClientCtx& RandomCtx() {
    // Prefer recent contexts, but often reach far back (stale).
    size_t n = pool_.size();
    size_t i = rng_() % 2 ? n - 1 - rng_() % std::min<size_t>(n, 4) : rng_() % n;
    return pool_[i];
  }

  void Remember(ClientCtx c) {
    pool_.push_back(std::move(c));
    if (pool_.size() > 64) pool_.erase(pool_.begin() + 1);  // keep the empty ctx at 0
  }

  Message Snapshot(const Replica& rep) {
    return Message{rep.state, rep.stored, rep.seen, rep.known, rep.superseded};
  }

  void SyncInto(Replica* rep, const Message& m) {
    rep->state.Sync(m.state);
    ModelSync(&rep->stored, &rep->seen, m.stored, m.seen);
    InsertAll(&rep->known, m.known);
    InsertAll(&rep->superseded, m.superseded);
  }

  void Put() {
    Replica& rep = RandomReplica();
    const ClientCtx& c = RandomCtx();
    const bool tombstone = rng_() % 5 == 0;
    // A small value pool so identical values (retries) happen often.
    const std::string value = tombstone ? "" : std::string(1, static_cast<char>('a' + rng_() % 6));
    const size_t expect_count = rep.state.VersionCountAfterUpdate(c.ctx);
    // Writes of other keys at this agent move its node-wide counter on meanwhile.
    rep.node_counter += rng_() % 4;
    const uint64_t floor = rep.node_counter;
    const Dot dot = rep.state.Update(
        c.ctx, tombstone ? std::nullopt : std::optional<std::string_view>(value), rep.actor,
        floor);
    rep.node_counter = std::max(rep.node_counter, dot.counter + 1);
    ASSERT_EQ(rep.state.VersionCount(), expect_count);
    // Explicit model of update.
    SortedSet<ModelVersion> kept;
    for (const auto& v : rep.stored) {
      if (!Contains(c.dots, v.dot)) kept.push_back(v);
    }
    InsertAll(&rep.seen, c.dots);
    uint64_t max = 0;
    for (const Dot& d : rep.seen) {
      if (d.actor == rep.actor) max = std::max(max, d.counter);
    }
    ASSERT_EQ(dot, (Dot{rep.actor, std::max(max + 1, floor)}));
    ASSERT_TRUE(issued_.insert(dot).second) << "dot issued twice";
    Insert(&kept, ModelVersion{dot, tombstone, value});
    rep.stored = std::move(kept);
    // The state claims the actor's whole range up to the new dot.
    DotSet range;
    for (uint64_t i = 1; i <= dot.counter; ++i) range.push_back({rep.actor, i});
    InsertAll(&rep.seen, range);
    // Oracle.
    log_.push_back(Write{dot, tombstone, value});
    Insert(&rep.known, log_.size() - 1);
    InsertAll(&rep.superseded, c.dots);
    // The put reply's ctx: request ctx plus the new dot.
    ClientCtx reply = c;
    reply.ctx.Add(dot);
    Insert(&reply.dots, dot);
    Remember(std::move(reply));
    // Replicate: usually to some others right away, otherwise later.
    for (auto& other : replicas_) {
      if (&other == &rep) continue;
      const uint64_t r = rng_() % 3;
      if (r == 0) SyncInto(&other, Snapshot(rep));
      if (r == 1) inflight_.push_back(Snapshot(rep));
    }
  }

  void Send() { inflight_.push_back(Snapshot(RandomReplica())); }

  void Deliver() {
    if (inflight_.empty()) return;
    const size_t i = rng_() % inflight_.size();
    SyncInto(&RandomReplica(), inflight_[i]);
    if (rng_() % 4 != 0) {  // a quarter of messages stay to be delivered again (duplicates)
      inflight_[i] = std::move(inflight_.back());
      inflight_.pop_back();
    }
  }

  void DirectSync() {
    Replica& a = RandomReplica();
    Replica& b = RandomReplica();
    SyncInto(&a, Snapshot(b));
  }

  // A coordinator's get: merge the states of a random subset in a random order; the order must
  // not matter. Then read repair, and the client keeps the ctx.
  void Read() {
    std::vector<size_t> idx(replicas_.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::shuffle(idx.begin(), idx.end(), rng_);
    idx.resize(1 + rng_() % idx.size());
    Message merged{};
    for (size_t i : idx) {
      Message m = Snapshot(replicas_[i]);
      merged.state.Sync(m.state);
      ModelSync(&merged.stored, &merged.seen, m.stored, m.seen);
      InsertAll(&merged.known, m.known);
      InsertAll(&merged.superseded, m.superseded);
    }
    KeyState reverse;
    for (auto it = idx.rbegin(); it != idx.rend(); ++it) reverse.Sync(replicas_[*it].state);
    ASSERT_EQ(reverse.Encode(), merged.state.Encode());
    CheckState(merged.state, merged.stored, merged.seen, merged.known, merged.superseded);
    auto dec = CausalContext::Decode(merged.state.context().Encode());
    ASSERT_TRUE(dec.ok());
    Remember(ClientCtx{*dec, merged.seen});
    if (rng_() % 2) {
      for (size_t i : idx) SyncInto(&replicas_[i], merged);
    }
    algebra_pool_.push_back(merged.state);
  }

  // The replica's disk is replaced: empty state, new actor id.
  void Wipe() {
    Replica& rep = RandomReplica();
    rep = Replica{NewActor(), {}, 1, {}, {}, {}, {}};
  }

  void CheckState(const KeyState& s, const SortedSet<ModelVersion>& stored, const DotSet& seen,
                  const SortedSet<size_t>& known, const DotSet& superseded) {
    // Explicit model: the same versions and the same seen set.
    SortedSet<ModelVersion> got;
    for (const Version& v : s.versions()) got.push_back(ModelVersion{v.dot, v.tombstone, v.value});
    ASSERT_EQ(got, stored);  // also sorted by dot, no dot twice
    ASSERT_EQ(DotsOf(s.context()), seen);
    // Oracle: live values are exactly the known, non-superseded, non-tombstone writes.
    std::set<std::string> live;
    for (size_t w : known) {
      if (!Contains(superseded, log_[w].dot) && !log_[w].tombstone) live.insert(log_[w].value);
    }
    const std::vector<std::string> expect(live.begin(), live.end());
    ASSERT_EQ(s.LiveValues(), expect);
    ASSERT_EQ(s.HasLive(), !expect.empty());
    // Canonical encoding round trip.
    auto dec = KeyState::Decode(s.Encode());
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    ASSERT_EQ(*dec, s);
  }

  void CheckAll() {
    for (const auto& rep : replicas_) {
      CheckState(rep.state, rep.stored, rep.seen, rep.known, rep.superseded);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  // Sync is a join: commutative, associative, idempotent (compared by canonical bytes).
  void CheckAlgebra() {
    std::vector<const KeyState*> states;
    for (const auto& rep : replicas_) states.push_back(&rep.state);
    for (const auto& m : inflight_) states.push_back(&m.state);
    for (const auto& s : algebra_pool_) states.push_back(&s);
    auto join = [](KeyState a, const KeyState& b) {
      a.Sync(b);
      return a;
    };
    for (int i = 0; i < 8; ++i) {
      const KeyState& a = *states[rng_() % states.size()];
      const KeyState& b = *states[rng_() % states.size()];
      const KeyState& c = *states[rng_() % states.size()];
      ASSERT_EQ(join(a, b).Encode(), join(b, a).Encode());
      ASSERT_EQ(join(join(a, b), c).Encode(), join(a, join(b, c)).Encode());
      ASSERT_EQ(join(a, a).Encode(), a.Encode());
      // Absorption of what is already known: a ⊔ (a ⊔ b) = a ⊔ b.
      ASSERT_EQ(join(a, join(a, b)).Encode(), join(a, b).Encode());
    }
    if (algebra_pool_.size() > 16)
      algebra_pool_.erase(algebra_pool_.begin(), algebra_pool_.begin() + 8);
  }

  std::mt19937_64 rng_;
  std::vector<Replica> replicas_;
  std::vector<ClientCtx> pool_;
  std::vector<Message> inflight_;
  std::vector<Write> log_;
  std::vector<KeyState> algebra_pool_;
  std::set<ActorId> actors_;
  std::set<Dot> issued_;  // every dot Update returned, across all replicas
};

// Histories to run: thousands in an optimized build (a few seconds), fewer in Debug and
// sanitizer builds, which are an order of magnitude slower. RINGKV_PROPERTY_CASES overrides.
int Cases() {
  if (const char* env = std::getenv("RINGKV_PROPERTY_CASES")) return std::max(1, std::atoi(env));
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  return 2000;
#else
  return 100;
#endif
}

TEST(KeyStatePropertyTest, RandomHistoriesAgreeWithModels) {
  size_t writes = 0;
  const int cases = Cases();
  for (int seed = 1; seed <= cases; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Simulation sim(seed);
    sim.Run(120);
    if (HasFatalFailure()) return;
    writes += sim.writes();
  }
  std::printf("%d random histories of 120 steps, %zu writes checked\n", cases, writes);
}

// One storage agent (actor kActor) serving a few keys, its node-wide counter shared by all of
// them. Clients put and delete with contexts from any earlier moment (including from before a
// key was forgotten), read, and compaction forgets a key whose state holds only tombstones.
// The oracle knows which writes each context saw — write ids, not dots, so it cannot be fooled
// by a reused dot: a write is live iff the key's current state knows it and no write it knows
// saw it. Run with the floor every step must agree; without it (counters restart per key after
// a forget) the same histories must show lost writes, or the test could not fail.
class ForgetSimulation {
 public:
  ForgetSimulation(uint64_t seed, bool floor) : rng_(seed), floor_(floor), keys_(3) {
    for (auto& k : keys_) k.pool.push_back(Ctx{});  // a client with no ctx
  }

  // Runs `steps` steps and returns the number of steps where the state's live values differed
  // from the oracle's. With the floor, also asserts that no dot is issued twice for a key.
  int Run(int steps) {
    int mismatches = 0;
    for (int step = 0; step < steps; ++step) {
      Key& k = keys_[rng_() % keys_.size()];
      const uint64_t r = rng_() % 100;
      if (r < 45) {
        Put(&k, k.pool[PickCtx(k)], rng_() % 3 == 0);
      } else if (r < 60) {
        Put(&k, Read(k), true);  // read, then delete what was read
      } else if (r < 80) {
        k.pool.push_back(Read(k));
      } else if (k.state.OnlyTombstones()) {
        // Compaction drops the state after its grace period; the agent's counter stays.
        k.state = KeyState();
        k.known.clear();
        ++forgets_;
      }
      if (::testing::Test::HasFatalFailure()) return mismatches;
      if (k.state.LiveValues() != OracleLive(k)) ++mismatches;
      if (k.pool.size() > 64) k.pool.erase(k.pool.begin() + 1);  // keep the empty ctx at 0
    }
    return mismatches;
  }

  int forgets() const { return forgets_; }

 private:
  static constexpr ActorId kActor = 42;
  struct Ctx {
    CausalContext ctx;
    SortedSet<size_t> saw;  // ids of the writes the client saw
  };
  struct W {
    bool tombstone;
    std::string value;
    SortedSet<size_t> saw;
  };
  struct Key {
    KeyState state;
    SortedSet<size_t> known;  // writes the state knows, since it was last forgotten
    std::vector<Ctx> pool;    // contexts clients hold
    std::set<Dot> issued;
  };

  size_t PickCtx(const Key& k) {
    // Often recent, often very old (from before the key was forgotten).
    const size_t n = k.pool.size();
    return rng_() % 2 ? n - 1 - rng_() % std::min<size_t>(n, 3) : rng_() % n;
  }

  Ctx Read(const Key& k) { return Ctx{k.state.context(), k.known}; }

  void Put(Key* k, const Ctx& c, bool tombstone) {
    const std::string value(1, static_cast<char>('a' + rng_() % 8));
    std::optional<std::string_view> v;
    if (!tombstone) v = value;
    Dot dot;
    if (floor_) {
      node_counter_ += rng_() % 3;  // writes of keys outside the simulation
      const uint64_t counter = std::max(node_counter_, k->state.NextCounter(c.ctx, kActor));
      node_counter_ = counter + 1;
      dot = k->state.Update(c.ctx, v, kActor, counter);
      ASSERT_EQ(dot.counter, counter);
      ASSERT_TRUE(k->issued.insert(dot).second) << "dot issued twice for one key";
    } else {
      dot = k->state.Update(c.ctx, v, kActor);
    }
    writes_.push_back(W{tombstone, tombstone ? "" : value, c.saw});
    const size_t id = writes_.size() - 1;
    Insert(&k->known, id);
    Ctx reply = c;  // the put reply: request ctx plus the new dot
    reply.ctx.Add(dot);
    Insert(&reply.saw, id);
    k->pool.push_back(std::move(reply));
  }

  std::vector<std::string> OracleLive(const Key& k) const {
    std::set<std::string> live;
    for (size_t w : k.known) {
      if (writes_[w].tombstone) continue;
      bool seen = false;
      for (size_t o : k.known) seen = seen || Contains(writes_[o].saw, w);
      if (!seen) live.insert(writes_[w].value);
    }
    return std::vector<std::string>(live.begin(), live.end());
  }

  std::mt19937_64 rng_;
  const bool floor_;
  std::vector<Key> keys_;
  std::vector<W> writes_;
  uint64_t node_counter_ = 1;
  int forgets_ = 0;
};

TEST(KeyStatePropertyTest, ForgottenStatesNeverLoseWritesWithTheCounterFloor) {
  const int cases = std::max(1, Cases() / 4);
  int forgets = 0, lost_without_floor = 0;
  for (int seed = 1; seed <= cases; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ForgetSimulation with(seed, true);
    ASSERT_EQ(with.Run(200), 0) << "a write was superseded by one that did not see it";
    forgets += with.forgets();
    ForgetSimulation without(seed, false);
    lost_without_floor += without.Run(200) > 0 ? 1 : 0;
  }
  std::printf("%d histories with %d forgotten states; without the floor %d of them lose writes\n",
              cases, forgets, lost_without_floor);
  EXPECT_GT(forgets, 0);
  EXPECT_GT(lost_without_floor, 0) << "the oracle never caught the bug the floor fixes";
}

// Sync on states that did not come from one history but are still consistent (every dot names
// one value): a large random pool built from independent updates and partial syncs.
TEST(KeyStatePropertyTest, SyncIsAJoinOnRandomStates) {
  std::mt19937_64 rng(777);
  for (int iter = 0; iter < 3000; ++iter) {
    // Three actors each write a private sequence of dots; states take random subsets through
    // updates with random contexts of what they saw.
    std::vector<KeyState> states(4);
    for (int step = 0; step < 12; ++step) {
      KeyState& s = states[rng() % states.size()];
      if (rng() % 3 == 0) {
        s.Sync(states[rng() % states.size()]);
      } else {
        CausalContext ctx;
        if (rng() % 2) ctx = s.context();
        std::string v(1, static_cast<char>('a' + rng() % 3));
        // Each state is its own actor so dots stay unique.
        s.Update(ctx, rng() % 6 ? std::optional<std::string_view>(v) : std::nullopt,
                 static_cast<ActorId>(&s - states.data()) + 1);
      }
    }
    const KeyState& a = states[rng() % 4];
    const KeyState& b = states[rng() % 4];
    const KeyState& c = states[rng() % 4];
    auto join = [](KeyState x, const KeyState& y) {
      x.Sync(y);
      return x;
    };
    ASSERT_EQ(join(a, b).Encode(), join(b, a).Encode());
    ASSERT_EQ(join(join(a, b), c).Encode(), join(a, join(b, c)).Encode());
    ASSERT_EQ(join(a, a).Encode(), a.Encode());
    ASSERT_EQ(join(join(a, b), b).Encode(), join(a, b).Encode());
  }
}

}  // namespace
}  // namespace ringkv::version
