// Block compression for SSTables: none, LZ4 or Zstandard, with the uncompressed length stored
// in front of the compressed bytes so that decompression knows (and bounds) its output size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage-agent/engine/engine.h"

namespace ringkv::engine {

// The block type byte for a compression choice (table_format::kType*).
uint8_t CompressionTypeByte(Compression c);

// Compresses `raw` into *out (replacing it) as varint(raw size) + compressed bytes. False when
// compression is off or does not save at least 1/8 of the size: the caller then stores `raw`
// with type kTypeNone.
bool CompressBlock(Compression c, std::string_view raw, std::string* out);

// Reverses CompressBlock for a stored type byte. Corruption (with `where` in the message) for
// an unknown type, a bad length or compressed data that does not decode to exactly that length.
Status UncompressBlock(uint8_t type, std::string_view payload, std::string* out,
                       const std::string& where);

}  // namespace ringkv::engine
