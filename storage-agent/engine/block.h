// Reading one uncompressed SSTable block (entries with prefix-compressed keys + restart array):
// a forward iterator with binary-search Seek. Every decoded length is bounds-checked; damage
// surfaces as status() Corruption, never as a read outside the block.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage-agent/engine/iterator.h"

namespace ringkv::engine {

// Point lookup in one block: sets *found and, when found, *value (a view into `data`) for the
// entry whose key equals `target`. Unlike BlockIterator::Seek it never materializes a key (it
// tracks how much of each prefix-compressed key matches the target), so a read allocates
// nothing. Corruption when the block is damaged.
Status BlockFind(std::string_view data, std::string_view target, bool* found,
                 std::string_view* value);

class BlockIterator final : public Iterator {
 public:
  // An iterator over no block (Valid() is false).
  BlockIterator() = default;
  // Iterates `data`; `owner` (may be null) keeps the bytes alive for the iterator's lifetime.
  BlockIterator(std::shared_ptr<const std::string> owner, std::string_view data);
  // Re-targets the iterator at another block (reuses the key buffer).
  void Reset(std::shared_ptr<const std::string> owner, std::string_view data);

  bool Valid() const override { return current_ < restarts_offset_ && status_.ok(); }
  void SeekToFirst() override;
  void Seek(std::string_view target) override;
  void Next() override;
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return status_; }

 private:
  void Fail(const char* what);
  uint32_t RestartPoint(uint32_t index) const;
  void SeekToRestart(uint32_t index);
  // Decodes the entry at next_ into key_/value_; false at the end or on damage.
  bool ParseNext();

  std::shared_ptr<const std::string> owner_;
  const char* data_ = nullptr;
  uint32_t restarts_offset_ = 0;  // where the restart array starts (end of entries)
  uint32_t num_restarts_ = 0;
  uint32_t current_ = 0;          // offset of the current entry; >= restarts_offset_: invalid
  uint32_t next_ = 0;             // offset just past the current entry
  std::string key_;
  std::string_view value_;
  Status status_;
};

}  // namespace ringkv::engine
