// Tests of the repair checkpoint: a job and its done ranges survive a reopen (what a killed
// gossip agent resumes from), tokens keep all 64 bits, a new job supersedes the active one of its
// kind, requester ids find their job, and pruning keeps the newest.
#include "gossip-agent/repair_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

namespace ringkv::gossip {
namespace {

class RepairStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv_repair_store_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<RepairStore> Open() {
    auto s = RepairStore::Open(dir_ + "/repair.db");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string dir_;
};

std::vector<PlannedRange> Ranges() {
  return {{{0, 99}, {"n1", "n2", "n3"}, false},
          {{100, 0x8000000000000000ull}, {"n2", "n3", "n1"}, false},
          {{0x8000000000000001ull, UINT64_MAX}, {"n3"}, false}};
}

TEST_F(RepairStoreTest, AJobResumesWithItsDoneRangesAfterReopen) {
  int64_t id = 0;
  {
    auto store = Open();
    auto created = store->Create(42, "manual", "all", Ranges(), 1000);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    id = *created;
    ExchangeCounters d;
    d.keys_compared = 10;
    d.keys_sent = 3;
    d.bytes = 500;
    ASSERT_TRUE(store->Progress(id, {0, 2}, d, "").ok());
    ASSERT_TRUE(store->Progress(id, {}, d, "n2: timeout").ok());
  }
  auto store = Open();
  auto active = store->Active();
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  const RepairJob& j = (*active)[0];
  EXPECT_EQ(j.id, id);
  EXPECT_EQ(j.req, 42u);
  EXPECT_EQ(j.kind, "manual");
  EXPECT_EQ(j.done(), 2u);
  auto want = Ranges();
  want[0].done = want[2].done = true;
  EXPECT_EQ(j.ranges, want);
  EXPECT_EQ(j.counters.keys_compared, 20u);
  EXPECT_EQ(j.counters.keys_sent, 6u);
  EXPECT_EQ(j.counters.bytes, 1000u);
  EXPECT_EQ(j.error, "n2: timeout");
  ASSERT_TRUE(store->Finish(id, "complete", 2000).ok());
  auto after = store->Active();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  auto by = store->ByReq(42);
  ASSERT_TRUE(by.ok());
  ASSERT_TRUE(by->has_value());
  EXPECT_EQ((*by)->outcome, "complete");
  EXPECT_EQ((*by)->finished_ms, 2000);
  auto none = store->ByReq(43);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(RepairStoreTest, ANewJobSupersedesTheActiveOneOfItsKindOnly) {
  auto store = Open();
  auto p1 = store->Create(0, "periodic", "driven", Ranges(), 1);
  auto m1 = store->Create(7, "manual", "all", Ranges(), 2);
  auto p2 = store->Create(0, "periodic", "driven", Ranges(), 3);
  ASSERT_TRUE(p1.ok() && m1.ok() && p2.ok());
  auto active = store->Active();
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 2u);
  EXPECT_EQ((*active)[0].id, *m1);
  EXPECT_EQ((*active)[1].id, *p2);
  auto latest = store->Latest("periodic");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->id, *p2);
  ASSERT_TRUE(store->Finish(*m1, "complete", 5).ok());
  ASSERT_TRUE(store->Prune(1).ok());
  // p1 (superseded) was pruned; m1, the newest finished, stays.
  auto by = store->ByReq(7);
  ASSERT_TRUE(by.ok());
  EXPECT_TRUE(by->has_value());
  auto gone = store->Latest("periodic");
  ASSERT_TRUE(gone.ok() && gone->has_value());
  EXPECT_EQ((*gone)->id, *p2);
}

TEST_F(RepairStoreTest, RefusesAFileOfANewerSchema) {
  { auto store = Open(); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/repair.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema'", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = RepairStore::Open(dir_ + "/repair.db");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("schema version 99"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::gossip
