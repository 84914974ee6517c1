// Tests of the HintStore: durable across reopen, merging per (target, key), the seq guard that
// keeps a merge racing a delivery, the size bound, and refusal of undecodable states.
#include "gossip-agent/hint_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/version/key_state.h"

namespace ringkv::gossip {
namespace {

using version::CausalContext;
using version::KeyState;

std::string StateWith(const std::string& value, version::ActorId actor,
                      const KeyState& base = KeyState()) {
  KeyState s = base;
  s.Update(CausalContext(), value, actor);
  return s.Encode();
}

class HintStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv_hint_store_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<HintStore> Open(uint64_t max_bytes = 1 << 20) {
    auto s = HintStore::Open(dir_ + "/hints.db", max_bytes);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string dir_;
};

TEST_F(HintStoreTest, AddListRemoveSurvivesReopen) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Add("n2", "k1", StateWith("v1", 7), 100).ok());
    ASSERT_TRUE(store->Add("n3", "k2", StateWith("v2", 7), 101).ok());
    EXPECT_EQ(store->count(), 2u);
  }
  auto store = Open();
  EXPECT_EQ(store->count(), 2u);
  EXPECT_GT(store->bytes(), 0u);
  auto targets = store->Targets();
  ASSERT_TRUE(targets.ok());
  EXPECT_EQ(*targets, (std::vector<std::string>{"n2", "n3"}));
  auto hints = store->Oldest("n2", 10);
  ASSERT_TRUE(hints.ok());
  ASSERT_EQ(hints->size(), 1u);
  EXPECT_EQ((*hints)[0].key, "k1");
  auto state = KeyState::Decode((*hints)[0].state);
  ASSERT_TRUE(state.ok());
  ASSERT_TRUE(store->Remove((*hints)[0].id, (*hints)[0].seq).ok());
  EXPECT_EQ(store->count(), 1u);
  EXPECT_EQ(*store->CountFor("n2"), 0u);
  EXPECT_EQ(*store->CountFor("n3"), 1u);
}

TEST_F(HintStoreTest, SecondHintForSameKeyMergesAndGuardsDelivery) {
  auto store = Open();
  KeyState a;
  a.Update(CausalContext(), std::string("from-a"), 1);
  ASSERT_TRUE(store->Add("n2", "k", a.Encode(), 1).ok());
  auto before = store->Oldest("n2", 10);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 1u);

  // A concurrent write from another actor arrives while the first state is being delivered.
  KeyState b;
  b.Update(CausalContext(), std::string("from-b"), 2);
  ASSERT_TRUE(store->Add("n2", "k", b.Encode(), 2).ok());
  EXPECT_EQ(store->count(), 1u);  // one row per (target, key)

  // The delivery of the old seq acknowledges: the row must stay, it holds more now.
  ASSERT_TRUE(store->Remove((*before)[0].id, (*before)[0].seq).ok());
  auto after = store->Oldest("n2", 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  auto merged = KeyState::Decode((*after)[0].state);
  ASSERT_TRUE(merged.ok());
  KeyState expect = a;
  expect.Sync(b);
  EXPECT_EQ(*merged, expect);
  ASSERT_TRUE(store->Remove((*after)[0].id, (*after)[0].seq).ok());
  EXPECT_EQ(store->count(), 0u);
  EXPECT_EQ(store->bytes(), 0u);
}

TEST_F(HintStoreTest, FullStoreRefusesWithBusy) {
  auto store = Open(/*max_bytes=*/300);
  int added = 0;
  Status last;
  for (int i = 0; i < 100; ++i) {
    last = store->Add("n2", "key" + std::to_string(i), StateWith(std::string(40, 'x'), 3), i);
    if (!last.ok()) break;
    ++added;
  }
  EXPECT_GT(added, 0);
  EXPECT_LT(added, 100);
  EXPECT_EQ(last.code(), Status::Code::kBusy) << last.ToString();
  EXPECT_LE(store->bytes(), 300u);
}

