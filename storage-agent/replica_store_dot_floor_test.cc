// ReplicaStore with the node-wide dot counter floor on the real engine: a key deleted and
// dropped by compaction after its grace period, then written again (also across a restart),
// never gets a dot that a context handed out before covers; a ctx naming a dot this replica
// never issued is refused; DOT_FLOOR damage or absence at start-up.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "storage-agent/engine/test_util.h"
#include "storage-agent/memory_engine.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {
namespace {

using version::CausalContext;
using version::Dot;

struct FakeClock {
  std::atomic<int64_t> now{1000000};
};

engine::Options FloorOptions(const std::string& dir, FakeClock* clock) {
  engine::Options o;
  o.dir = dir;
  o.sync_mode = engine::SyncMode::kNone;
  o.tombstone_grace_ms = 10000;
  o.background_compaction = false;
  o.clock = [clock] { return clock->now.load(); };
  return o;
}

std::unique_ptr<ReplicaStore> OpenStore(const engine::Options& o) {
  auto s = ReplicaStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// Deletes `key` with its full context and lets compaction drop it (grace passed and a repair
// mark covering it, with the anti-entropy tree ready: docs/anti-entropy.md).
void DeleteAndCompactAway(ReplicaStore* store, FakeClock* clock, const std::string& key) {
  ASSERT_TRUE(store->RebuildAaeNow().ok());
  auto st = store->GetState(key);
  ASSERT_TRUE(st.ok() && st->has_value());
  ASSERT_TRUE(store->Update(key, (*st)->context(), std::nullopt, 64).ok());
  ASSERT_TRUE(store->Flush().ok());
  clock->now += 20000;
  ASSERT_TRUE(store->AddRepairMarks({{0, UINT64_MAX}}, static_cast<uint64_t>(clock->now.load())).ok());
  ASSERT_TRUE(store->Update("unrelated", CausalContext(), "x", 64).ok());
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(store->CompactAll().ok());
  auto gone = store->GetState(key);
  ASSERT_TRUE(gone.ok());
  ASSERT_FALSE(gone->has_value()) << "compaction did not drop the only-tombstone state";
}

// The task's scenario: a client read {A: n} before the delete; after the key is forgotten,
// another client writes blind; the first client's write with its old ctx must not supersede
// that write it never saw. `restart` reopens the store between the compaction and the writes.
void ForgottenKeyScenario(bool restart) {
  engine::testing::TempDir dir;
  FakeClock clock;
  const engine::Options o = FloorOptions(dir.path(), &clock);
  auto store = OpenStore(o);
  ASSERT_NE(store, nullptr);
  const version::ActorId actor = store->actor();

  CausalContext ctx;
  for (int i = 0; i < 5; ++i) {
    auto r = store->Update("k", ctx, "v" + std::to_string(i), 64);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ctx = r->state.context();
  }
  const CausalContext old_ctx = ctx;  // client X's read before the delete
  DeleteAndCompactAway(store.get(), &clock, "k");
  if (::testing::Test::HasFatalFailure()) return;
  if (restart) {
    ASSERT_TRUE(store->CloseCleanly().ok());  // a clean stop keeps the actor id
    store.reset();
    store = OpenStore(o);
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->actor(), actor);
  }

  auto blind = store->Update("k", CausalContext(), "unseen", 64);  // client Y
  ASSERT_TRUE(blind.ok()) << blind.status().ToString();
  EXPECT_FALSE(old_ctx.Covers(blind->dot)) << "counter " << blind->dot.counter;
  EXPECT_GT(blind->dot.counter, old_ctx.MaxCounter(actor));
  auto late = store->Update("k", old_ctx, "late", 64);  // client X, with its old ctx
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->state.LiveValues(), (std::vector<std::string>{"late", "unseen"}));
  auto stored = store->GetState("k");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->LiveValues(), (std::vector<std::string>{"late", "unseen"}));
}

TEST(ReplicaStoreDotFloor, OldCtxAfterCompactionDoesNotSupersedeUnseenWrite) {
  ForgottenKeyScenario(false);
}

TEST(ReplicaStoreDotFloor, OldCtxAfterCompactionAndRestartDoesNotSupersedeUnseenWrite) {
  ForgottenKeyScenario(true);
}

