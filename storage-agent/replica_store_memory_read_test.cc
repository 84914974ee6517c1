// ReplicaStore::Get with engine::ReadOptions::memory_only: the same checked state as a normal get
// when the engine can answer from memory, Incomplete (not "absent") when it would need the disk,
// Corruption for an undecodable stored state; over the in-memory fake and the real engine.
#include <gtest/gtest.h>

#include "storage-agent/engine/test_util.h"
#include "storage-agent/memory_engine.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {
namespace {

engine::ReadOptions MemoryOnly() {
  engine::ReadOptions ro;
  ro.memory_only = true;
  return ro;
}

TEST(ReplicaStoreMemoryRead, FakeEngine) {
  auto e = std::make_unique<MemoryEngine>();
  MemoryEngine* mem = e.get();
  ReplicaStore store(std::move(e), 0xBEEF);
  auto up = store.Update("k", version::CausalContext(), "v", 64);
  ASSERT_TRUE(up.ok()) << up.status().ToString();

  auto got = store.Get("k", MemoryOnly());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, up->state.Encode());
  auto absent = store.Get("absent", MemoryOnly());
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, std::nullopt);

  mem->SetOnDisk("k");
  EXPECT_TRUE(store.Get("k", MemoryOnly()).status().IsIncomplete());
  got = store.Get("k");  // the blocking read is unaffected
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, up->state.Encode());

  mem->SetRaw("garbage", "\xff\x01not a state");
  EXPECT_TRUE(store.Get("garbage", MemoryOnly()).status().IsCorruption());
}

TEST(ReplicaStoreMemoryRead, RealEngine) {
  engine::testing::TempDir dir;
  engine::Options o;
  o.dir = dir.path();
  o.sync_mode = engine::SyncMode::kNone;
  o.background_compaction = false;
  auto store = ReplicaStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ReplicaStore& s = **store;
  auto up = s.Update("k", version::CausalContext(), "v", 64);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  const std::string want = up->state.Encode();
  auto got = s.Get("k", MemoryOnly());  // in the memtable
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, want);

  ASSERT_TRUE(s.Flush().ok());  // now in a table whose block is not cached
  EXPECT_TRUE(s.Get("k", MemoryOnly()).status().IsIncomplete());
  got = s.Get("k");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, want);
  got = s.Get("k", MemoryOnly());  // the normal read cached the block
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, want);
}

}  // namespace
}  // namespace ringkv::storage
