// SSTable writing and reading: sorted data blocks (checksummed, optionally compressed), a
// Bloom filter, a block index and a footer. The byte layout is in docs/sstable-format.md.
// Keys and values are opaque bytes in bytewise order; the engine encodes its own records.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/iterator.h"

namespace ringkv::engine {

class BlockCache;

struct TableOptions {
  uint64_t block_bytes = 4096;
  int bloom_bits_per_key = 10;
  Compression compression = Compression::kLz4;
  // An upper bound on the entries to be added, when known (0: unknown). The Bloom filter is
  // then built in place (see BloomFilterBuilder) instead of from 8 bytes kept per key.
  uint64_t expected_keys = 0;
};

// Writes one table to `path` (the caller gives a temporary name and renames after Finish).
// Not thread-safe.
class TableBuilder {
 public:
  static Result<std::unique_ptr<TableBuilder>> Create(const std::string& path,
                                                      const TableOptions& options);
  virtual ~TableBuilder() = default;
  // REQUIRES: key > every key added before.
  virtual Status Add(std::string_view key, std::string_view value) = 0;
  // Writes filter, index and footer, fsyncs and closes the file.
  virtual Status Finish() = 0;
  // Closes and removes the file (after an error).
  virtual void Abandon() = 0;
  virtual uint64_t NumEntries() const = 0;
  virtual uint64_t FileSize() const = 0;
};

// An open, immutable table. Thread-safe. Index and filter stay in memory; data blocks go
// through the shared BlockCache.
class Table {
 public:
  // `cache` may be null (no caching); it must outlive the table.
  static Result<std::shared_ptr<Table>> Open(const std::string& path, uint64_t file_number,
                                             BlockCache* cache);
  virtual ~Table() = default;

  // False when the Bloom filter rules `key` out (counted in bloom_negatives()).
  virtual bool MayContain(std::string_view key) const = 0;
  // ok(nullopt) when absent; Corruption (naming file and block offset) when a block is damaged.
  virtual Result<std::optional<std::string>> Get(std::string_view key) const = 0;
  // The same with key_hash = KeyHash(key): a read probing every table hashes the key once.
  virtual Result<std::optional<std::string>> Get(std::string_view key,
                                                 uint64_t key_hash) const = 0;
  // The same under `options`: a memory_only read returns Incomplete (naming the block) instead
  // of reading a data block that is not in the cache.
  virtual Result<std::optional<std::string>> Get(std::string_view key, uint64_t key_hash,
                                                 const ReadOptions& options) const = 0;
  // The point read without a copy: on a hit *value views the data block that *pin keeps alive
  // (the engine decodes the record in place and copies only the user's value).
  virtual Status Find(std::string_view key, uint64_t key_hash, const ReadOptions& options,
                      bool* found, std::shared_ptr<const std::string>* pin,
                      std::string_view* value) const = 0;
  static uint64_t KeyHash(std::string_view key);
  // Prefetches the Bloom filter line of key_hash (see BloomFilter::Prefetch).
  virtual void PrefetchFilter(uint64_t key_hash) const = 0;
  virtual std::unique_ptr<Iterator> NewIterator() const = 0;

  virtual uint64_t file_number() const = 0;
  virtual uint64_t file_size() const = 0;
  virtual uint64_t num_entries() const = 0;
  virtual const std::string& path() const = 0;
  // Memory held by index and filter (for the memory bound).
  virtual uint64_t MemoryUsage() const = 0;

  // Once marked, the file is unlinked (and its blocks dropped from the cache) when the last
  // reference to the Table is dropped, so a reader still walking it keeps it alive.
  void MarkObsolete() { obsolete_.store(true); }

  // How many times this table's Bloom filter ruled a key out, in MayContain or in Get.
  // Per table: an engine that wants a total across deleted tables sums as it goes.
  uint64_t bloom_negatives() const { return bloom_negatives_.load(std::memory_order_relaxed); }
  // How many point reads the filter let through (a block was looked at; the key may still be
  // absent). negatives / (negatives + positives) is the filter's useful rate.
  uint64_t bloom_positives() const { return bloom_positives_.load(std::memory_order_relaxed); }

 protected:
  bool obsolete() const { return obsolete_.load(); }
  void CountBloomNegative() const { bloom_negatives_.fetch_add(1, std::memory_order_relaxed); }
  void CountBloomPositive() const { bloom_positives_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<bool> obsolete_{false};
  mutable std::atomic<uint64_t> bloom_negatives_{0};
  mutable std::atomic<uint64_t> bloom_positives_{0};
};

}  // namespace ringkv::engine
