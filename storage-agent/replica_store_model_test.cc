// Randomized model test of ReplicaStore on the real engine (issue 2 section 5, "puts/deletes/
// merges"): 200,000 mixed updates (puts and deletes with random, often stale contexts) and syncs
// (states of a simulated second replica) against a std::map<key, KeyState> model applying the
// same operations, with engine flushes, compactions and reopenings in between; every read and
// every scan must equal the model.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>

#include "storage-agent/engine/test_util.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {
namespace {

using version::CausalContext;
using version::KeyState;

constexpr version::ActorId kRemoteActor = 0xB0B0B0B0B0B0B0B0ull;

engine::Options ModelOptions(const std::string& dir) {
  engine::Options o;
  o.dir = dir;
  o.sync_mode = engine::SyncMode::kNone;
  o.memtable_bytes = 2 << 20;  // several flushes per run (plus the forced ones)
  o.block_bytes = 1024;
  o.block_cache_bytes = 1 << 20;
  o.compaction_min_tables = 3;
  return o;
}

int OpsFromEnv() {
  const char* e = std::getenv("RINGKV_MODEL_OPS");
  if (e == nullptr) return 200000;
  return std::max(1, std::atoi(e));
}

TEST(ReplicaStoreModel, RandomOpsMatchModelAcrossFlushCompactReopen) {
  engine::testing::TempDir dir;
  auto opened = ReplicaStore::Open(ModelOptions(dir.path()));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<ReplicaStore> store = std::move(*opened);
  const version::ActorId actor = store->actor();

  const int kOps = OpsFromEnv();
  constexpr int kKeys = 300;
  std::mt19937_64 rng(20261124);
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };

  std::map<std::string, KeyState> model;   // what this replica must hold
  std::map<std::string, KeyState> remote;  // the simulated second replica
  std::map<std::string, std::vector<CausalContext>> seen;  // contexts clients got, per key

  auto remember = [&](const std::string& key, const CausalContext& ctx) {
    auto& v = seen[key];
    if (v.size() < 8) {
      v.push_back(ctx);
    } else {
      v[pick(v.size())] = ctx;
    }
  };
  auto random_ctx = [&](const std::string& key) {
    uint64_t r = pick(10);
    auto& v = seen[key];
    if (r == 0 || v.empty()) return CausalContext();
    if (r < 4) return model[key].context();
    return v[pick(v.size())];
  };
  auto expect_key = [&](const std::string& key, int op) {
    auto st = store->GetState(key);
    ASSERT_TRUE(st.ok()) << "op " << op << ": " << st.status().ToString();
    auto it = model.find(key);
    if (it == model.end() || (it->second.VersionCount() == 0 && it->second.context().empty())) {
      ASSERT_FALSE(st->has_value()) << "op " << op << " key " << key;
    } else {
      ASSERT_TRUE(st->has_value()) << "op " << op << " key " << key;
      ASSERT_EQ(**st, it->second) << "op " << op << " key " << key;
    }
  };
  auto verify_all = [&](int op) {
    for (int k = 0; k < kKeys; ++k) {
      expect_key("key" + std::to_string(k), op);
      if (::testing::Test::HasFatalFailure()) return;
    }
    // A full scan returns exactly the model, in (token, key) order.
    std::map<std::pair<Token, std::string>, std::string> want;
    for (const auto& [k, s] : model) want[{TokenOf(k), k}] = s.Encode();
    std::vector<std::pair<std::string, std::string>> got;
    std::optional<engine::ScanCursor> cursor;
    for (int page = 0; page < 1000; ++page) {
      std::vector<ReplicaStore::ScanEntry> out;
      bool more = false;
      Status s = store->Scan(0, UINT64_MAX, cursor, 37, &out, &more);
      ASSERT_TRUE(s.ok()) << s.ToString();
      for (auto& e : out) got.emplace_back(e.key, e.state);
      if (!more) break;
      ASSERT_FALSE(out.empty());
      cursor = engine::ScanCursor{TokenOf(out.back().key), out.back().key};
    }
    ASSERT_EQ(got.size(), want.size()) << "op " << op;
    size_t i = 0;
    for (const auto& [tk, st] : want) {
      ASSERT_EQ(got[i].first, tk.second) << "op " << op;
      ASSERT_EQ(got[i].second, st) << "op " << op;
      ++i;
    }
  };

