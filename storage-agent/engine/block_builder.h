// BlockBuilder: lays out sorted entries as one SSTable block with prefix-compressed keys and
// restart points (as LevelDB does), so a reader binary-searches the restarts and scans at most
// one restart interval. Layout in docs/sstable-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::engine {

class BlockBuilder {
 public:
  explicit BlockBuilder(int restart_interval);

  // REQUIRES: key > every key added since the last Reset().
  void Add(std::string_view key, std::string_view value);
  // Appends the restart array; the result stays valid until Reset().
  std::string_view Finish();
  void Reset();

  // Size of the block if finished now.
  size_t CurrentSizeEstimate() const { return buffer_.size() + restarts_.size() * 4 + 4; }
  bool empty() const { return buffer_.empty(); }
  std::string_view last_key() const { return last_key_; }

 private:
  const int restart_interval_;
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  int counter_ = 0;  // entries since the last restart
  bool finished_ = false;
  std::string last_key_;
};

}  // namespace ringkv::engine
