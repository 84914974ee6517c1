// Fuzz target: an SSTable file (storage-agent/engine/table.h: footer, index, Bloom filter and
// data blocks, compressed or not) of any bytes, as a disk can hand it back. Input: one byte of
// flags (bit 0: keep the checksums as they are instead of fixing them up), then the file. The
// fix-up gives the footer, the blocks it names and the data blocks the index names matching
// CRCs, so that the parsing behind each check is reached. Open, a full scan and point reads of
// every key seen must end in OK or Corruption, never crash or read outside what was allocated.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "storage-agent/engine/block.h"
#include "storage-agent/engine/block_cache.h"
#include "storage-agent/engine/table.h"
#include "storage-agent/engine/table_format.h"

using namespace ringkv;
using namespace ringkv::engine;
namespace tf = table_format;

namespace {

// The block at (offset, payload size) gets a matching trailer CRC, when it lies in the file.
void FixBlock(std::string* file, uint64_t offset, uint64_t size) {
  if (offset > file->size() || size > file->size() - offset ||
      file->size() - offset - size < tf::kBlockTrailerSize) {
    return;
  }
  fuzz::FixMaskedCrc(file, offset, size + 1, offset + size + 1);
}

void FixTable(std::string* file) {
  if (file->size() < tf::kFooterSize) return;
  const size_t footer = file->size() - tf::kFooterSize;
  const char* f = file->data() + footer;
  const uint64_t filter_offset = coding::DecodeFixed64(f + 0);
  const uint64_t filter_size = coding::DecodeFixed64(f + 8);
  const uint64_t index_offset = coding::DecodeFixed64(f + 16);
  const uint64_t index_size = coding::DecodeFixed64(f + 24);
  // Data blocks first: the index (uncompressed, as TableBuilder writes it) names them.
  if (index_offset <= footer && index_size <= footer - index_offset) {
    auto index = std::make_shared<std::string>(file->substr(index_offset, index_size));
    BlockIterator it(index, *index);
    int n = 0;
    for (it.SeekToFirst(); it.Valid() && n < 10000; it.Next(), ++n) {
      std::string_view v = it.value();
      uint64_t off = 0, sz = 0;
      if (coding::GetVarint64(&v, &off) && coding::GetVarint64(&v, &sz)) FixBlock(file, off, sz);
    }
  }
  FixBlock(file, filter_offset, filter_size);
  FixBlock(file, index_offset, index_size);
  fuzz::FixMaskedCrc(file, footer, tf::kFooterCrcOffset, footer + tf::kFooterCrcOffset);
}

void CheckStatus(const Status& s) {
  if (!s.ok() && s.code() != Status::Code::kCorruption) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!(data[0] & 1)) FixTable(&file);
  static const std::string path = fuzz::ScratchDir() + "/000001.sst";
  fuzz::WriteScratchFile(path, file);
  BlockCache cache(1u << 20);  // fresh per input: no block of an earlier input is ever served
  auto table = Table::Open(path, 1, &cache);
  if (!table.ok()) {
    CheckStatus(table.status());
    return 0;
  }
  std::vector<std::string> keys;
  auto it = (*table)->NewIterator();
  for (it->SeekToFirst(); it->Valid() && keys.size() < 4096; it->Next()) {
    keys.emplace_back(it->key());
  }
  CheckStatus(it->status());
  keys.emplace_back("absent");
  for (const std::string& k : keys) {
    auto got = (*table)->Get(k);
    if (!got.ok()) CheckStatus(got.status());
    it->Seek(k);
    CheckStatus(it->status());
  }
  return 0;
}
