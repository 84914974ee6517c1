// Tests of a lost MANIFEST and of RepairDB: Open refuses a directory with data but no MANIFEST
// (or a MANIFEST naming a missing table) and removes nothing; a repair rebuilds the manifest
// from tables and log segments (stale ones included) so that every key reads its newest value,
// moves damaged files to lost/ and reports them, and cuts a torn log tail as open does.
#include "storage-agent/engine/repair.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/manifest.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

Options TestOptions(const std::string& dir) {
  Options o;
  o.dir = dir;
  o.sync_mode = SyncMode::kNone;
  o.memtable_bytes = 64 << 10;
  o.block_cache_bytes = 1 << 20;
  o.block_bytes = 1024;
  o.compression = Compression::kNone;
  o.background_compaction = false;  // keep the tables apart
  return o;
}

// Every file under dir (recursively) with its size, LOCK aside.
std::map<std::string, uint64_t> Files(const std::string& dir) {
  std::map<std::string, uint64_t> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename() != "LOCK") {
      out[fs::relative(e.path(), dir).string()] = e.file_size();
    }
  }
  return out;
}

std::vector<std::string> Named(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& [name, size] : Files(dir)) {
    if (name.find('/') == std::string::npos && name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(name);
    }
  }
  return out;
}

std::string Key(int i) { return "key-" + std::to_string(i); }

using Model = std::map<std::string, std::optional<std::string>>;

void Write(Engine* e, Model* m, int from, int to, const std::string& tag) {
  for (int i = from; i < to; ++i) {
    std::string v = tag + "-" + std::to_string(i) + std::string(40, 'x');
    ASSERT_TRUE(e->Put(Key(i), v).ok());
    (*m)[Key(i)] = v;
  }
}

void ExpectModel(Engine* e, const Model& m) {
  int wrong = 0;
  for (const auto& [k, v] : m) {
    auto r = e->Get(k);
    ASSERT_TRUE(r.ok()) << k << ": " << r.status().ToString();
    if (*r != v && ++wrong <= 5) {
      ADD_FAILURE() << k << ": got " << r->value_or("(absent)") << ", want "
                    << v.value_or("(absent)");
    }
  }
  EXPECT_EQ(wrong, 0);
}

// Three tables (with overwrites and deletes across them) and records still in the log.
void Populate(const Options& o, Model* m) {
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Write(e->get(), m, 0, 300, "a");
  ASSERT_TRUE((*e)->Flush().ok());
  Write(e->get(), m, 100, 200, "b");
  for (int i = 0; i < 300; i += 7) {
    ASSERT_TRUE((*e)->Delete(Key(i)).ok());
    (*m)[Key(i)] = std::nullopt;
  }
  ASSERT_TRUE((*e)->Flush().ok());
  Write(e->get(), m, 250, 400, "c");
  ASSERT_TRUE((*e)->Flush().ok());
  Write(e->get(), m, 150, 350, "d");  // only in the log
  ASSERT_TRUE((*e)->Delete(Key(3)).ok());
  (*m)[Key(3)] = std::nullopt;
}

void ExpectOpensWithModel(const Options& o, const Model& m) {
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ExpectModel(e->get(), m);
}

// Open fails with a Corruption that says `want`, and every file stays as it was.
void ExpectRefusedUnchanged(const Options& o, const std::string& want) {
  const auto before = Files(o.dir);
  auto e = Engine::Open(o);
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(e.status().IsCorruption()) << e.status().ToString();
  EXPECT_NE(e.status().message().find(want), std::string::npos) << e.status().ToString();
  EXPECT_EQ(Files(o.dir), before);
}

void ExpectRefusedNamingManifest(const Options& o) {
  ExpectRefusedUnchanged(o, o.dir + "/MANIFEST is missing");
}

Status Repair(const Options& o, RepairReport* r) {
  Status s = RepairDB(o, r);
  std::fprintf(stderr, "%s", FormatRepairReport(o.dir, *r).c_str());
  return s;
}