  int updates = 0, deletes = 0, refused = 0, syncs = 0, remote_writes = 0, reopens = 0;
  uint64_t last_counter = 0;  // of the last dot this replica issued
  uint64_t total_flushes = 0, total_compactions = 0;
  for (int op = 1; op <= kOps; ++op) {
    const std::string key = "key" + std::to_string(pick(kKeys));
    const uint64_t kind = pick(100);
    if (kind < 50) {
      // A client write coordinated here: put or delete with a random context.
      CausalContext ctx = random_ctx(key);
      bool tomb = pick(5) == 0;
      std::string value = "v" + std::to_string(op);
      std::optional<std::string_view> v;
      if (!tomb) v = value;
      uint64_t cap = (pick(4) == 0) ? 3 : 16;
      KeyState next = model[key];
      auto r = store->Update(key, ctx, v, cap);
      if (next.VersionCountAfterUpdate(ctx) > cap) {
        ASSERT_FALSE(r.ok()) << "op " << op;
        ASSERT_EQ(r.status().code(), Status::Code::kTooManySiblings) << r.status().ToString();
        ++refused;
      } else {
        ASSERT_TRUE(r.ok()) << "op " << op << ": " << r.status().ToString();
        // The counter comes from the node-wide floor: beyond the key's own next counter and
        // beyond every counter issued before, across keys and reopenings.
        ASSERT_GE(r->dot.counter, next.NextCounter(ctx, actor)) << "op " << op;
        ASSERT_GT(r->dot.counter, last_counter) << "op " << op;
        last_counter = r->dot.counter;
        version::Dot want_dot = next.Update(ctx, v, actor, r->dot.counter);
        ASSERT_EQ(r->dot, want_dot);
        ASSERT_EQ(r->state, next);
        model[key] = next;
        CausalContext reply_ctx = ctx;
        reply_ctx.Add(r->dot);
        remember(key, reply_ctx);
        tomb ? ++deletes : ++updates;
      }
    } else if (kind < 70) {
      // The other replica receives a write (its own actor), or replicates ours to itself.
      KeyState& rs = remote[key];
      if (pick(2) == 0) {
        rs.Sync(model[key]);
      }
      KeyState trial = rs;
      CausalContext ctx = pick(2) == 0 ? rs.context() : random_ctx(key);
      version::Dot d = trial.Update(ctx, std::string("r") + std::to_string(op), kRemoteActor);
      if (trial.VersionCount() <= 16) {
        rs = trial;
        ctx.Add(d);
        remember(key, ctx);
        ++remote_writes;
      }
    } else if (kind < 95) {
      // Replication / read repair: merge the other replica's state in.
      const KeyState& rs = remote[key];
      bool changed = false;
      Status s = store->Sync(key, rs, &changed);
      ASSERT_TRUE(s.ok()) << "op " << op << ": " << s.ToString();
      KeyState before = model[key];
      model[key].Sync(rs);
      ASSERT_EQ(changed, !(before == model[key])) << "op " << op;
      ++syncs;
    } else {
      // A read: the client learns the current context.
      expect_key(key, op);
      if (HasFatalFailure()) return;
      if (model.count(key)) remember(key, model[key].context());
    }
    // Drop empty model entries created by lookups so absence checks stay exact.
    if (auto it = model.find(key); it != model.end() && it->second.VersionCount() == 0 &&
                                   it->second.context().empty()) {
      model.erase(it);
    }
    if (pick(8) == 0) {
      expect_key(key, op);
      if (HasFatalFailure()) return;
    }

    if (op % 20000 == 0) {
      ASSERT_TRUE(store->Flush().ok());
    }
    if (op % 50000 == 0) {
      ASSERT_TRUE(store->CompactAll().ok());
    }
    if (op % 40000 == 0 || op == kOps) {
      verify_all(op);
      if (HasFatalFailure()) return;
      {
        engine::EngineStats es = store->EngineStats();
        total_flushes += es.flushes;
        total_compactions += es.compactions;
      }
      ASSERT_TRUE(store->CloseCleanly().ok());  // a clean stop keeps the actor id
      store.reset();
      auto again = ReplicaStore::Open(ModelOptions(dir.path()));
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      store = std::move(*again);
      ASSERT_EQ(store->actor(), actor) << "the actor id must survive a reopen";
      ++reopens;
      verify_all(op);
      if (HasFatalFailure()) return;
    }
  }
  std::printf("model: %d ops: %d puts, %d deletes, %d refused (too_many_siblings), %d syncs, "
              "%d remote writes, %d reopens; engine flushes %llu, compactions %llu\n",
              kOps, updates, deletes, refused, syncs, remote_writes, reopens,
              static_cast<unsigned long long>(total_flushes),
              static_cast<unsigned long long>(total_compactions));
  EXPECT_GT(total_flushes, 0u);
  EXPECT_GT(updates, 0);
  EXPECT_GT(deletes, 0);
  if (kOps >= 20000) {
    EXPECT_GT(refused, 0);
  }
  EXPECT_GT(syncs, 0);
}

