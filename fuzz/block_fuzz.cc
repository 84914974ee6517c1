// Fuzz target: one uncompressed SSTable block (storage-agent/engine/block.h) of any bytes, as a
// table read hands it over after its checksum matched. Input: one byte n, then the block; the
// last n bytes of the block double as a lookup target, and every key iteration finds is looked
// up again. Iteration, Seek and BlockFind must stay inside the block (ASan checks every read;
// the views handed out are checked here) and report damage as Corruption. (A damaged block can
// give wrong answers that no check inside it can see; only the table's checksum guards that.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "storage-agent/engine/block.h"

using namespace ringkv;
using namespace ringkv::engine;

namespace {
void CheckInside(const std::string& block, std::string_view v) {
  if (v.empty()) return;
  if (v.data() < block.data() || v.data() + v.size() > block.data() + block.size()) std::abort();
}
void Lookup(const std::shared_ptr<std::string>& block, BlockIterator* it, std::string_view key) {
  it->Seek(key);
  if (it->Valid()) CheckInside(*block, it->value());
  if (!it->Valid() && !it->status().ok() && it->status().code() != Status::Code::kCorruption) {
    std::abort();
  }
  bool found = false;
  std::string_view value;
  Status s = BlockFind(*block, key, &found, &value);
  if (s.ok() && found) CheckInside(*block, value);
  if (!s.ok() && s.code() != Status::Code::kCorruption) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t n = std::min<size_t>(data[0], size - 1);
  auto block = std::make_shared<std::string>(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string target = block->substr(block->size() - n);

  BlockIterator it(block, *block);
  std::vector<std::string> keys;
  for (it.SeekToFirst(); it.Valid() && keys.size() < 4096; it.Next()) {
    CheckInside(*block, it.value());
    keys.emplace_back(it.key());
  }
  if (!it.status().ok() && it.status().code() != Status::Code::kCorruption) std::abort();
  for (const std::string& k : keys) Lookup(block, &it, k);
  Lookup(block, &it, target);
  return 0;
}
