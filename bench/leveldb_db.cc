// BenchDb over Debian's LevelDB: defaults plus a 10-bit Bloom filter and a block cache of the
// same size as ringkv's, the settings the comparison in docs/benchmarks.md asks for.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "bench/bench_db.h"

namespace ringkv::bench {
namespace {

Status FromLevelDb(const leveldb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  return Status::IOError(s.ToString());
}

class LevelDb : public BenchDb {
 public:
  explicit LevelDb(const BenchDbOptions& o)
      : cache_(leveldb::NewLRUCache(o.cache_bytes)),
        filter_(leveldb::NewBloomFilterPolicy(o.bloom_bits_per_key)),
        options_(o) {
    write_options_.sync = o.sync;
  }
  ~LevelDb() override {
    db_.reset();  // the DB uses the cache and filter until it is closed
  }

  Status Open() {
    leveldb::Options lo;
    lo.create_if_missing = true;
    lo.block_cache = cache_.get();
    lo.filter_policy = filter_.get();
    leveldb::DB* db = nullptr;
    leveldb::Status s = leveldb::DB::Open(lo, options_.dir, &db);
    if (!s.ok()) return FromLevelDb(s);
    db_.reset(db);
    return Status::OK();
  }

  Status Put(std::string_view key, std::string_view value) override {
    return FromLevelDb(db_->Put(write_options_, leveldb::Slice(key.data(), key.size()),
                                leveldb::Slice(value.data(), value.size())));
  }

  Status Get(std::string_view key, bool* found, size_t* value_bytes) override {
    leveldb::Status s =
        db_->Get(leveldb::ReadOptions(), leveldb::Slice(key.data(), key.size()), &value_);
    *found = s.ok();
    *value_bytes = s.ok() ? value_.size() : 0;
    if (s.ok() || s.IsNotFound()) return Status::OK();
    return FromLevelDb(s);
  }

  Status ScanAll(uint64_t* keys, uint64_t* bytes) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    *keys = 0;
    *bytes = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++*keys;
      *bytes += it->key().size() + it->value().size();
    }
    return FromLevelDb(it->status());
  }

  Status CompactAll() override {
    db_->CompactRange(nullptr, nullptr);
    return Status::OK();
  }

  std::string Describe() const override {
    return "leveldb defaults, bloom " + std::to_string(options_.bloom_bits_per_key) +
           " bits/key, block cache " + std::to_string(options_.cache_bytes >> 20) + " MiB";
  }

 private:
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  const BenchDbOptions options_;
  leveldb::WriteOptions write_options_;
  std::unique_ptr<leveldb::DB> db_;
  std::string value_;
};

}  // namespace

Result<std::unique_ptr<BenchDb>> OpenLevelDb(const BenchDbOptions& options) {
  auto db = std::make_unique<LevelDb>(options);
  Status s = db->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<BenchDb>(std::move(db));
}

}  // namespace ringkv::bench