// The engine's is_tombstone hook is wired to the version model: a key whose state holds only
// tombstones disappears in a compaction after the grace period, never before; a key with a live
// value (even next to a tombstone sibling) stays.
TEST(ReplicaStoreEngine, OnlyTombstoneStatesDroppedAfterGrace) {
  engine::testing::TempDir dir;
  std::atomic<int64_t> now{1000000};
  engine::Options o = ModelOptions(dir.path());
  o.tombstone_grace_ms = 10000;
  o.background_compaction = false;
  o.clock = [&now] { return now.load(); };
  auto opened = ReplicaStore::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = *opened;
  ASSERT_TRUE(store->RebuildAaeNow().ok());  // no drop while the tree is not ready

  auto put = store->Update("dead", CausalContext(), "v", 64);
  ASSERT_TRUE(put.ok());
  ASSERT_TRUE(store->Update("dead", put->state.context(), std::nullopt, 64).ok());
  ASSERT_TRUE(store->Update("live", CausalContext(), "v", 64).ok());
  auto m1 = store->Update("mixed", CausalContext(), "a", 64);
  ASSERT_TRUE(m1.ok());
  CausalContext only_first;
  only_first.Add(m1->dot);
  ASSERT_TRUE(store->Update("mixed", CausalContext(), "b", 64).ok());
  ASSERT_TRUE(store->Update("mixed", only_first, std::nullopt, 64).ok());  // b stays live
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(store->Update("other", CausalContext(), "x", 64).ok());
  ASSERT_TRUE(store->Flush().ok());

  ASSERT_TRUE(store->CompactAll().ok());
  auto dead = store->GetState("dead");
  ASSERT_TRUE(dead.ok());
  ASSERT_TRUE(dead->has_value()) << "a tombstone vanished before its grace period";
  EXPECT_TRUE((*dead)->OnlyTombstones());

  now += 20000;
  ASSERT_TRUE(store->Update("other2", CausalContext(), "x", 64).ok());
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(store->CompactAll().ok());
  dead = store->GetState("dead");
  ASSERT_TRUE(dead.ok());
  ASSERT_TRUE(dead->has_value()) << "past grace but no repair mark: must be kept";
  // A repair confirmed every replica holds the tombstone (docs/anti-entropy.md).
  ASSERT_TRUE(store->AddRepairMarks({{0, UINT64_MAX}}, static_cast<uint64_t>(now.load())).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  dead = store->GetState("dead");
  ASSERT_TRUE(dead.ok());
  EXPECT_FALSE(dead->has_value()) << "an only-tombstone state survived compaction past grace";
  auto live = store->GetState("live");
  ASSERT_TRUE(live.ok() && live->has_value());
  EXPECT_EQ((*live)->LiveValues(), std::vector<std::string>{"v"});
  auto mixed = store->GetState("mixed");
  ASSERT_TRUE(mixed.ok() && mixed->has_value());
  EXPECT_EQ((*mixed)->LiveValues(), std::vector<std::string>{"b"});
}

}  // namespace
}  // namespace ringkv::storage
