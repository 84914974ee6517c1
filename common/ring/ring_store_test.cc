// Tests of RingStore with real SQLite files: seed, reload, change, state, several handles and
// several processes seeding at once.
#include "common/ring/ring_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace ringkv {
namespace {

class RingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv_ring_store_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/ring.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<RingStore> OpenStore() {
    auto s = RingStore::Open(path_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static std::vector<NodeInfo> Nodes(int count) {
    std::vector<NodeInfo> out;
    for (int i = 1; i <= count; ++i) {
      NodeInfo n;
      n.id = "n" + std::to_string(i);
      n.rack = "r" + std::to_string(i % 2);
      n.client_endpoint = "tcp://127.0.0.1:" + std::to_string(24100 + 10 * i);
      n.storage_endpoint = "tcp://127.0.0.1:" + std::to_string(24101 + 10 * i);
      n.gossip_endpoint = "tcp://127.0.0.1:" + std::to_string(24102 + 10 * i);
      n.vnodes = 32;
      out.push_back(n);
    }
    return out;
  }
  static Replication Rf(const std::string& s) { return *Replication::Parse(s); }

  std::string dir_;
  std::string path_;
};

TEST_F(RingStoreTest, FreshStoreIsEmptyAtVersionZero) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto v = store->Version();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 0u);
  auto snap = store->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->nodes.empty());
  EXPECT_EQ(snap->version, 0u);
  EXPECT_FALSE(snap->BuildRing().ok());
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(RingStoreTest, SeedThenLoadReturnsTheRing) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto changed = store->Seed(Nodes(3), Rf("2"));
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_TRUE(*changed);
  auto snap = store->Load();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->version, 1u);
  EXPECT_EQ(snap->replication, Rf("2"));
  ASSERT_EQ(snap->nodes.size(), 3u);
  auto want = Nodes(3);
  for (size_t i = 0; i < 3; ++i) {
    const NodeInfo& n = snap->nodes[i];
    EXPECT_EQ(n.id, want[i].id);
    EXPECT_EQ(n.rack, want[i].rack);
    EXPECT_EQ(n.client_endpoint, want[i].client_endpoint);
    EXPECT_EQ(n.storage_endpoint, want[i].storage_endpoint);
    EXPECT_EQ(n.gossip_endpoint, want[i].gossip_endpoint);
    EXPECT_EQ(n.vnodes, 32u);
    EXPECT_EQ(n.state, NodeState::kNormal);
    EXPECT_EQ(n.tokens, Ring::TokensFor(n.id, 32)) << "tokens are stored";
  }
  // The ring from the store places keys exactly as the ring from the configuration.
  auto from_store = snap->BuildRing();
  auto from_config = Ring::Build(Nodes(3), Rf("2"));
  ASSERT_TRUE(from_store.ok() && from_config.ok());
  for (int i = 0; i < 500; ++i) {
    Token t = TokenOf("k" + std::to_string(i));
    auto a = from_store->PreferenceList(t);
    auto b = from_config->PreferenceList(t);
    ASSERT_EQ(a.size(), b.size());
    for (size_t j = 0; j < a.size(); ++j) EXPECT_EQ(a[j]->id, b[j]->id);
  }
}

