// WriteBatcher over a ReplicaStore on the in-memory engine: a deferred reply goes out only at
// Commit, after the early replies the before-commit step sends, and the write is readable only
// then; a full batch commits at once; Commit with nothing deferred sends nothing.
#include "storage-agent/write_batcher.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage-agent/memory_engine.h"

namespace ringkv::storage {
namespace {

struct Fixture {
  net::Reactor reactor;
  ServerCounters counters;
  std::unique_ptr<ReplicaStore> store =
      std::make_unique<ReplicaStore>(std::make_unique<MemoryEngine>(), 7);
  std::vector<std::string> sent;  // "route:body" in order, "early" for the before-commit step
  WriteBatcher writes{store.get(), &reactor, &counters,
                      [this](const net::Frames& route, std::string_view body) {
                        sent.push_back(route.at(0) + ":" + std::string(body));
                      },
                      [this] { sent.push_back("early"); }};

  void Prepare(const std::string& key, const std::string& value) {
    auto up = store->PrepareUpdate(&writes.batch(), key, version::CausalContext(), value, 10);
    ASSERT_TRUE(up.ok()) << up.status().ToString();
  }
};

TEST(WriteBatcherTest, RepliesWaitForTheCommit) {
  Fixture f;
  f.Prepare("k1", "v1");
  f.writes.Defer(net::Frames{"c1"}, 1, false, "ok-1");
  f.Prepare("k2", "v2");
  f.writes.Defer(net::Frames{"c2"}, 2, false, "ok-2");
  EXPECT_TRUE(f.sent.empty()) << "replied before the batch was written";
  f.writes.Commit();
  EXPECT_EQ(f.sent, (std::vector<std::string>{"early", "c1:ok-1", "c2:ok-2"}));
  EXPECT_EQ(f.counters.write_batches.load(), 1u);
  auto got = f.store->Get("k1", engine::ReadOptions());
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->has_value()) << "committed write not readable";
  f.sent.clear();
  f.writes.Commit();
  EXPECT_EQ(f.sent, (std::vector<std::string>{"early"})) << "an empty commit replies nothing";
  EXPECT_EQ(f.counters.write_batches.load(), 1u);
  EXPECT_FALSE(f.writes.paused());
}

TEST(WriteBatcherTest, FullBatchCommitsAtOnce) {
  Fixture f;
  int replies = 0;
  int candidate = 0;
  for (int i = 0; i < 64; ++i) {
    // Keys sharing a lock stripe with one in the batch cannot join it (the frontend commits
    // first then): take keys of distinct stripes.
    std::string key;
    do {
      key = "key-" + std::to_string(candidate++);
    } while (f.store->BatchHoldsStripe(f.writes.batch(), key) && candidate < 100000);
    f.Prepare(key, "v");
    f.writes.Defer(net::Frames{"c"}, static_cast<uint64_t>(i), false, "ok");
    replies = 0;
    for (const std::string& s : f.sent) replies += s == "c:ok";
    if (i < 63) {
      ASSERT_EQ(replies, 0) << "committed early at write " << i;
    }
  }
  EXPECT_EQ(replies, 64) << "64 writes fill a batch";
  EXPECT_EQ(f.writes.batch().size(), 0u);
}

}  // namespace
}  // namespace ringkv::storage
