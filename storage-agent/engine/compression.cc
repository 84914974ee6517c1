// Block compression for SSTables (see compression.h).
#include "storage-agent/engine/compression.h"

#include <lz4.h>
#include <zstd.h>

#include <memory>

#include "common/coding.h"
#include "storage-agent/engine/table_format.h"

namespace ringkv::engine {

namespace tf = table_format;

namespace {

// Level 1 keeps flush and compaction fast; blocks are small, higher levels gain little.
constexpr int kZstdLevel = 1;

struct ZstdDCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
struct ZstdCCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// One context per thread: creating a Zstandard context costs more than decoding a 4 KiB block.
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}

}  // namespace

uint8_t CompressionTypeByte(Compression c) {
  switch (c) {
    case Compression::kLz4:
      return tf::kTypeLz4;
    case Compression::kZstd:
      return tf::kTypeZstd;
    case Compression::kNone:
      break;
  }
  return tf::kTypeNone;
}

bool CompressBlock(Compression c, std::string_view raw, std::string* out) {
  if (c == Compression::kNone || raw.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
    return false;
  }
  out->clear();
  coding::PutVarint64(out, raw.size());
  const size_t header = out->size();
  size_t produced = 0;
  if (c == Compression::kLz4) {
    const int bound = LZ4_compressBound(static_cast<int>(raw.size()));
    out->resize(header + static_cast<size_t>(bound));
    const int n = LZ4_compress_default(raw.data(), out->data() + header,
                                       static_cast<int>(raw.size()), bound);
    if (n <= 0) return false;
    produced = static_cast<size_t>(n);
  } else {
    const size_t bound = ZSTD_compressBound(raw.size());
    out->resize(header + bound);
    ZSTD_CCtx* cctx = ThreadCCtx();
    if (cctx == nullptr) return false;
    const size_t n =
        ZSTD_compressCCtx(cctx, out->data() + header, bound, raw.data(), raw.size(), kZstdLevel);
    if (ZSTD_isError(n)) return false;
    produced = n;
  }
  out->resize(header + produced);
  // Not worth a decompression on every read unless it saves at least 1/8.
  return out->size() < raw.size() - raw.size() / 8;
}

Status UncompressBlock(uint8_t type, std::string_view payload, std::string* out,
                       const std::string& where) {
  if (type == tf::kTypeNone) {
    out->assign(payload.data(), payload.size());
    return Status::OK();
  }
  if (type != tf::kTypeLz4 && type != tf::kTypeZstd) {
    return Status::Corruption(where + ": unknown block compression type " +
                              std::to_string(type));
  }
  std::string_view in = payload;
  uint64_t raw_size = 0;
  if (!coding::GetVarint64(&in, &raw_size) || raw_size > tf::kMaxBlockBytes) {
    return Status::Corruption(where + ": bad uncompressed block length");
  }
  out->resize(raw_size);
  if (type == tf::kTypeLz4) {
    if (raw_size > static_cast<uint64_t>(LZ4_MAX_INPUT_SIZE) ||
        in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
      return Status::Corruption(where + ": lz4 block too large");
    }
    const int n = LZ4_decompress_safe(in.data(), out->data(), static_cast<int>(in.size()),
                                      static_cast<int>(raw_size));
    if (n < 0 || static_cast<uint64_t>(n) != raw_size) {
      return Status::Corruption(where + ": lz4 block does not decode");
    }
  } else {
    ZSTD_DCtx* dctx = ThreadDCtx();
    if (dctx == nullptr) return Status::Internal(where + ": cannot create zstd context");
    const size_t n = ZSTD_decompressDCtx(dctx, out->data(), raw_size, in.data(), in.size());
    if (ZSTD_isError(n) || n != raw_size) {
      return Status::Corruption(where + ": zstd block does not decode");
    }
  }
  return Status::OK();
}

}  // namespace ringkv::engine
