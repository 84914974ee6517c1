// Unit tests of ReplicaStore over an in-memory engine: update/sync/get/scan semantics, the
// sibling cap, corruption reporting, per-key serialization under threads, and the identity file.
#include "storage-agent/replica_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "storage-agent/identity.h"
#include "storage-agent/memory_engine.h"

namespace ringkv::storage {
namespace {

using version::CausalContext;
using version::Dot;
using version::KeyState;

constexpr version::ActorId kActor = 0xA11CE;

struct Fixture {
  MemoryEngine* mem;
  std::unique_ptr<ReplicaStore> store;
  Fixture() {
    auto e = std::make_unique<MemoryEngine>();
    mem = e.get();
    store = std::make_unique<ReplicaStore>(std::move(e), kActor);
  }
};

TEST(ReplicaStore, UpdateCreatesAndSupersedes) {
  Fixture f;
  auto absent = f.store->Get("k");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  auto r1 = f.store->Update("k", CausalContext(), "v1", 64);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->dot, (Dot{kActor, 1}));
  EXPECT_EQ(r1->state.LiveValues(), std::vector<std::string>{"v1"});

  auto got = f.store->Get("k");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, r1->state.Encode());

  // A blind write makes a sibling; a write with the merged context supersedes both.
  auto r2 = f.store->Update("k", CausalContext(), "v2", 64);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->dot, (Dot{kActor, 2}));
  EXPECT_EQ(r2->state.VersionCount(), 2u);
  auto r3 = f.store->Update("k", r2->state.context(), "v3", 64);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->state.LiveValues(), std::vector<std::string>{"v3"});
  auto st = f.store->GetState("k");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(**st, r3->state);
}

TEST(ReplicaStore, TombstoneIsStoredAndRecognised) {
  Fixture f;
  auto r1 = f.store->Update("k", CausalContext(), "v", 64);
  ASSERT_TRUE(r1.ok());
  EXPECT_FALSE(ReplicaStore::StateIsOnlyTombstones(r1->state.Encode()));
  auto r2 = f.store->Update("k", r1->state.context(), std::nullopt, 64);
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->state.OnlyTombstones());
  EXPECT_FALSE(r2->state.HasLive());
  auto got = f.store->Get("k");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE(ReplicaStore::StateIsOnlyTombstones(**got));
  EXPECT_FALSE(ReplicaStore::StateIsOnlyTombstones("garbage"));
}

TEST(ReplicaStore, SiblingCapRefusesBeforeWriting) {
  Fixture f;
  ASSERT_TRUE(f.store->Update("k", CausalContext(), "a", 2).ok());
  ASSERT_TRUE(f.store->Update("k", CausalContext(), "b", 2).ok());
  uint64_t puts = f.mem->puts();
  auto before = f.store->Get("k");
  auto r = f.store->Update("k", CausalContext(), "c", 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kTooManySiblings);
  EXPECT_EQ(f.mem->puts(), puts);
  EXPECT_EQ(*f.store->Get("k"), *before);
  // A write that covers the siblings is fine at the same cap.
  auto st = f.store->GetState("k");
  ASSERT_TRUE(f.store->Update("k", (*st)->context(), "c", 2).ok());
  // Cap 1 still allows a fully superseding write.
  st = f.store->GetState("k");
  EXPECT_TRUE(f.store->Update("k", (*st)->context(), "d", 1).ok());
}

TEST(ReplicaStore, SyncMergesAndWritesOnlyOnChange) {
  Fixture f;
  KeyState remote;
  remote.Update(CausalContext(), "remote", 0xB0B);
  bool changed = false;
  ASSERT_TRUE(f.store->Sync("k", remote, &changed).ok());
  EXPECT_TRUE(changed);
  uint64_t puts = f.mem->puts();
  ASSERT_TRUE(f.store->Sync("k", remote, &changed).ok());
  EXPECT_FALSE(changed);
  EXPECT_EQ(f.mem->puts(), puts);
  // Syncing an empty state into an absent key writes nothing.
  ASSERT_TRUE(f.store->Sync("empty", KeyState(), &changed).ok());
  EXPECT_FALSE(changed);
  EXPECT_FALSE(f.store->Get("empty")->has_value());

  auto local = f.store->Update("k", CausalContext(), "local", 64);
  ASSERT_TRUE(local.ok());
  auto vals = local->state.LiveValues();
  EXPECT_EQ(vals.size(), 2u);
  // The remote side supersedes its own value having seen ours.
  KeyState remote2 = remote;
  remote2.Sync(local->state);
  remote2.Update(remote2.context(), "final", 0xB0B);
  ASSERT_TRUE(f.store->Sync("k", remote2, &changed).ok());
  EXPECT_TRUE(changed);
  EXPECT_EQ((*f.store->GetState("k"))->LiveValues(), std::vector<std::string>{"final"});
}

