// Manifest encoding and atomic replacement. Layout (docs/storage-format.md):
//   "RKVMANIF" | version varint (1) | next_file_number varint | log_number varint |
//   last_sequence varint | table count varint | per table: file_number, file_size, num_entries,
//   min_seq, max_seq (varints) | masked CRC32C (fixed32 LE) of everything before it.
#include "storage-agent/engine/manifest.h"

#include <cstdio>

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage-agent/engine/file_util.h"

namespace ringkv::engine {

namespace {
constexpr std::string_view kMagic = "RKVMANIF";
constexpr uint64_t kVersion = 1;
}  // namespace

std::string EncodeManifest(const ManifestData& m) {
  std::string out(kMagic);
  coding::PutVarint64(&out, kVersion);
  coding::PutVarint64(&out, m.next_file_number);
  coding::PutVarint64(&out, m.log_number);
  coding::PutVarint64(&out, m.last_sequence);
  coding::PutVarint64(&out, m.tables.size());
  for (const TableMeta& t : m.tables) {
    coding::PutVarint64(&out, t.file_number);
    coding::PutVarint64(&out, t.file_size);
    coding::PutVarint64(&out, t.num_entries);
    coding::PutVarint64(&out, t.min_seq);
    coding::PutVarint64(&out, t.max_seq);
  }
  coding::PutFixed32(&out, crc32c::Mask(crc32c::Value(out)));
  return out;
}

Status DecodeManifest(std::string_view data, ManifestData* m) {
  if (data.size() < kMagic.size() + 4 || data.substr(0, kMagic.size()) != kMagic) {
    return Status::Corruption("MANIFEST: bad magic or too short");
  }
  std::string_view body = data.substr(0, data.size() - 4);
  uint32_t stored = coding::DecodeFixed32(data.data() + data.size() - 4);
  if (crc32c::Unmask(stored) != crc32c::Value(body)) return Status::Corruption("MANIFEST: checksum mismatch");
  body.remove_prefix(kMagic.size());
  uint64_t version, count;
  ManifestData r;
  if (!coding::GetVarint64(&body, &version) || version != kVersion) {
    return Status::Corruption("MANIFEST: unsupported version");
  }
  if (!coding::GetVarint64(&body, &r.next_file_number) || !coding::GetVarint64(&body, &r.log_number) ||
      !coding::GetVarint64(&body, &r.last_sequence) || !coding::GetVarint64(&body, &count) ||
      count > body.size()) {
    return Status::Corruption("MANIFEST: truncated header");
  }
  for (uint64_t i = 0; i < count; ++i) {
    TableMeta t;
    if (!coding::GetVarint64(&body, &t.file_number) || !coding::GetVarint64(&body, &t.file_size) ||
        !coding::GetVarint64(&body, &t.num_entries) || !coding::GetVarint64(&body, &t.min_seq) ||
        !coding::GetVarint64(&body, &t.max_seq)) {
      return Status::Corruption("MANIFEST: truncated table list");
    }
    r.tables.push_back(t);
  }
  if (!body.empty()) return Status::Corruption("MANIFEST: trailing bytes");
  *m = std::move(r);
  return Status::OK();
}

Status WriteManifest(const std::string& dir, const ManifestData& m) {
  std::string tmp = JoinPath(dir, "MANIFEST.tmp");
  RINGKV_RETURN_IF_ERROR(WriteFileSync(tmp, EncodeManifest(m)));
  return RenameAndSyncDir(tmp, JoinPath(dir, "MANIFEST"), dir);
}

Status ReadManifest(const std::string& dir, ManifestData* m) {
  std::string path = JoinPath(dir, "MANIFEST");
  if (!FileExists(path)) return Status::NotFound(path);
  std::string data;
  RINGKV_RETURN_IF_ERROR(ReadFileToString(path, &data));
  Status s = DecodeManifest(data, m);
  if (!s.ok()) return Status::Corruption(dir + "/" + s.message());
  return Status::OK();
}

std::string TableFileName(uint64_t number) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%06llu.sst", static_cast<unsigned long long>(number));
  return buf;
}

bool ParseTableFileName(const std::string& name, uint64_t* number) {
  if (name.size() < 5 || name.compare(name.size() - 4, 4, ".sst") != 0) return false;
  uint64_t n = 0;
  for (size_t i = 0; i < name.size() - 4; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *number = n;
  return true;
}

}  // namespace ringkv::engine
