// TopK: the hottest keys by the space-saving algorithm (Metwally, Agrawal, El Abbadi 2005):
// k counters; a key not counted takes over the smallest counter and inherits its count as its
// possible overestimate. Any key with more than total/k hits is in the list. Thread-safe
// (one mutex; Offer costs a hash lookup and, on a miss, a scan of the k counters).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ringkv::metrics {

class TopK {
 public:
  struct Entry {
    std::string key;
    uint64_t count = 0;  // an upper bound of the key's true count
    uint64_t error = 0;  // how much of count may belong to the keys it displaced
  };

  // k >= 1; keys longer than max_key_bytes are counted by their prefix.
  explicit TopK(size_t k, size_t max_key_bytes = 64) : k_(k), max_key_bytes_(max_key_bytes) {}

  void Offer(std::string_view key);
  // The counted keys, highest count first.
  std::vector<Entry> Top() const;

 private:
  const size_t k_;
  const size_t max_key_bytes_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;                      // protected by mu_
  std::unordered_map<std::string, size_t> index_;  // key -> position in entries_; by mu_
};

}  // namespace ringkv::metrics
