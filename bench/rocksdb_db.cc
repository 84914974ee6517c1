// BenchDb over Debian's RocksDB: default options plus a 10-bit Bloom filter (block-based table).
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include "bench/bench_db.h"

namespace ringkv::bench {
namespace {

Status FromRocksDb(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  return Status::IOError(s.ToString());
}

class RocksDb : public BenchDb {
 public:
  explicit RocksDb(const BenchDbOptions& o) : options_(o) { write_options_.sync = o.sync; }

  Status Open() {
    rocksdb::Options ro;
    ro.create_if_missing = true;
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(options_.bloom_bits_per_key, false));
    ro.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(ro, options_.dir, &db);
    if (!s.ok()) return FromRocksDb(s);
    db_.reset(db);
    return Status::OK();
  }

  Status Put(std::string_view key, std::string_view value) override {
    return FromRocksDb(db_->Put(write_options_, rocksdb::Slice(key.data(), key.size()),
                                rocksdb::Slice(value.data(), value.size())));
  }

  Status Get(std::string_view key, bool* found, size_t* value_bytes) override {
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value_);
    *found = s.ok();
    *value_bytes = s.ok() ? value_.size() : 0;
    if (s.ok() || s.IsNotFound()) return Status::OK();
    return FromRocksDb(s);
  }

  Status ScanAll(uint64_t* keys, uint64_t* bytes) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    *keys = 0;
    *bytes = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++*keys;
      *bytes += it->key().size() + it->value().size();
    }
    return FromRocksDb(it->status());
  }

  Status CompactAll() override {
    rocksdb::CompactRangeOptions co;
    return FromRocksDb(db_->CompactRange(co, nullptr, nullptr));
  }

  std::string Describe() const override {
    return "rocksdb defaults, bloom " + std::to_string(options_.bloom_bits_per_key) +
           " bits/key, default block cache";
  }

 private:
  const BenchDbOptions options_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::string value_;
};

}  // namespace

Result<std::unique_ptr<BenchDb>> OpenRocksDb(const BenchDbOptions& options) {
  auto db = std::make_unique<RocksDb>(options);
  Status s = db->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<BenchDb>(std::move(db));
}

}  // namespace ringkv::bench