int Count(const RepairReport& r, RepairEntry::Action a) {
  int n = 0;
  for (const auto& e : r.entries) n += e.action == a;
  return n;
}

TEST(RepairTest, MissingManifestRefusesAndRemovesNothing) {
  TempDir d;
  Options o = TestOptions(d.path());
  Model m;
  Populate(o, &m);
  ASSERT_EQ(Named(d.path(), ".sst").size(), 3u);
  ASSERT_FALSE(Named(d.path(), ".log").empty());
  ASSERT_TRUE(RemoveFile(d.File("MANIFEST")).ok());
  auto before = Files(d.path());
  ExpectRefusedNamingManifest(o);
  ExpectRefusedNamingManifest(o);  // and again: still nothing removed
  EXPECT_EQ(Files(d.path()), before);
}

TEST(RepairTest, OwnerFilesWithoutManifestRefuse) {
  {
    TempDir d;  // DOT_FLOOR is only ever written after the engine's first open
    ASSERT_TRUE(WriteFileSync(d.File("DOT_FLOOR"), "x").ok());
    ExpectRefusedNamingManifest(TestOptions(d.path()));
  }
  {
    TempDir d;
    ASSERT_TRUE(WriteFileSync(d.File("IDENTITY"), "x").ok());
    Options o = TestOptions(d.path());
    o.prior_files = {"IDENTITY"};
    ExpectRefusedNamingManifest(o);
    // The storage agent creates IDENTITY in a new directory just before the first open.
    o.prior_files.clear();
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
  }
  {
    TempDir d;
    ASSERT_TRUE(WriteFileSync(d.File("log-000004.log"), "").ok());
    ExpectRefusedNamingManifest(TestOptions(d.path()));
    EXPECT_TRUE(FileExists(d.File("log-000004.log")));
  }
}

TEST(RepairTest, ManifestNamingMissingTableRefusesAndRemovesNothing) {
  TempDir d;
  Options o = TestOptions(d.path());
  Model m;
  Populate(o, &m);
  auto tables = Named(d.path(), ".sst");
  ASSERT_EQ(tables.size(), 3u);
  // An orphan (what a flush leaves when it dies before installing its table) must survive too.
  fs::copy_file(d.File(tables[0]), d.File("000999.sst"));
  ASSERT_TRUE(RemoveFile(d.File(tables[1])).ok());
  ExpectRefusedUnchanged(o, tables[1]);
  // A truncated table is refused the same way.
  ASSERT_TRUE(WriteFileSync(d.File(tables[1]), "").ok());
  ASSERT_TRUE(TruncateFile(d.File(tables[2]), 100).ok());
  ExpectRefusedUnchanged(o, tables[2] + " is 100 bytes");
}

// A MANIFEST restored from an earlier point beside the tables written since: the newer tables
// are not "leftovers" to remove.
TEST(RepairTest, OlderManifestBesideNewerTablesRefusesAndRemovesNothing) {
  TempDir d;
  TempDir side;
  Options o = TestOptions(d.path());
  Model m;
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    Write(e->get(), &m, 0, 100, "first");
    ASSERT_TRUE((*e)->Flush().ok());
    fs::copy_file(d.File("MANIFEST"), side.File("MANIFEST"));
    for (int round = 0; round < 3; ++round) {
      Write(e->get(), &m, 0, 100, "round" + std::to_string(round));
      ASSERT_TRUE((*e)->Flush().ok());
    }
  }
  fs::copy_file(side.File("MANIFEST"), d.File("MANIFEST"), fs::copy_options::overwrite_existing);
  ExpectRefusedUnchanged(o, "is older than the tables beside it");
  RepairReport r;
  ASSERT_TRUE(Repair(o, &r).ok());
  EXPECT_EQ(r.lost_files, 1u);  // the old MANIFEST, kept as lost/MANIFEST
  EXPECT_TRUE(FileExists(d.File("lost/MANIFEST")));
  ExpectOpensWithModel(o, m);
}

