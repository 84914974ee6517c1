// Manifest tests: encoding round trip, checksum failure, atomic replacement (a leftover
// MANIFEST.tmp never counts), and the engine removing crash leftovers at open.
#include "storage-agent/engine/manifest.h"

#include <gtest/gtest.h>

#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

using testing::TempDir;

ManifestData Sample() {
  ManifestData m;
  m.next_file_number = 42;
  m.log_number = 17;
  m.last_sequence = 123456789;
  m.tables.push_back(TableMeta{40, 1000, 10, 100, 200});
  m.tables.push_back(TableMeta{12, 99999999, 1000000, 1, 99});
  return m;
}

void ExpectEqual(const ManifestData& a, const ManifestData& b) {
  EXPECT_EQ(a.next_file_number, b.next_file_number);
  EXPECT_EQ(a.log_number, b.log_number);
  EXPECT_EQ(a.last_sequence, b.last_sequence);
  ASSERT_EQ(a.tables.size(), b.tables.size());
  for (size_t i = 0; i < a.tables.size(); ++i) {
    EXPECT_EQ(a.tables[i].file_number, b.tables[i].file_number);
    EXPECT_EQ(a.tables[i].file_size, b.tables[i].file_size);
    EXPECT_EQ(a.tables[i].num_entries, b.tables[i].num_entries);
    EXPECT_EQ(a.tables[i].min_seq, b.tables[i].min_seq);
    EXPECT_EQ(a.tables[i].max_seq, b.tables[i].max_seq);
  }
}

TEST(ManifestTest, EncodeDecodeRoundTrip) {
  ManifestData in = Sample(), out;
  ASSERT_TRUE(DecodeManifest(EncodeManifest(in), &out).ok());
  ExpectEqual(in, out);
}

TEST(ManifestTest, DamageIsCorruption) {
  std::string data = EncodeManifest(Sample());
  ManifestData out;
  for (size_t i = 0; i < data.size(); ++i) {
    std::string bad = data;
    bad[i] ^= 0x10;
    EXPECT_TRUE(DecodeManifest(bad, &out).IsCorruption()) << i;
  }
  EXPECT_TRUE(DecodeManifest(data.substr(0, data.size() - 1), &out).IsCorruption());
  EXPECT_TRUE(DecodeManifest("", &out).IsCorruption());
}

TEST(ManifestTest, AtomicReplaceAndReread) {
  TempDir d;
  ManifestData out;
  EXPECT_TRUE(ReadManifest(d.path(), &out).IsNotFound());
  ManifestData a = Sample();
  ASSERT_TRUE(WriteManifest(d.path(), a).ok());
  ManifestData b = a;
  b.tables.erase(b.tables.begin());
  b.next_file_number = 50;
  ASSERT_TRUE(WriteManifest(d.path(), b).ok());
  EXPECT_FALSE(FileExists(d.File("MANIFEST.tmp")));
  ASSERT_TRUE(ReadManifest(d.path(), &out).ok());
  ExpectEqual(b, out);
  // A crash while writing the next manifest leaves a partial MANIFEST.tmp: the old one stands.
  ASSERT_TRUE(WriteFileSync(d.File("MANIFEST.tmp"), "RKVMANIF-partial").ok());
  ASSERT_TRUE(ReadManifest(d.path(), &out).ok());
  ExpectEqual(b, out);
}

TEST(ManifestTest, TableFileNames) {
  EXPECT_EQ(TableFileName(12), "000012.sst");
  uint64_t n;
  EXPECT_TRUE(ParseTableFileName("000012.sst", &n));
  EXPECT_EQ(n, 12u);
  EXPECT_FALSE(ParseTableFileName("000012.sst.tmp", &n));
  EXPECT_FALSE(ParseTableFileName("MANIFEST", &n));
}

TEST(ManifestTest, EngineReopensFromManifestAndRemovesLeftovers) {
  TempDir d;
  Options o;
  o.dir = d.path();
  o.sync_mode = SyncMode::kNone;
  o.background_compaction = false;
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Put("a", "1").ok());
    ASSERT_TRUE((*e)->Flush().ok());
    ASSERT_TRUE((*e)->Put("b", "2").ok());
    ASSERT_TRUE((*e)->Flush().ok());
    EXPECT_EQ((*e)->Stats().sstables, 2u);
  }
  // Leftovers of a crash: a table that never reached the manifest, temp files.
  ASSERT_TRUE(WriteFileSync(d.File("000999.sst"), "stray").ok());
  ASSERT_TRUE(WriteFileSync(d.File("001000.sst.tmp"), "half written").ok());
  ASSERT_TRUE(WriteFileSync(d.File("MANIFEST.tmp"), "half written").ok());
  ASSERT_TRUE(WriteFileSync(d.File("IDENTITY"), "not ours").ok());
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_FALSE(FileExists(d.File("000999.sst")));
  EXPECT_FALSE(FileExists(d.File("001000.sst.tmp")));
  EXPECT_FALSE(FileExists(d.File("MANIFEST.tmp")));
  EXPECT_TRUE(FileExists(d.File("IDENTITY")));  // files that are not the engine's stay
  EXPECT_EQ((*e)->Stats().sstables, 2u);
  EXPECT_EQ(*(*e)->Get("a"), "1");
  EXPECT_EQ(*(*e)->Get("b"), "2");
  // New file numbers never collide with the stray one's.
  ASSERT_TRUE((*e)->Put("c", "3").ok());
  ASSERT_TRUE((*e)->Flush().ok());
  EXPECT_EQ(*(*e)->Get("c"), "3");
}

TEST(ManifestTest, MissingTableFileFailsOpen) {
  TempDir d;
  Options o;
  o.dir = d.path();
  o.sync_mode = SyncMode::kNone;
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Put("a", "1").ok());
    ASSERT_TRUE((*e)->Flush().ok());
  }
  auto names = ListDir(d.path());
  for (const auto& n : *names) {
    uint64_t num;
    if (ParseTableFileName(n, &num)) {
      ASSERT_TRUE(RemoveFile(d.File(n)).ok());
    }
  }
  EXPECT_FALSE(Engine::Open(o).ok());
}

}  // namespace
}  // namespace ringkv::engine
