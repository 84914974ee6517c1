// MemoryEngine: an in-memory engine::Engine for tests of the layers above the engine (replica
// store, server). Same ordering by (token, key) and same scan contract; nothing is durable.
// Faults can be injected: a key listed in corrupt_keys reads as Corruption. Memory-only reads
// answer from the map except for keys marked with SetOnDisk, which report Incomplete (as a key
// whose data block is not cached would).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "storage-agent/engine/engine.h"

namespace ringkv::storage {

class MemoryEngine : public engine::Engine {
 public:
  Status Put(std::string_view key, std::string_view value) override {
    std::lock_guard<std::mutex> l(mu_);
    data_[{TokenOf(key), std::string(key)}] = std::string(value);
    ++puts_;
    return Status::OK();
  }
  Status Delete(std::string_view key) override {
    std::lock_guard<std::mutex> l(mu_);
    data_.erase({TokenOf(key), std::string(key)});
    return Status::OK();
  }
  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::lock_guard<std::mutex> l(mu_);
    if (corrupt_keys_.count(std::string(key))) return Status::Corruption("injected");
    auto it = data_.find({TokenOf(key), std::string(key)});
    if (it == data_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<std::optional<std::string>> Get(const engine::ReadOptions& options,
                                         std::string_view key) override {
    if (!options.memory_only) return Get(key);  // virtual: a subclass's Get still applies
    {
      std::lock_guard<std::mutex> l(mu_);
      if (on_disk_keys_.count(std::string(key))) {
        return Status::Incomplete("memory engine: key marked on disk");
      }
      ++memory_only_reads_;
    }
    return MemoryEngine::Get(key);
  }
  Status Scan(Token first, Token last, const std::optional<engine::ScanCursor>& after,
              size_t limit, std::vector<engine::KeyValue>* out, bool* more) override {
    std::lock_guard<std::mutex> l(mu_);
    out->clear();
    *more = false;
    auto it = after ? data_.upper_bound({after->token, after->key}) : data_.lower_bound({first, ""});
    if (after && after->token < first) it = data_.lower_bound({first, ""});
    for (; it != data_.end() && it->first.first <= last; ++it) {
      if (it->first.first < first) continue;
      if (out->size() == limit) {
        *more = true;
        break;
      }
      out->push_back({it->first.second, it->second});
    }
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status CompactAll() override { return Status::OK(); }
  engine::EngineStats Stats() override { return {}; }

  // Test hooks.
  void SetRaw(std::string_view key, std::string value) {
    std::lock_guard<std::mutex> l(mu_);
    data_[{TokenOf(key), std::string(key)}] = std::move(value);
  }
  void CorruptKey(std::string key) {
    std::lock_guard<std::mutex> l(mu_);
    corrupt_keys_.insert(std::move(key));
  }
  uint64_t puts() {
    std::lock_guard<std::mutex> l(mu_);
    return puts_;
  }
  void SetOnDisk(std::string key) {
    std::lock_guard<std::mutex> l(mu_);
    on_disk_keys_.insert(std::move(key));
  }
  // Memory-only reads answered (not Incomplete).
  uint64_t memory_only_reads() {
    std::lock_guard<std::mutex> l(mu_);
    return memory_only_reads_;
  }

 private:
  std::mutex mu_;
  std::map<std::pair<Token, std::string>, std::string> data_;
  std::set<std::string> corrupt_keys_;
  std::set<std::string> on_disk_keys_;
  uint64_t puts_ = 0;
  uint64_t memory_only_reads_ = 0;
};

}  // namespace ringkv::storage
