// Tests of TableBuilder/Table: round trips with every compression, Get of present and absent
// keys, iteration and Seek, damaged files (data block, footer, index, truncation, random
// flips) reported as Corruption naming the file and never as wrong data, obsolete tables.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage-agent/engine/block_cache.h"
#include "storage-agent/engine/table.h"
#include "storage-agent/engine/table_format.h"

namespace ringkv::engine {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "ringkv-table-test-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) std::abort();
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

using Model = std::map<std::string, std::string>;

// Random keys (an 8-byte random prefix like the engine's token, then a readable part) and
// values that are partly random and partly repetitive, so that compression has work to do.
Model RandomModel(int n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  Model m;
  while (static_cast<int>(m.size()) < n) {
    std::string k(8, '\0');
    const uint64_t t = rng();
    for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(t >> (8 * (7 - i)));
    k += "user-" + std::to_string(rng() % 1000000000);
    std::string v(rng() % 40, static_cast<char>('a' + rng() % 26));
    const size_t rand_bytes = rng() % 120;
    for (size_t i = 0; i < rand_bytes; ++i) v.push_back(static_cast<char>(rng()));
    m.emplace(std::move(k), std::move(v));
  }
  return m;
}

Status Write(const std::string& path, const Model& m, const TableOptions& opts) {
  auto b = TableBuilder::Create(path, opts);
  if (!b.ok()) return b.status();
  for (const auto& [k, v] : m) RINGKV_RETURN_IF_ERROR((*b)->Add(k, v));
  EXPECT_EQ((*b)->NumEntries(), m.size());
  RINGKV_RETURN_IF_ERROR((*b)->Finish());
  EXPECT_EQ((*b)->FileSize(), fs::file_size(path));
  return Status::OK();
}

std::string AbsentKey(const Model& m, std::mt19937_64* rng) {
  for (;;) {
    std::string k = "absent-" + std::to_string((*rng)());
    if (!m.count(k)) return k;
  }
}

void FlipByte(const std::string& path, uint64_t offset, char mask = '\x55') {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.read(&c, 1);
  c ^= mask;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

class TableRoundTrip : public ::testing::TestWithParam<Compression> {};

TEST_P(TableRoundTrip, HundredThousandRandomEntries) {
  TempDir dir;
  const Model m = RandomModel(100000, 42);
  TableOptions opts;
  opts.compression = GetParam();
  const std::string path = dir.File("000001.sst");
  ASSERT_TRUE(Write(path, m, opts).ok());

  BlockCache cache(8 << 20);
  auto t = Table::Open(path, 1, &cache);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const auto& table = *t;
  EXPECT_EQ(table->num_entries(), m.size());
  EXPECT_EQ(table->file_size(), fs::file_size(path));
  EXPECT_EQ(table->file_number(), 1u);
  EXPECT_GT(table->MemoryUsage(), 100000u * 10 / 8);  // at least the Bloom filter
  std::printf("compression %d: file %llu bytes for %zu entries, index+filter memory %llu\n",
              static_cast<int>(GetParam()), static_cast<unsigned long long>(table->file_size()),
              m.size(), static_cast<unsigned long long>(table->MemoryUsage()));

  // Every present key, in random order.
  std::vector<const Model::value_type*> entries;
  for (const auto& e : m) entries.push_back(&e);
  std::shuffle(entries.begin(), entries.end(), std::mt19937_64(7));
  auto start = std::chrono::steady_clock::now();
  for (const auto* e : entries) {
    auto r = table->Get(e->first);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(r->has_value()) << e->first;
    ASSERT_EQ(**r, e->second);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  Get of %zu present keys: %.0f ops/s (cache hits %llu, misses %llu)\n",
              entries.size(), entries.size() / secs,
              static_cast<unsigned long long>(cache.hits()),
              static_cast<unsigned long long>(cache.misses()));

  // Absent keys: outside the key range, between keys, and just after present keys.
  std::mt19937_64 rng(9);
  int bloom_before = static_cast<int>(table->bloom_negatives());
  for (int i = 0; i < 20000; ++i) {
    std::string k = AbsentKey(m, &rng);
    auto r = table->Get(k);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value()) << k;
    std::string near = entries[i]->first + '\x01';
    if (m.count(near)) continue;
    r = table->Get(near);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value());
  }
  EXPECT_GT(static_cast<int>(table->bloom_negatives()) - bloom_before, 35000);
  auto r = table->Get("");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = table->Get(std::string(20, '\xff'));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());

  // Full walk in order.
  auto it = table->NewIterator();
  auto mit = m.begin();
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++mit, ++n) {
    ASSERT_NE(mit, m.end());
    ASSERT_EQ(it->key(), mit->first);
    ASSERT_EQ(it->value(), mit->second);
  }
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(n, m.size());

  // Seek to present keys, to keys just before and after them, and past the end.
  for (int i = 0; i < 2000; ++i) {
    const std::string& k = entries[i]->first;
    it->Seek(k);
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ(it->key(), k);
    it->Seek(k + '\0');
    auto next = m.upper_bound(k);
    if (next == m.end()) {
      EXPECT_FALSE(it->Valid());
    } else {
      ASSERT_TRUE(it->Valid());
      EXPECT_EQ(it->key(), next->first);
      // And a few Next() steps keep agreeing with the model across block boundaries.
      for (int s = 0; s < 40 && next != m.end(); ++s, ++next) {
        ASSERT_TRUE(it->Valid());
        EXPECT_EQ(it->key(), next->first);
        it->Next();
      }
    }
  }
  it->Seek("");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), m.begin()->first);
  it->Seek(std::string(20, '\xff'));
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

