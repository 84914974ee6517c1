// The space-saving top-k sketch (see top_k.h).
#include "common/metrics/top_k.h"

#include <algorithm>

namespace ringkv::metrics {

void TopK::Offer(std::string_view key) {
  if (key.size() > max_key_bytes_) key = key.substr(0, max_key_bytes_);
  std::lock_guard<std::mutex> lock(mu_);
  // unordered_map<std::string> has no heterogeneous find in C++20 without a custom hash.
  std::string k(key);
  auto it = index_.find(k);
  if (it != index_.end()) {
    ++entries_[it->second].count;
    return;
  }
  if (entries_.size() < k_) {
    index_.emplace(k, entries_.size());
    entries_.push_back(Entry{std::move(k), 1, 0});
    return;
  }
  size_t min = 0;
  for (size_t i = 1; i < entries_.size(); ++i) {
    if (entries_[i].count < entries_[min].count) min = i;
  }
  Entry& e = entries_[min];
  index_.erase(e.key);
  e.error = e.count;
  e.count += 1;
  e.key = std::move(k);
  index_.emplace(e.key, min);
}

std::vector<TopK::Entry> TopK::Top() const {
  std::vector<Entry> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out = entries_;
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  return out;
}

}  // namespace ringkv::metrics
