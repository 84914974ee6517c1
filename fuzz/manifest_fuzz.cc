// Fuzz target: the MANIFEST file (storage-agent/engine/manifest.h) of any bytes, as the engine
// reads it at open. Input: the file's bytes. The trailing CRC is fixed up so that the parser
// behind it is reached, except when the first byte is 'X' (then the checksum check itself is
// exercised). A manifest that decoded must encode back to bytes that decode the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "storage-agent/engine/manifest.h"

using namespace ringkv;
using namespace ringkv::engine;

namespace {
bool Same(const ManifestData& a, const ManifestData& b) {
  if (a.next_file_number != b.next_file_number || a.log_number != b.log_number ||
      a.last_sequence != b.last_sequence || a.tables.size() != b.tables.size()) {
    return false;
  }
  for (size_t i = 0; i < a.tables.size(); ++i) {
    const TableMeta& x = a.tables[i];
    const TableMeta& y = b.tables[i];
    if (x.file_number != y.file_number || x.file_size != y.file_size ||
        x.num_entries != y.num_entries || x.min_seq != y.min_seq || x.max_seq != y.max_seq) {
      return false;
    }
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.size() >= 4 && bytes[0] != 'X') fuzz::FixMaskedCrc(&bytes, 0, bytes.size() - 4, bytes.size() - 4);
  ManifestData m;
  Status s = DecodeManifest(bytes, &m);
  if (!s.ok()) {
    if (s.code() != Status::Code::kCorruption) std::abort();
    return 0;
  }
  ManifestData again;
  if (!DecodeManifest(EncodeManifest(m), &again).ok() || !Same(m, again)) std::abort();
  return 0;
}