INSTANTIATE_TEST_SUITE_P(AllCompressions, TableRoundTrip,
                         ::testing::Values(Compression::kNone, Compression::kLz4,
                                           Compression::kZstd));

TEST(TableTest, CompressionShrinksCompressibleData) {
  TempDir dir;
  Model m;
  for (int i = 0; i < 20000; ++i) {
    char k[32];
    std::snprintf(k, sizeof(k), "key%08d", i);
    m[k] = std::string(100, static_cast<char>('a' + i % 3));
  }
  uint64_t sizes[3];
  int i = 0;
  for (Compression c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    TableOptions opts;
    opts.compression = c;
    const std::string path = dir.File("c" + std::to_string(i) + ".sst");
    ASSERT_TRUE(Write(path, m, opts).ok());
    sizes[i++] = fs::file_size(path);
    auto t = Table::Open(path, 1, nullptr);
    ASSERT_TRUE(t.ok());
    auto r = (*t)->Get("key00012345");
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ(**r, m["key00012345"]);
  }
  std::printf("sizes: none %llu, lz4 %llu, zstd %llu\n", static_cast<unsigned long long>(sizes[0]),
              static_cast<unsigned long long>(sizes[1]), static_cast<unsigned long long>(sizes[2]));
  EXPECT_LT(sizes[1], sizes[0] / 2);
  EXPECT_LT(sizes[2], sizes[0] / 2);
}

TEST(TableTest, EmptyTableAndLargeValuesAndSmallBlocks) {
  TempDir dir;
  ASSERT_TRUE(Write(dir.File("empty.sst"), {}, TableOptions{}).ok());
  auto t = Table::Open(dir.File("empty.sst"), 1, nullptr);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->num_entries(), 0u);
  EXPECT_FALSE((*t)->MayContain("x"));
  auto r = (*t)->Get("x");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  auto it = (*t)->NewIterator();
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->Seek("a");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());

  Model m;
  for (int i = 0; i < 50; ++i) m["k" + std::to_string(i)] = std::string(i * 3000, static_cast<char>(i));
  TableOptions small;
  small.block_bytes = 64;
  small.bloom_bits_per_key = 0;  // no filter: nothing ruled out
  ASSERT_TRUE(Write(dir.File("big.sst"), m, small).ok());
  t = Table::Open(dir.File("big.sst"), 2, nullptr);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE((*t)->MayContain("nope"));
  for (const auto& [k, v] : m) {
    r = (*t)->Get(k);
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ(**r, v);
  }
}

TEST(TableTest, OutOfOrderAddIsRejectedAndAbandonRemovesTheFile) {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  auto b = TableBuilder::Create(path, TableOptions{});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Add("b", "1").ok());
  EXPECT_EQ((*b)->Add("a", "2").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*b)->Add("b", "2").code(), Status::Code::kInvalidArgument);
  (*b)->Abandon();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(TableBuilder::Create(dir.File("no/such/dir.sst"), TableOptions{}).ok());
  EXPECT_FALSE(Table::Open(dir.File("missing.sst"), 1, nullptr).ok());
}