TEST_F(RingStoreTest, SeedIsIdempotent) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(*store->Seed(Nodes(3), Rf("3")));
  auto again = store->Seed(Nodes(3), Rf("3"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  // Configuration order does not matter.
  auto nodes = Nodes(3);
  std::swap(nodes[0], nodes[2]);
  EXPECT_FALSE(*store->Seed(nodes, Rf("3")));
  EXPECT_EQ(*store->Version(), 1u);
}

TEST_F(RingStoreTest, ChangesBumpTheVersion) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(*store->Seed(Nodes(3), Rf("3")));
  auto nodes = Nodes(3);
  nodes[1].storage_endpoint = "tcp://127.0.0.1:24199";
  ASSERT_TRUE(*store->Seed(nodes, Rf("3")));
  EXPECT_EQ(*store->Version(), 2u);
  EXPECT_EQ(store->Load()->nodes[1].storage_endpoint, "tcp://127.0.0.1:24199");

  ASSERT_TRUE(*store->Seed(Nodes(4), Rf("3")));  // a node added
  EXPECT_EQ(store->Load()->nodes.size(), 4u);
  ASSERT_TRUE(*store->Seed(Nodes(2), Rf("3")));  // two removed
  EXPECT_EQ(store->Load()->nodes.size(), 2u);
  ASSERT_TRUE(*store->Seed(Nodes(2), Rf("1")));  // replication changed
  auto snap = store->Load();
  EXPECT_EQ(snap->replication, Rf("1"));
  EXPECT_EQ(snap->version, 5u);
}

TEST_F(RingStoreTest, InvalidMembershipIsRejectedAndNothingWritten) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto nodes = Nodes(2);
  nodes[1].id = "n1";
  auto r = store->Seed(nodes, Rf("3"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(*store->Version(), 0u);
  auto other_dc = store->Seed(Nodes(2), Rf("dc1:1,dc2:1"));
  EXPECT_FALSE(other_dc.ok());
  EXPECT_EQ(*store->Version(), 0u);
}

TEST_F(RingStoreTest, SetStateBumpsVersionAndSurvivesReseed) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(*store->Seed(Nodes(3), Rf("3")));
  ASSERT_TRUE(store->SetState("n2", NodeState::kDown).ok());
  EXPECT_EQ(*store->Version(), 2u);
  ASSERT_TRUE(store->SetState("n2", NodeState::kDown).ok());
  EXPECT_EQ(*store->Version(), 2u) << "no change, no new version";
  EXPECT_TRUE(store->SetState("n9", NodeState::kDown).IsNotFound());
  EXPECT_FALSE(*store->Seed(Nodes(3), Rf("3"))) << "state is not configuration";
  EXPECT_EQ(store->Load()->nodes[1].state, NodeState::kDown);
  auto ring = store->Load()->BuildRing();
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(ring->Find("n2")->state, NodeState::kDown);
}

TEST_F(RingStoreTest, SeedIfEmptyNeverOverwrites) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(*store->SeedIfEmpty(Nodes(3), Rf("3")));
  auto second = store->SeedIfEmpty(Nodes(5), Rf("2"));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  auto snap = store->Load();
  EXPECT_EQ(snap->nodes.size(), 3u);
  EXPECT_EQ(snap->version, 1u);
}

TEST_F(RingStoreTest, ReopenKeepsEverything) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    ASSERT_TRUE(*store->Seed(Nodes(4), Rf("3")));
    ASSERT_TRUE(store->SetState("n4", NodeState::kLeaving).ok());
  }
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto snap = store->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->version, 2u);
  ASSERT_EQ(snap->nodes.size(), 4u);
  EXPECT_EQ(snap->nodes[3].state, NodeState::kLeaving);
}

TEST_F(RingStoreTest, TwoHandlesSeeEachOthersChanges) {
  auto writer = OpenStore();
  auto reader = OpenStore();
  ASSERT_TRUE(writer && reader);
  EXPECT_EQ(*reader->Version(), 0u);
  ASSERT_TRUE(*writer->Seed(Nodes(3), Rf("3")));
  EXPECT_EQ(*reader->Version(), 1u);
  EXPECT_EQ(reader->Load()->nodes.size(), 3u);
  ASSERT_TRUE(reader->SetState("n1", NodeState::kDown).ok());
  EXPECT_EQ(*writer->Version(), 2u);
  EXPECT_EQ(writer->Load()->nodes[0].state, NodeState::kDown);
}

