// The actor id across starts (storage-agent/clean_shutdown.h): kept only after a clean close;
// renewed after a crash, a salvage, --new-actor, a foreign or damaged marker. And the lost
// write that keeping it would cause: a directory that comes back without a state its actor
// replied with (a power loss, a restored snapshot) must not claim that state's dot.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "storage-agent/clean_shutdown.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/test_util.h"
#include "storage-agent/identity.h"
#include "storage-agent/memory_engine.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {
namespace {

namespace fs = std::filesystem;
using version::CausalContext;
using version::KeyState;

engine::Options StoreOptions(const std::string& dir) {
  engine::Options o;
  o.dir = dir;
  o.sync_mode = engine::SyncMode::kAlways;
  o.background_compaction = false;
  return o;
}

std::unique_ptr<ReplicaStore> OpenStore(const std::string& dir,
                                        ReplicaStore::OpenOptions open = {}) {
  auto s = ReplicaStore::Open(StoreOptions(dir), open);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

std::string MarkerPath(const std::string& dir) { return dir + "/" + kCleanShutdownFile; }

TEST(ReplicaStoreActor, KeptAfterCleanCloseOnly) {
  engine::testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  const version::ActorId first = store->actor();
  EXPECT_FALSE(store->renewed_actor()) << "a new directory's first actor is not a renewal";
  ASSERT_TRUE(store->Update("k", CausalContext(), "v", 64).ok());
  ASSERT_TRUE(store->CloseCleanly().ok());
  EXPECT_TRUE(fs::exists(MarkerPath(dir.path())));
  store.reset();

  store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->actor(), first) << "a clean close must keep the actor id";
  EXPECT_FALSE(store->renewed_actor());
  EXPECT_FALSE(fs::exists(MarkerPath(dir.path()))) << "the marker must be consumed at start";

  // No clean close: the next start cannot prove it kept what it replied with.
  store.reset();
  store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_NE(store->actor(), first) << "a start after a crash must take a new actor id";
  EXPECT_TRUE(store->renewed_actor());
  const version::ActorId second = store->actor();
  // The new id is durable: a clean close and reopen keeps it.
  ASSERT_TRUE(store->CloseCleanly().ok());
  store.reset();
  store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->actor(), second);
  // The value written under the first actor is still there.
  auto st = store->GetState("k");
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->LiveValues(), std::vector<std::string>{"v"});
}

TEST(ReplicaStoreActor, RenewedWhenForcedOrMarkerNotTrusted) {
  engine::testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  version::ActorId last = store->actor();

  // --new-actor (a backup restored from a stopped node) after a clean close.
  ASSERT_TRUE(store->CloseCleanly().ok());
  store.reset();
  store = OpenStore(dir.path(), ReplicaStore::OpenOptions{.new_actor = true});
  ASSERT_NE(store, nullptr);
  EXPECT_NE(store->actor(), last);
  last = store->actor();

  // A marker naming another actor (a directory moved or restored by hand).
  store.reset();
  ASSERT_TRUE(WriteCleanShutdown(dir.path(), last ^ 1).ok());
  store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_NE(store->actor(), last);
  last = store->actor();

  // A damaged marker, and a stop cut between writing the marker and renaming it.
  for (const char* damage : {"damaged", "tmp"}) {
    SCOPED_TRACE(damage);
    ASSERT_TRUE(store->CloseCleanly().ok());
    store.reset();
    if (std::string(damage) == "damaged") {
      std::ofstream(MarkerPath(dir.path()), std::ios::trunc) << "ringkv-clean zz\n";
    } else {
      fs::rename(MarkerPath(dir.path()), MarkerPath(dir.path()) + ".tmp");
    }
    store = OpenStore(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_NE(store->actor(), last);
    EXPECT_FALSE(fs::exists(MarkerPath(dir.path())));
    EXPECT_FALSE(fs::exists(MarkerPath(dir.path()) + ".tmp"));
    last = store->actor();
  }
}

// --salvage that skipped commit log records: the directory lost states this actor may have
// replied with, so even a marker of a clean stop does not keep the id.
TEST(ReplicaStoreActor, RenewedWhenSalvageSkippedRecords) {
  engine::testing::TempDir dir;
  engine::Options o = StoreOptions(dir.path());
  o.log_segment_bytes = 2048;    // several segments, so a damaged one is sealed
  o.memtable_bytes = 64 << 20;  // no flush: every write stays in the log
  version::ActorId actor = 0;
  {
    auto s = ReplicaStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    actor = (*s)->actor();
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE((*s)->Update("k" + std::to_string(i), CausalContext(), "v", 64).ok());
    }
  }  // no clean close: the records stay in the log
  std::vector<std::string> logs;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("log-") && name.ends_with(".log")) logs.push_back(name);
  }
  std::sort(logs.begin(), logs.end());
  ASSERT_GT(logs.size(), 2u);
  // Inside the first record of a sealed segment (after the segment's and the group's marks).
  engine::testing::FlipByte(dir.path() + "/" + logs[1], 2 * engine::log_format::kMarkRecordBytes + 5);
  ASSERT_TRUE(WriteCleanShutdown(dir.path(), actor).ok());  // as if the last stop were clean
  EXPECT_FALSE(ReplicaStore::Open(o).ok()) << "a damaged log must refuse to open";
  ASSERT_TRUE(WriteCleanShutdown(dir.path(), actor).ok());
  o.salvage = true;
  auto s = ReplicaStore::Open(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_GT((*s)->EngineStats().salvaged_records, 0u);
  EXPECT_NE((*s)->actor(), actor) << "a salvage that skipped records kept the actor id";
  EXPECT_TRUE((*s)->renewed_actor());
}