// Writes an uncompressed table with small blocks and returns its model.
Model WriteCorruptible(const std::string& path) {
  const Model m = RandomModel(5000, 5);
  TableOptions opts;
  opts.compression = Compression::kNone;
  EXPECT_TRUE(Write(path, m, opts).ok());
  return m;
}

TEST(TableTest, FlippedDataBlockByteIsCorruptionForThatBlockOnly) {
  TempDir dir;
  for (Compression c : {Compression::kNone, Compression::kLz4}) {
    const std::string path = dir.File("d.sst");
    const Model m = RandomModel(5000, 5);
    TableOptions opts;
    opts.compression = c;
    ASSERT_TRUE(Write(path, m, opts).ok());
    FlipByte(path, 100);  // inside the first data block (it starts at offset 0)
    BlockCache cache(1 << 20);
    auto t = Table::Open(path, 3, &cache);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    size_t corrupt = 0, good = 0;
    bool past_damage = false;
    for (const auto& [k, v] : m) {
      auto r = (*t)->Get(k);
      if (!r.ok()) {
        EXPECT_TRUE(r.status().IsCorruption());
        EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
        EXPECT_NE(r.status().message().find("offset 0"), std::string::npos) << r.status().message();
        EXPECT_FALSE(past_damage) << "damage is confined to the first block";
        ++corrupt;
      } else {
        past_damage = true;
        ASSERT_TRUE(r->has_value());
        EXPECT_EQ(**r, v);
        ++good;
      }
    }
    EXPECT_GT(corrupt, 0u);
    EXPECT_GT(good, m.size() * 9 / 10);
    // An absent key in the damaged block's range also reports the damage, never "absent" data.
    // The iterator stops with Corruption at the first block.
    auto it = (*t)->NewIterator();
    it->SeekToFirst();
    EXPECT_FALSE(it->Valid());
    EXPECT_TRUE(it->status().IsCorruption());
    EXPECT_NE(it->status().message().find(path), std::string::npos);
    // Seeking past the damaged block still works.
    it->Seek(m.rbegin()->first);
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ(it->key(), m.rbegin()->first);
    EXPECT_EQ(cache.usage() > 0, true);
  }
}

TEST(TableTest, DamagedFooterFailsOpenWithCorruption) {
  TempDir dir;
  const std::string path = dir.File("f.sst");
  WriteCorruptible(path);
  const uint64_t size = fs::file_size(path);
  const std::string pristine = [&] {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }();
  for (uint64_t off = size - table_format::kFooterSize; off < size; ++off) {
    FlipByte(path, off);
    auto t = Table::Open(path, 1, nullptr);
    ASSERT_FALSE(t.ok()) << "flip at " << off;
    EXPECT_TRUE(t.status().IsCorruption()) << t.status().ToString();
    EXPECT_NE(t.status().message().find(path), std::string::npos);
    FlipByte(path, off);  // restore
  }
  std::printf("footer damage: %s\n", [&] {
    FlipByte(path, size - 1);
    auto t = Table::Open(path, 1, nullptr);
    FlipByte(path, size - 1);
    return t.status().ToString();
  }().c_str());
  ASSERT_TRUE(Table::Open(path, 1, nullptr).ok());
}

TEST(TableTest, TruncatedFileFailsOpenWithCorruption) {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  WriteCorruptible(path);
  const uint64_t size = fs::file_size(path);
  for (uint64_t len : {size - 1, size - table_format::kFooterSize, size / 2, uint64_t{10},
                       uint64_t{0}}) {
    const std::string copy = dir.File("t" + std::to_string(len) + ".sst");
    fs::copy_file(path, copy);
    fs::resize_file(copy, len);
    auto t = Table::Open(copy, 1, nullptr);
    ASSERT_FALSE(t.ok()) << len;
    EXPECT_TRUE(t.status().IsCorruption()) << t.status().ToString();
    EXPECT_NE(t.status().message().find(copy), std::string::npos) << t.status().ToString();
  }
}