TEST_F(RingStoreTest, ConcurrentSeedFromManyHandles) {
  // Threads with their own connections lock like separate processes do.
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kThreads);
  std::vector<int> changed(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto store = RingStore::Open(path_);
      if (!store.ok()) {
        errors[t] = store.status().ToString();
        return;
      }
      for (int round = 0; round < 5; ++round) {
        auto r = (*store)->Seed(Nodes(3), Rf("3"));
        if (!r.ok()) {
          errors[t] = r.status().ToString();
          return;
        }
        changed[t] += *r ? 1 : 0;
        auto snap = (*store)->Load();
        if (!snap.ok() || snap->nodes.size() != 3) {
          errors[t] = "bad load";
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  int total_changed = 0;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    total_changed += changed[t];
  }
  EXPECT_EQ(total_changed, 1) << "exactly one seeding wins";
  EXPECT_EQ(*OpenStore()->Version(), 1u);
}

TEST_F(RingStoreTest, ConcurrentSeedFromProcesses) {
  constexpr int kProcs = 4;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: open the same (possibly not yet created) file and seed; exit code says how.
      auto store = RingStore::Open(path_);
      if (!store.ok()) _exit(10);
      for (int round = 0; round < 10; ++round) {
        auto r = (*store)->Seed(Nodes(5), Rf("3"));
        if (!r.ok()) _exit(11);
        auto snap = (*store)->Load();
        if (!snap.ok() || snap->nodes.size() != 5 || snap->version != 1) _exit(12);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->Version(), 1u);
}

TEST_F(RingStoreTest, OpenErrorsNameThePath) {
  auto missing = RingStore::Open(dir_ + "/no/such/dir/ring.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no/such/dir/ring.db"), std::string::npos)
      << missing.status().message();

  const std::string junk = dir_ + "/junk.db";
  std::ofstream(junk) << std::string(8192, 'x');
  auto bad = RingStore::Open(junk);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("junk.db"), std::string::npos)
      << bad.status().message();
}


namespace gp = gossip_protocol;

gp::NodeEntry Member(const std::string& id, uint64_t generation, uint64_t version) {
  gp::NodeEntry e;
  e.id = id;
  e.dc = "dc1";
  e.rack = "r" + id;
  e.client_endpoint = "tcp://127.0.0.1:1" + id.substr(1);
  e.storage_endpoint = "tcp://127.0.0.1:2" + id.substr(1);
  e.gossip_endpoint = "tcp://127.0.0.1:3" + id.substr(1);
  e.vnodes = 16;
  e.heartbeat = {generation, version};
  e.storage = {true, 1234567890123ull};
  e.coordinator = {false, 0};
  e.storage_direct_port = 7401;
  return e;
}

// A store written by the code before schema 2, with a seeded ring.
void WriteSchema1(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* sql = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE nodes(id TEXT PRIMARY KEY, dc TEXT NOT NULL, rack TEXT NOT NULL,
  client_endpoint TEXT NOT NULL, storage_endpoint TEXT NOT NULL, gossip_endpoint TEXT NOT NULL,
  vnodes INTEGER NOT NULL, state TEXT NOT NULL, tokens BLOB NOT NULL);
CREATE TABLE replication(dc TEXT PRIMARY KEY, factor INTEGER NOT NULL);
INSERT INTO meta VALUES ('schema', 1), ('version', 7);
INSERT INTO nodes VALUES ('n1', 'dc1', 'r1', 'tcp://a:1', 'tcp://a:2', 'tcp://a:3', 1, 'leaving',
  x'0000000000000005');
INSERT INTO replication VALUES ('dc1', 1);
)sql";
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_close(db);
}

int64_t SchemaOf(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema'", -1, &st, nullptr);
  int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

TEST_F(RingStoreTest, Schema1IsUpgradedKeepingTheRing) {
  WriteSchema1(path_);
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(SchemaOf(path_), RingStore::kSchemaVersion);
  auto snap = store->Load();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->version, 7u);
  ASSERT_EQ(snap->nodes.size(), 1u);
  EXPECT_EQ(snap->nodes[0].state, NodeState::kLeaving);
  EXPECT_EQ(snap->nodes[0].tokens, std::vector<Token>{5});
  auto members = store->LoadMembers();
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  EXPECT_TRUE(members->empty());
  auto g = store->NextGeneration(100);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, 100u);
  store.reset();
  store = OpenStore();  // a second open finds schema 2 and changes nothing
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Version().value(), 7u);
}