// One group, one transaction: each hint gets its own outcome, and a refused one leaves the
// others stored (durably: they are there after a reopen).
TEST_F(HintStoreTest, AddAllRefusesOnlyTheBadMembersOfAGroup) {
  const std::string a = StateWith("a", 7);
  const std::string b = StateWith("b", 8);
  {
    auto store = Open(2000);
    const std::string big(3000, 'k');
    const std::vector<Status> out = store->AddAll({{"n2", "k1", a},
                                                   {"n2", "k2", "not a state"},
                                                   {"n2", big, a},
                                                   {"n2", "k1", b},  // merges into the first
                                                   {"n3", "k1", b}},
                                                  100);
    ASSERT_EQ(out.size(), 5u);
    EXPECT_TRUE(out[0].ok()) << out[0].ToString();
    EXPECT_EQ(out[1].code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(out[2].code(), Status::Code::kBusy);
    EXPECT_TRUE(out[3].ok()) << out[3].ToString();
    EXPECT_TRUE(out[4].ok()) << out[4].ToString();
    EXPECT_EQ(store->count(), 2u);
  }
  auto store = Open(2000);
  EXPECT_EQ(store->count(), 2u);
  auto n2 = store->Oldest("n2", 10);
  ASSERT_TRUE(n2.ok());
  ASSERT_EQ(n2->size(), 1u);
  auto merged = KeyState::Decode((*n2)[0].state);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->VersionCount(), 2u) << "both writes of k1 are in its one hint";
  // RemoveAll: one transaction for several removals; a stale seq is left alone.
  auto n3 = store->Oldest("n3", 10);
  ASSERT_TRUE(n3.ok() && n3->size() == 1u);
  ASSERT_TRUE(store->RemoveAll({{(*n2)[0].id, (*n2)[0].seq}, {(*n3)[0].id, (*n3)[0].seq + 1}}).ok());
  EXPECT_EQ(store->count(), 1u);
  auto left = store->Targets();
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, (std::vector<std::string>{"n3"}));
}

// A store that cannot write (another connection holds the write lock past the busy timeout)
// fails the whole group: nothing stored, no hint reported stored, and not mistaken for "full".
TEST_F(HintStoreTest, AddAllStoresNothingWhenTheStoreFails) {
  auto store = Open();
  ASSERT_TRUE(store->Add("n2", "before", StateWith("x", 7), 1).ok());
  const uint64_t bytes = store->bytes();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/hints.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::vector<Status> out =
      store->AddAll({{"n2", "k1", StateWith("a", 7)}, {"n2", "k2", StateWith("b", 7)}}, 2);
  ASSERT_EQ(out.size(), 2u);
  for (const Status& s : out) {
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.code(), Status::Code::kBusy) << "a locked store is not a full one: " << s.ToString();
  }
  EXPECT_EQ(store->count(), 1u);
  EXPECT_EQ(store->bytes(), bytes);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE(store->Add("n2", "k1", StateWith("a", 7), 3).ok());
  EXPECT_EQ(store->count(), 2u);
}

TEST_F(HintStoreTest, UndecodableStateIsRefused) {
  auto store = Open();
  Status s = store->Add("n2", "k", "not a key state", 1);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store->count(), 0u);
}

TEST_F(HintStoreTest, ExpireDropsHintsByTheirFirstTime) {
  auto store = Open();
  ASSERT_TRUE(store->Add("n2", "old", StateWith("v1", 7), 100).ok());
  ASSERT_TRUE(store->Add("n2", "new", StateWith("v2", 7), 500).ok());
  // A merge into the old row later does not make it young: it still carries the write of 100.
  ASSERT_TRUE(store->Add("n2", "old", StateWith("v3", 8), 900).ok());
  const uint64_t bytes_before = store->bytes();
  auto n = store->Expire(400);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(store->count(), 1u);
  EXPECT_LT(store->bytes(), bytes_before);
  auto left = store->Oldest("n2", 10);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].key, "new");
  auto none = store->Expire(400);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

}  // namespace
}  // namespace ringkv::gossip
