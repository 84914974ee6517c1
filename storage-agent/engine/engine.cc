// Engine::Open, the default Get with options and the option-value parsers declared in engine.h.
#include "storage-agent/engine/engine.h"

#include "storage-agent/engine/db_impl.h"

namespace ringkv::engine {

bool ParseSyncMode(const std::string& s, SyncMode* out) {
  if (s == "always") *out = SyncMode::kAlways;
  else if (s == "batch") *out = SyncMode::kBatch;
  else if (s == "none") *out = SyncMode::kNone;
  else return false;
  return true;
}

bool ParseCompression(const std::string& s, Compression* out) {
  if (s == "none") *out = Compression::kNone;
  else if (s == "lz4") *out = Compression::kLz4;
  else if (s == "zstd") *out = Compression::kZstd;
  else return false;
  return true;
}

Result<std::optional<std::string>> Engine::Get(const ReadOptions& options, std::string_view key) {
  if (options.memory_only) return Status::Incomplete("engine: no memory-only reads");
  return Get(key);
}

Status Engine::WriteBatch(const std::vector<WriteOp>& batch) {
  for (const WriteOp& op : batch) {
    RINGKV_RETURN_IF_ERROR(op.value ? Put(op.key, *op.value) : Delete(op.key));
  }
  return Status::OK();
}

Result<std::unique_ptr<Engine>> Engine::Open(const Options& options) {
  auto db = std::make_unique<DBImpl>(options);
  Status s = db->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<Engine>(std::move(db));
}

}  // namespace ringkv::engine
