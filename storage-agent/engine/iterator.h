// Iterator: the one way to walk sorted data (a block, a table, a memtable, a merge of them).
#pragma once

#include <string_view>

#include "common/status.h"

namespace ringkv::engine {

class Iterator {
 public:
  virtual ~Iterator() = default;
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  // Positions at the first entry with key >= target.
  virtual void Seek(std::string_view target) = 0;
  // REQUIRES: Valid()
  virtual void Next() = 0;
  // REQUIRES: Valid(). Views stay valid until the iterator moves.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Non-ok when iteration stopped early on an error (for example Corruption).
  virtual Status status() const = 0;
};

}  // namespace ringkv::engine