TEST(RepairTest, RepairRebuildsManifestAndEveryKeyReads) {
  TempDir d;
  Options o = TestOptions(d.path());
  Model m;
  Populate(o, &m);
  ASSERT_TRUE(WriteFileSync(d.File("CLEAN_SHUTDOWN"), "").ok());  // not the engine's: untouched
  ASSERT_TRUE(RemoveFile(d.File("MANIFEST")).ok());
  RepairReport r;
  ASSERT_TRUE(Repair(o, &r).ok());
  EXPECT_EQ(Count(r, RepairEntry::Action::kKept), 3);
  EXPECT_GE(Count(r, RepairEntry::Action::kReplayed), 1);
  EXPECT_EQ(Count(r, RepairEntry::Action::kLost), 0);
  EXPECT_EQ(r.lost_files, 0u);
  EXPECT_EQ(r.tables, 4u);
  EXPECT_TRUE(Named(d.path(), ".log").empty());  // replayed into a table
  EXPECT_TRUE(FileExists(d.File("CLEAN_SHUTDOWN")));
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ExpectModel(e->get(), m);
    Write(e->get(), &m, 0, 50, "after");  // new writes win over every repaired record
    ExpectModel(e->get(), m);
  }
  ExpectOpensWithModel(o, m);
}

// Files a crash leaves behind: a log segment already flushed but not yet removed, and the inputs
// of a compaction beside its output. Their records overlap the others' sequence ranges; the
// newest record of each key must still be the one read.
TEST(RepairTest, StaleLogAndCompactionInputsDoNotShadowNewerRecords) {
  TempDir d;
  TempDir side;
  Options o = TestOptions(d.path());
  Model m;
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    Write(e->get(), &m, 0, 200, "old");
    auto logs = Named(d.path(), ".log");
    ASSERT_FALSE(logs.empty());
    for (const auto& l : logs) fs::copy_file(d.File(l), side.File(l));
    ASSERT_TRUE((*e)->Flush().ok());
    Write(e->get(), &m, 0, 100, "new");
    ASSERT_TRUE((*e)->Flush().ok());
    Write(e->get(), &m, 50, 150, "newer");
    ASSERT_TRUE((*e)->Flush().ok());
    for (const auto& t : Named(d.path(), ".sst")) fs::copy_file(d.File(t), side.File(t));
    ASSERT_TRUE((*e)->CompactAll().ok());
    ASSERT_EQ(Named(d.path(), ".sst").size(), 1u);
    Write(e->get(), &m, 120, 180, "newest");
    ASSERT_TRUE((*e)->Flush().ok());
  }
  for (const auto& f : Files(side.path())) {
    if (!FileExists(d.File(f.first))) fs::copy_file(side.File(f.first), d.File(f.first));
  }
  ASSERT_TRUE(RemoveFile(d.File("MANIFEST")).ok());
  RepairReport r;
  ASSERT_TRUE(Repair(o, &r).ok());
  EXPECT_GE(Count(r, RepairEntry::Action::kRewritten), 3);
  EXPECT_EQ(r.lost_files, 0u);
  ExpectOpensWithModel(o, m);
}