TEST(ReplicaStore, UndecodableStateIsCorruptionNeverData) {
  Fixture f;
  f.mem->SetRaw("bad", "\x01garbage");
  auto g = f.store->Get("bad");
  EXPECT_EQ(g.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(f.store->GetState("bad").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(f.store->Update("bad", CausalContext(), "x", 64).status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(f.store->Sync("bad", KeyState()).code(), Status::Code::kCorruption);
  std::vector<ReplicaStore::ScanEntry> out;
  bool more;
  EXPECT_EQ(f.store->Scan(0, UINT64_MAX, std::nullopt, 100, &out, &more).code(),
            Status::Code::kCorruption);
  // Engine-level corruption passes through.
  ASSERT_TRUE(f.store->Update("ok", CausalContext(), "x", 64).ok());
  f.mem->CorruptKey("ok");
  EXPECT_EQ(f.store->Get("ok").status().code(), Status::Code::kCorruption);
}

TEST(ReplicaStore, ScanInTokenOrderWithCursor) {
  Fixture f;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(f.store->Update("key" + std::to_string(i), CausalContext(), "v", 64).ok());
  }
  std::vector<std::string> all;
  std::optional<engine::ScanCursor> cursor;
  for (int round = 0; round < 100; ++round) {
    std::vector<ReplicaStore::ScanEntry> out;
    bool more = false;
    ASSERT_TRUE(f.store->Scan(0, UINT64_MAX, cursor, 7, &out, &more).ok());
    ASSERT_LE(out.size(), 7u);
    for (auto& e : out) {
      EXPECT_TRUE(KeyState::Decode(e.state).ok());
      all.push_back(e.key);
    }
    if (!more) break;
    cursor = engine::ScanCursor{TokenOf(out.back().key), out.back().key};
  }
  ASSERT_EQ(all.size(), 50u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(TokenOf(all[i - 1]), TokenOf(all[i]));
  // A sub-range holds exactly the keys whose token lies in it.
  Token lo = TokenOf(all[10]), hi = TokenOf(all[20]);
  std::vector<ReplicaStore::ScanEntry> out;
  bool more;
  ASSERT_TRUE(f.store->Scan(lo, hi, std::nullopt, 1000, &out, &more).ok());
  EXPECT_EQ(out.size(), 11u);
  EXPECT_FALSE(more);
}

TEST(ReplicaStore, ConcurrentBlindWritesLoseNothing) {
  Fixture f;
  constexpr int kThreads = 4, kPerThread = 400, kKeys = 5;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "k" + std::to_string(i % kKeys);
        auto r = f.store->Update(key, CausalContext(), std::to_string(t) + ":" + std::to_string(i),
                                 1u << 20);
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<uint64_t> counters;
  for (int k = 0; k < kKeys; ++k) {
    auto st = f.store->GetState("k" + std::to_string(k));
    ASSERT_TRUE(st.ok() && st->has_value());
    // Every blind write is a distinct sibling with a distinct dot: a lost read-modify-write
    // would show as fewer versions.
    EXPECT_EQ((*st)->VersionCount(), static_cast<size_t>(kThreads * kPerThread / kKeys));
    for (const auto& v : (*st)->versions()) counters.insert(v.dot.counter);
  }
  // The counters come from the node-wide floor: each one used once across all keys.
  EXPECT_EQ(counters.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*counters.begin(), 1u);
  EXPECT_EQ(*counters.rbegin(), static_cast<uint64_t>(kThreads * kPerThread));
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("ringkv-identity-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(Identity, CreatedOnceKeptAndRenewedWhenWiped) {
  TempDir d;
  std::string dir = d.path() + "/data";
  bool created = false;
  auto a = LoadOrCreateIdentity(dir, &created);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(created);
  EXPECT_NE(*a, 0u);
  auto b = LoadOrCreateIdentity(dir, &created);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(*a, *b);
  std::filesystem::remove_all(dir);
  auto c = LoadOrCreateIdentity(dir, &created);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(created);
  EXPECT_NE(*a, *c);
}

TEST(Identity, DamagedFileIsCorruption) {
  TempDir d;
  std::string dir = d.path();
  ASSERT_TRUE(LoadOrCreateIdentity(dir).ok());
  {
    std::ofstream out(dir + "/IDENTITY", std::ios::trunc);
    out << "ringkv-actor 00000000zzzz0001\n";
  }
  auto r = LoadOrCreateIdentity(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("IDENTITY"), std::string::npos);
  {
    std::ofstream out(dir + "/IDENTITY", std::ios::trunc);
    out << "";
  }
  EXPECT_EQ(LoadOrCreateIdentity(dir).status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace ringkv::storage