TEST(ReplicaStoreDotFloor, CountersGrowAcrossKeysAndRestarts) {
  engine::testing::TempDir dir;
  FakeClock clock;
  const engine::Options o = FloorOptions(dir.path(), &clock);
  uint64_t last = 0;
  for (int run = 0; run < 3; ++run) {
    auto store = OpenStore(o);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 20; ++i) {
      auto r = store->Update("key" + std::to_string(i % 4), CausalContext(), "v", 1000);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_GT(r->dot.counter, last);
      // A key's state stays one vector entry per actor however far its counters jump.
      EXPECT_TRUE(r->state.context().cloud().empty());
      last = r->dot.counter;
    }
  }
  std::printf("last counter after 3 runs of 20 writes: %llu (a restart skips at most %llu)\n",
              static_cast<unsigned long long>(last),
              static_cast<unsigned long long>(DotAllocator::kDefaultBlock));
}

TEST(ReplicaStoreDotFloor, CtxNamingADotThisReplicaNeverIssuedIsRefused) {
  auto e = std::make_unique<MemoryEngine>();
  MemoryEngine* mem = e.get();
  constexpr version::ActorId kActor = 0xA11CE;
  ReplicaStore store(std::move(e), kActor, DotAllocator::InMemory());
  auto r1 = store.Update("k", CausalContext(), "a", 64);
  ASSERT_TRUE(r1.ok());
  ASSERT_EQ(r1->dot, (Dot{kActor, 1}));
  const uint64_t puts = mem->puts();
  CausalContext forged;
  forged.Add({kActor, 2});  // the next counter: not issued yet
  auto r = store.Update("k", forged, "b", 64);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("never issued"), std::string::npos);
  EXPECT_EQ(mem->puts(), puts);
  // Near the ctx limit: refused too, and the node's counter did not move.
  CausalContext huge;
  huge.Add({kActor, version::kMaxContextCounter});
  EXPECT_EQ(store.Update("other", huge, "b", 64).status().code(),
            Status::Code::kInvalidArgument);
  // Real contexts pass, and other actors' counters are not this replica's business.
  CausalContext ok = r1->state.context();
  ok.Add({0xB0B, 1000});
  auto r2 = store.Update("k", ok, "c", 64);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->dot, (Dot{kActor, 2}));
  EXPECT_EQ(r2->state.LiveValues(), std::vector<std::string>{"c"});
}

TEST(ReplicaStoreDotFloor, RefusedWriteConsumesNoCounter) {
  ReplicaStore store(std::make_unique<MemoryEngine>(), 7, DotAllocator::InMemory());
  ASSERT_TRUE(store.Update("k", CausalContext(), "a", 1).ok());
  EXPECT_EQ(store.Update("k", CausalContext(), "b", 1).status().code(),
            Status::Code::kTooManySiblings);
  auto r = store.Update("j", CausalContext(), "c", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dot.counter, 2u);
}

TEST(ReplicaStoreDotFloor, DamagedDotFloorFailsOpenAndMissingOneStartsHigh) {
  engine::testing::TempDir dir;
  FakeClock clock;
  const engine::Options o = FloorOptions(dir.path(), &clock);
  {
    auto store = OpenStore(o);
    ASSERT_NE(store, nullptr);
    auto r = store->Update("k", CausalContext(), "v", 64);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->dot.counter, 1u);  // a new directory starts at 1
  }
  const std::string path = dir.File(kDotFloorFile);
  {
    std::ofstream out(path, std::ios::trunc);
    out << "ringkv-dot-floor 00000000000000x0\n";
  }
  auto bad = ReplicaStore::Open(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
  EXPECT_NE(bad.status().message().find(kDotFloorFile), std::string::npos);
  // A directory with data but without DOT_FLOOR (made before it existed) starts high enough
  // that none of its old contexts can cover a new dot.
  std::filesystem::remove(path);
  auto store = OpenStore(o);
  ASSERT_NE(store, nullptr);
  auto r = store->Update("k2", CausalContext(), "v", 64);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dot.counter, DotAllocator::kLegacyStart);
}

}  // namespace
}  // namespace ringkv::storage
