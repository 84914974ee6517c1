// MessagePack helpers: strict typed reads from a decoded map (so a float, bool or string where
// an integer belongs is an error, as the protocols require) and a small map writer.
// Nothing here throws: msgpack exceptions are caught at this edge and become a Status.
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ringkv::mp {

// A decoded MessagePack body: owns the zone that the object points into.
struct Decoded {
  msgpack::object_handle handle;
  const msgpack::object& root() const { return handle.get(); }
};

// Nesting deeper than this is refused by Decode (the protocols nest three or four levels).
inline constexpr std::size_t kMaxDepth = 32;

// Decodes exactly one MessagePack value occupying all of `bytes`. Errors: InvalidArgument
// "not MessagePack" (also for a container or string claiming more elements or bytes than
// `bytes` holds, or nesting deeper than kMaxDepth) / "trailing bytes after the MessagePack
// value".
Result<Decoded> Decode(std::string_view bytes);

// Read-only view of a map object with typed lookups. Keys are compared as strings (STR or BIN).
class MapView {
 public:
  // InvalidArgument unless `obj` is a map.
  static Result<MapView> Of(const msgpack::object& obj);

  // The field's object, or nullptr when absent. A field whose value is nil counts as present.
  const msgpack::object* Find(std::string_view name) const;

  // Typed getters. Absent field: returns std::nullopt. Present but ill-typed: InvalidArgument
  // naming the field. Integers accept MessagePack ints only (never float, bool or str).
  Result<std::optional<int64_t>> Int(std::string_view name) const;
  Result<std::optional<uint64_t>> Uint(std::string_view name) const;
  Result<std::optional<bool>> Bool(std::string_view name) const;
  Result<std::optional<std::string>> Str(std::string_view name) const;       // STR only
  Result<std::optional<std::string>> Bytes(std::string_view name) const;     // BIN or STR

 private:
  explicit MapView(const msgpack::object_map* m) : map_(m) {}
  const msgpack::object_map* map_;
};

// Views of a string-or-bin object's bytes; nullopt for other types.
std::optional<std::string_view> AsBytes(const msgpack::object& obj);

// Writes a map whose size is given up front: Writer w(3); w.Str("ok"); w.Bool(true); ...
using Buffer = msgpack::sbuffer;
using Packer = msgpack::packer<msgpack::sbuffer>;
inline void PackStr(Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}
inline void PackBin(Packer& p, std::string_view s) {
  p.pack_bin(static_cast<uint32_t>(s.size()));
  p.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
}
// Re-packs an arbitrary decoded object (used to echo a request's `id`).
inline void PackObject(Packer& p, const msgpack::object& o) { p.pack(o); }

}  // namespace ringkv::mp