TEST(ReplicaStoreActor, ConsumeReportsWhatItFound) {
  engine::testing::TempDir dir;
  auto r = ConsumeCleanShutdown(dir.path(), 7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, LastStop::kUnclean);
  ASSERT_TRUE(WriteCleanShutdown(dir.path(), 7).ok());
  r = ConsumeCleanShutdown(dir.path(), 7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, LastStop::kClean);
  r = ConsumeCleanShutdown(dir.path(), 7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, LastStop::kUnclean) << "a marker proves one stop only";
  ASSERT_TRUE(WriteCleanShutdown(dir.path(), 8).ok());
  r = ConsumeCleanShutdown(dir.path(), 7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, LastStop::kOtherActor);
}

// Copies the files of a directory an agent has open, as a backup tool would: a file that
// vanishes meanwhile (a segment prepared and renamed by the engine's thread) is skipped, and
// so are temporary files and the LOCK.
void CopyRunningDirectory(const std::string& from, const std::string& to) {
  for (const auto& e : fs::directory_iterator(from)) {
    const std::string name = e.path().filename().string();
    if (name == "LOCK" || name.ends_with(".tmp") || !e.is_regular_file()) continue;
    std::error_code ec;
    fs::copy_file(e.path(), fs::path(to) / name, fs::copy_options::overwrite_existing, ec);
    ASSERT_TRUE(!ec || ec == std::errc::no_such_file_or_directory) << name << ": " << ec.message();
  }
}

// Issue 11, holes 1 and 3: replica A coordinates v1 (dot (A, F)) and B stores the state A
// replied with; A then comes back without v1 — here from a copy of its directory taken while
// it ran (a VM snapshot; a power loss before the early reply's log write is durable leaves the
// same directory). A blind write v2 through A must not make B drop v1, which v2's writer never
// saw. `trust_copy` forges the marker a clean stop would have left, which is what keeping the
// actor id amounted to before: then v1 is lost on B.
std::vector<std::string> ValuesOnBAfterRestore(bool trust_copy) {
  engine::testing::TempDir a_dir, snapshot;
  auto a = OpenStore(a_dir.path());
  EXPECT_NE(a, nullptr);
  if (a == nullptr) return {};
  EXPECT_TRUE(a->Update("other", CausalContext(), "x", 64).ok());
  EXPECT_TRUE(a->Flush().ok());
  CopyRunningDirectory(a_dir.path(), snapshot.path());
  auto v1 = a->Update("k", CausalContext(), "v1", 64);
  EXPECT_TRUE(v1.ok());
  KeyState on_b = v1->state;  // B synced the state A replied with; the client got ok
  const version::ActorId a_actor = a->actor();
  a.reset();

  fs::remove_all(a_dir.path());
  fs::copy(snapshot.path(), a_dir.path(), fs::copy_options::recursive);
  if (trust_copy) {
    EXPECT_TRUE(WriteCleanShutdown(a_dir.path(), a_actor).ok());
  }
  a = OpenStore(a_dir.path());
  EXPECT_NE(a, nullptr);
  if (a == nullptr) return {};
  EXPECT_EQ(a->actor() == a_actor, trust_copy);
  auto v2 = a->Update("k", CausalContext(), "v2", 64);  // a blind put through A
  EXPECT_TRUE(v2.ok());
  on_b.Sync(v2->state);
  return on_b.LiveValues();
}

TEST(ReplicaStoreActor, RestoredDirectoryDoesNotDropAWriteItLost) {
  EXPECT_EQ(ValuesOnBAfterRestore(/*trust_copy=*/false),
            (std::vector<std::string>{"v1", "v2"}));
  // The failure the new actor id prevents.
  EXPECT_EQ(ValuesOnBAfterRestore(/*trust_copy=*/true), std::vector<std::string>{"v2"});
}

}  // namespace
}  // namespace ringkv::storage

namespace ringkv::storage {
namespace {

// A write batch that failed after its early replies (the coordinator already forwarded their
// states) leaves the key's state without them; a later update built on that state would claim
// the lost dot. So after a failed batch the store issues no more dots.
class FailingBatchEngine : public MemoryEngine {
 public:
  Status WriteBatch(const std::vector<engine::WriteOp>&) override {
    return Status::IOError("injected: no space left on device");
  }
};

TEST(ReplicaStoreActor, NoDotsAfterAFailedBatch) {
  ReplicaStore store(std::make_unique<FailingBatchEngine>(), 42);
  ReplicaStore::WriteBatch batch;
  // A failed batch whose replies all waited for it exposed nothing: the key stays writable.
  ASSERT_TRUE(store.PrepareUpdate(&batch, "k", CausalContext(), "v0", 64).ok());
  EXPECT_FALSE(store.CommitBatch(&batch).ok());
  ASSERT_TRUE(store.PrepareUpdate(&batch, "k", CausalContext(), "v0", 64).ok());
  EXPECT_FALSE(store.CommitBatch(&batch).ok());
  auto v1 = store.PrepareUpdate(&batch, "k", CausalContext(), "v1", 64);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  batch.MarkRepliedEarly();  // its state went to the coordinator before the commit
  EXPECT_FALSE(store.CommitBatch(&batch).ok());
  auto v2 = store.Update("k", CausalContext(), "v2", 64);
  ASSERT_FALSE(v2.ok()) << "a dot issued on a state that lacks v1 would claim v1's dot";
  EXPECT_EQ(v2.status().code(), Status::Code::kIOError) << v2.status().ToString();
  ReplicaStore::WriteBatch again;
  EXPECT_FALSE(store.PrepareUpdate(&again, "k", CausalContext(), "v3", 64).ok());
  EXPECT_TRUE(again.empty());
}

}  // namespace
}  // namespace ringkv::storage