TEST_F(RingStoreTest, NewerSchemaIsRefused) {
  WriteSchema1(path_);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema'", nullptr,
                           nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = RingStore::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kCorruption);
  EXPECT_NE(s.status().message().find("schema version 99"), std::string::npos)
      << s.status().message();
}

TEST_F(RingStoreTest, MembersRoundTripAndForget) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  gp::NodeEntry a = Member("n1", 1700000000, 5);
  gp::NodeEntry b = Member("n2", 3, UINT64_MAX);  // full 64-bit values survive
  b.tokens = {1, UINT64_MAX};
  b.vnodes = 2;
  b.state = gp::MemberState::kRemoved;
  b.storage_direct_port = 0;
  MembershipSave save;
  save.members = {b, a};
  auto r = store->SaveMembership(save);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(*r);  // no ring written
  EXPECT_EQ(store->Version().value(), 0u);
  auto m = store->LoadMembers();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0], a);
  EXPECT_EQ((*m)[1], b);
  // An upsert replaces; a forget deletes.
  a.heartbeat.version = 6;
  save = {};
  save.members = {a};
  save.forget = {"n2"};
  ASSERT_TRUE(store->SaveMembership(save).ok());
  store.reset();
  store = OpenStore();
  m = store->LoadMembers();
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0], a);
}

TEST_F(RingStoreTest, DerivedRingBumpsTheVersionOnlyOnChange) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  MembershipSave save;
  save.write_ring = true;
  save.ring = Nodes(3);
  save.replication = Rf("2");
  ASSERT_TRUE(store->SaveMembership(save).value());
  EXPECT_EQ(store->Version().value(), 1u);
  EXPECT_FALSE(store->SaveMembership(save).value());  // same ring: same version
  EXPECT_EQ(store->Version().value(), 1u);
  // A state change counts (the derived ring carries the state, unlike Seed).
  save.ring[1].state = NodeState::kLeaving;
  EXPECT_TRUE(store->SaveMembership(save).value());
  auto snap = store->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->version, 2u);
  EXPECT_EQ(snap->nodes[1].state, NodeState::kLeaving);
  // A node leaves the ring (removed).
  save.ring.pop_back();
  EXPECT_TRUE(store->SaveMembership(save).value());
  EXPECT_EQ(store->Load()->nodes.size(), 2u);
  // A ring that does not build writes nothing, members included.
  MembershipSave bad = save;
  bad.replication = Rf("dc9:1");
  bad.members = {Member("n1", 1, 1)};
  auto r = store->SaveMembership(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(store->LoadMembers()->empty());
  EXPECT_EQ(store->Version().value(), 3u);
}

TEST_F(RingStoreTest, GenerationGrowsAcrossRestartsAndClockSteps) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->NextGeneration(1000).value(), 1000u);  // the start time
  EXPECT_EQ(store->NextGeneration(1000).value(), 1001u);  // same second: still higher
  EXPECT_EQ(store->NextGeneration(500).value(), 1002u);   // the clock went back
  EXPECT_EQ(store->NextGeneration(5000).value(), 5000u);
  // A generation raised in use (a refutation jumped past a claim) is never handed out again.
  MembershipSave save;
  save.generation = 9000;
  ASSERT_TRUE(store->SaveMembership(save).ok());
  save.generation = 10;  // lower: ignored
  ASSERT_TRUE(store->SaveMembership(save).ok());
  store.reset();
  store = OpenStore();
  EXPECT_EQ(store->NextGeneration(5001).value(), 9001u);
}
}  // namespace
}  // namespace ringkv