TEST(TableTest, RandomByteFlipsNeverYieldWrongData) {
  TempDir dir;
  const std::string path = dir.File("r.sst");
  const Model m = RandomModel(3000, 11);
  TableOptions opts;
  opts.compression = Compression::kLz4;
  opts.block_bytes = 1024;
  ASSERT_TRUE(Write(path, m, opts).ok());
  const uint64_t size = fs::file_size(path);
  std::mt19937_64 rng(13);
  int open_failed = 0, read_failed = 0;
  for (int trial = 0; trial < 150; ++trial) {
    const uint64_t off = rng() % size;
    const char mask = static_cast<char>(1 + rng() % 255);
    FlipByte(path, off, mask);
    auto t = Table::Open(path, 1, nullptr);
    if (!t.ok()) {
      EXPECT_TRUE(t.status().IsCorruption()) << t.status().ToString();
      ++open_failed;
    } else {
      int i = 0;
      for (const auto& [k, v] : m) {
        if (i++ % 7 != 0) continue;
        auto r = (*t)->Get(k);
        if (!r.ok()) {
          EXPECT_TRUE(r.status().IsCorruption());
          ++read_failed;
          continue;
        }
        ASSERT_TRUE(r->has_value()) << "flip at " << off;
        ASSERT_EQ(**r, v) << "flip at " << off;
      }
      auto it = (*t)->NewIterator();
      auto mit = m.begin();
      for (it->SeekToFirst(); it->Valid(); it->Next(), ++mit) {
        ASSERT_NE(mit, m.end());
        ASSERT_EQ(it->key(), mit->first);
        ASSERT_EQ(it->value(), mit->second);
      }
      EXPECT_TRUE(it->status().ok() || it->status().IsCorruption());
    }
    FlipByte(path, off, mask);
  }
  std::printf("150 random flips: %d failed Open, %d Gets reported corruption\n", open_failed,
              read_failed);
}

TEST(TableTest, ObsoleteTableIsUnlinkedWhenLastReferenceDrops) {
  TempDir dir;
  const std::string path = dir.File("o.sst");
  const Model m = RandomModel(5000, 17);
  ASSERT_TRUE(Write(path, m, TableOptions{}).ok());
  BlockCache cache(4 << 20);
  auto t = Table::Open(path, 9, &cache);
  ASSERT_TRUE(t.ok());
  std::shared_ptr<Table> table = *t;
  for (const auto& [k, v] : m) ASSERT_TRUE(table->Get(k).ok());
  EXPECT_GT(cache.entries(), 0u);
  auto it = table->NewIterator();
  it->SeekToFirst();
  table->MarkObsolete();
  table.reset();
  t = Status::Internal("dropped");
  EXPECT_TRUE(fs::exists(path)) << "an iterator still uses the table";
  size_t n = 0;
  for (; it->Valid(); it->Next()) ++n;
  EXPECT_EQ(n, m.size());
  it.reset();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(cache.entries(), 0u);

  // A table not marked obsolete keeps its file.
  const std::string keep = dir.File("k.sst");
  ASSERT_TRUE(Write(keep, m, TableOptions{}).ok());
  { auto k = Table::Open(keep, 10, &cache); ASSERT_TRUE(k.ok()); }
  EXPECT_TRUE(fs::exists(keep));
}

TEST(TableTest, ConcurrentGetsAndIteratorsShareOneTableAndCache) {
  TempDir dir;
  const std::string path = dir.File("c.sst");
  const Model m = RandomModel(20000, 23);
  ASSERT_TRUE(Write(path, m, TableOptions{}).ok());
  BlockCache cache(256 << 10);  // much smaller than the table: constant eviction
  auto t = Table::Open(path, 4, &cache);
  ASSERT_TRUE(t.ok());
  std::shared_ptr<Table> table = *t;
  std::vector<std::string> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  std::vector<int> errors(4, 0);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      std::mt19937_64 rng(static_cast<uint64_t>(th));
      for (int i = 0; i < 20000; ++i) {
        const std::string& k = keys[rng() % keys.size()];
        auto r = table->Get(k);
        if (!r.ok() || !r->has_value() || **r != m.at(k)) ++errors[th];
        if (i % 2000 == 0) {
          auto it = table->NewIterator();
          it->Seek(k);
          for (int s = 0; s < 100 && it->Valid(); ++s) it->Next();
          if (!it->status().ok()) ++errors[th];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int e : errors) EXPECT_EQ(e, 0);
  EXPECT_LE(cache.usage(), cache.capacity());
  EXPECT_GT(cache.hits(), 0u);
}

}  // namespace
}  // namespace ringkv::engine
