// FakeAaeReplica: an in-memory replica for the tests of the exchange and the repair scheduler.
// It answers the AaeReplica operations from a map ordered by (token, key), computing its trees
// by a scan (the real storage agent keeps them current instead), and can be made not ready or
// failing from a given call on. Test-only (header-only so that it stays out of the agent).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/aae/key_hash.h"
#include "common/version/key_state.h"
#include "gossip-agent/aae_replica.h"

namespace ringkv::gossip {

// The encoded state of one write of `value` by `actor`, concurrent with any other actor's.
inline std::string FakeValue(const std::string& value, version::ActorId actor) {
  version::KeyState s;
  s.Update(version::CausalContext(), value, actor);
  return s.Encode();
}

class FakeAaeReplica : public AaeReplica {
 public:
  explicit FakeAaeReplica(std::string node) : node_(std::move(node)) {}

  void Put(const std::string& key, const std::string& encoded_state) {
    data_[{TokenOf(key), key}] = encoded_state;
  }
  const std::string* Get(const std::string& key) const {
    auto it = data_.find({TokenOf(key), key});
    return it == data_.end() ? nullptr : &it->second;
  }
  size_t size() const { return data_.size(); }
  const std::map<std::pair<Token, std::string>, std::string>& data() const { return data_; }

  bool ready = true;
  int fail_after_calls = -1;  // >= 0: calls after this many fail with Unavailable
  int64_t clock_ms = 1000;
  std::vector<std::pair<std::vector<AaeRange>, int64_t>> marks;
  uint64_t syncs = 0;
  uint64_t calls = 0;

  const std::string& node() const override { return node_; }

  Result<AaeTree> Tree(const std::vector<AaeRange>& ranges, uint32_t parts) override {
    RINGKV_RETURN_IF_ERROR(Call());
    AaeTree t;
    t.ready = ready;
    t.now_ms = clock_ms;
    io_ += 16 * ranges.size();
    if (!ready) return t;
    for (const AaeRange& r : ranges) {
      std::vector<AaeSum> sums;
      for (uint32_t i = 0; i < parts; ++i) {
        const auto [lo, hi] = aae::PartBounds(r.first, r.last, parts, i);
        AaeSum s;
        for (auto it = data_.lower_bound({lo, ""}); it != data_.end() && it->first.first <= hi;
             ++it) {
          s.hash ^= aae::AaeKeyHash(it->first.second, it->second);
          ++s.count;
        }
        sums.push_back(s);
      }
      io_ += 16 * parts;
      t.trees.push_back(std::move(sums));
    }
    return t;
  }

  Result<AaeKeyPage> Keys(const AaeRange& range, uint32_t limit,
                          const std::optional<std::pair<Token, std::string>>& after) override {
    RINGKV_RETURN_IF_ERROR(Call());
    AaeKeyPage page;
    auto it = after ? data_.upper_bound(*after) : data_.lower_bound({range.first, ""});
    for (; it != data_.end() && it->first.first <= range.last; ++it) {
      if (page.items.size() >= limit) {
        page.more = true;
        break;
      }
      page.items.push_back({it->first.second, aae::AaeKeyHash(it->first.second, it->second)});
      io_ += it->first.second.size() + 8;
    }
    return page;
  }

  Result<std::vector<std::optional<std::string>>> States(
      const std::vector<std::string>& keys) override {
    RINGKV_RETURN_IF_ERROR(Call());
    std::vector<std::optional<std::string>> out;
    for (const std::string& k : keys) {
      const std::string* s = Get(k);
      if (s) {
        out.emplace_back(*s);
        io_ += s->size();
      } else {
        out.emplace_back(std::nullopt);
      }
      io_ += k.size();
    }
    return out;
  }

  Status Sync(const std::vector<std::pair<std::string, std::string>>& items) override {
    RINGKV_RETURN_IF_ERROR(Call());
    for (const auto& [key, enc] : items) {
      auto in = version::KeyState::Decode(enc);
      if (!in.ok()) return in.status();
      version::KeyState mine;
      if (const std::string* s = Get(key)) mine = *version::KeyState::Decode(*s);
      mine.Sync(*in);
      Put(key, mine.Encode());
      io_ += key.size() + enc.size();
      ++syncs;
    }
    return Status::OK();
  }

  Status Mark(const std::vector<AaeRange>& ranges, int64_t as_of_ms) override {
    RINGKV_RETURN_IF_ERROR(Call());
    marks.emplace_back(ranges, as_of_ms);
    io_ += 16 * ranges.size();
    return Status::OK();
  }

  uint64_t io_bytes() const override { return io_; }

 private:
  Status Call() {
    ++calls;
    if (fail_after_calls == 0) return Status::Unavailable(node_ + " does not answer");
    if (fail_after_calls > 0) --fail_after_calls;
    return Status::OK();
  }

  std::string node_;
  std::map<std::pair<Token, std::string>, std::string> data_;
  uint64_t io_ = 0;
};

}  // namespace ringkv::gossip
