// BenchDb: the few operations ringkv-engine-bench needs from an embedded key-value engine, so
// one driver can run the same workloads on ringkv's engine, LevelDB and RocksDB.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ringkv::bench {

struct BenchDbOptions {
  std::string dir;
  bool sync = false;            // every write durable before it returns (fillsync)
  uint64_t cache_bytes = 64ull << 20;
  int bloom_bits_per_key = 10;
};

// Not thread-safe: the benchmark is single-threaded like db_bench.
class BenchDb {
 public:
  virtual ~BenchDb() = default;
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  // *found tells whether the key was present; the value is read in full but not returned.
  virtual Status Get(std::string_view key, bool* found, size_t* value_bytes) = 0;
  // Visits every key once in the engine's own order; returns the count and bytes seen.
  virtual Status ScanAll(uint64_t* keys, uint64_t* bytes) = 0;
  // Flushes what is in memory and compacts everything, waiting until done.
  virtual Status CompactAll() = 0;
  virtual std::string Describe() const = 0;  // the settings used, for the report
};

// Each returns Unavailable when that engine was not compiled into this binary.
Result<std::unique_ptr<BenchDb>> OpenRingkvDb(const BenchDbOptions& options);
Result<std::unique_ptr<BenchDb>> OpenLevelDb(const BenchDbOptions& options);
Result<std::unique_ptr<BenchDb>> OpenRocksDb(const BenchDbOptions& options);

}  // namespace ringkv::bench