TEST(RepairTest, DamagedTablesGoToLostAndAreReported) {
  TempDir d;
  Options o = TestOptions(d.path());
  Model m;
  Populate(o, &m);
  ASSERT_TRUE((*Engine::Open(o))->Flush().ok());  // the log too, so every record is in a table
  auto tables = Named(d.path(), ".sst");
  ASSERT_EQ(tables.size(), 4u);
  // The newest table: its last bytes (footer) damaged, nothing readable. The oldest: a data
  // block in its middle, so the entries before it are kept.
  const std::string newest = tables.back(), oldest = tables.front();
  const uint64_t newest_size = *FileSize(d.File(newest));
  testing::FlipByte(d.File(newest), newest_size - 3);
  testing::FlipByte(d.File(oldest), *FileSize(d.File(oldest)) / 3);
  ASSERT_TRUE(RemoveFile(d.File("MANIFEST")).ok());
  RepairReport r;
  ASSERT_TRUE(Repair(o, &r).ok());
  EXPECT_EQ(r.lost_files, 2u);
  std::set<std::string> lost;
  for (const auto& e : r.entries) {
    if (e.action == RepairEntry::Action::kLost) {
      lost.insert(e.file);
      EXPECT_FALSE(e.detail.empty());
      if (e.file == oldest) {
        EXPECT_GT(e.records, 0u);
      }
      if (e.file == newest) {
        EXPECT_EQ(e.records, 0u);
      }
    }
  }
  EXPECT_EQ(lost, (std::set<std::string>{newest, oldest}));
  EXPECT_TRUE(FileExists(d.File("lost/" + newest)));
  EXPECT_TRUE(FileExists(d.File("lost/" + oldest)));
  EXPECT_EQ(*FileSize(d.File("lost/" + newest)), newest_size);  // moved, byte for byte
  EXPECT_FALSE(FileExists(d.File(newest)));
  const std::string text = FormatRepairReport(d.path(), r);
  EXPECT_NE(text.find("LOST"), std::string::npos);
  EXPECT_NE(text.find(newest), std::string::npos);
  // The directory opens, and what it serves is never wrong: each key reads the value of one of
  // its writes (a lost table may hide the newest), and the keys whose records are all in the
  // undamaged tables (100-149: "b"; 350-399: "c") read exactly their newest state.
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  for (const auto& [k, v] : m) {
    auto got = (*e)->Get(k);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const int i = std::stoi(k.substr(4));
    if ((i >= 100 && i < 150) || i >= 350) {
      EXPECT_EQ(*got, v) << k;
    }
    const std::string suffix = "-" + k.substr(4) + std::string(40, 'x');
    if (got->has_value()) {
      EXPECT_TRUE(got->value().size() > suffix.size() &&
                  got->value().compare(got->value().size() - suffix.size(), suffix.size(),
                                       suffix) == 0)
          << k << ": " << **got;
    }
  }
}

TEST(RepairTest, TornLogTailIsCutAndTheRestKept) {
  TempDir d;
  Options o = TestOptions(d.path());
  o.memtable_bytes = 1 << 20;
  Model m;
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    Write(e->get(), &m, 0, 100, "v");
  }
  auto logs = Named(d.path(), ".log");
  ASSERT_FALSE(logs.empty());
  const std::string last = d.File(logs.back());
  const uint64_t size = *FileSize(last);
  // A torn group: a frame header that promises more bytes than reached the disk.
  testing::OverwriteBytes(last, size, std::string("\x12\x34\x56\x78\xff\x00\x00\x00\x01garb", 13));
  ASSERT_TRUE(RemoveFile(d.File("MANIFEST")).ok());
  ExpectRefusedNamingManifest(o);
  RepairReport r;
  ASSERT_TRUE(Repair(o, &r).ok());
  bool cut = false;
  for (const auto& e : r.entries) {
    if (e.file == logs.back()) {
      EXPECT_EQ(e.action, RepairEntry::Action::kReplayed);
      EXPECT_EQ(e.records, 100u);
      cut = e.detail.find("unsynced tail cut at offset " + std::to_string(size)) !=
            std::string::npos;
    }
  }
  EXPECT_TRUE(cut);
  ExpectOpensWithModel(o, m);
}

TEST(RepairTest, RepairRefusesADirectoryInUse) {
  TempDir d;
  Options o = TestOptions(d.path());
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok());
  RepairReport r;
  Status s = RepairDB(o, &r);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  TempDir none;
  s = RepairDB(TestOptions(none.File("missing")), &r);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

}  // namespace
}  // namespace ringkv::engine
