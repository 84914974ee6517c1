// Strict MessagePack map access.
#include "common/msgpack_util.h"

namespace ringkv::mp {

Result<Decoded> Decode(std::string_view bytes) {
  // msgpack-c allocates a container's elements when it reads its header, so without bounds a
  // 5-byte header claiming four billion elements made it allocate tens of GB (found by
  // fuzz/storage_request_fuzz.cc): every element takes at least one byte, so no container or
  // string can be longer than the body; nesting is bounded as on the client endpoint.
  const std::size_t n = bytes.size();
  const msgpack::unpack_limit limit(n, n, n, n, n, kMaxDepth);
  try {
    std::size_t offset = 0;
    Decoded d{msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit)};
    if (offset != bytes.size()) {
      return Status::InvalidArgument("trailing bytes after the MessagePack value");
    }
    return d;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("not MessagePack: ") + e.what());
  }
}

std::optional<std::string_view> AsBytes(const msgpack::object& obj) {
  if (obj.type == msgpack::type::STR) return std::string_view(obj.via.str.ptr, obj.via.str.size);
  if (obj.type == msgpack::type::BIN) return std::string_view(obj.via.bin.ptr, obj.via.bin.size);
  return std::nullopt;
}

Result<MapView> MapView::Of(const msgpack::object& obj) {
  if (obj.type != msgpack::type::MAP) return Status::InvalidArgument("body is not a MessagePack map");
  return MapView(&obj.via.map);
}

const msgpack::object* MapView::Find(std::string_view name) const {
  for (uint32_t i = 0; i < map_->size; ++i) {
    auto k = AsBytes(map_->ptr[i].key);
    if (k && *k == name) return &map_->ptr[i].val;
  }
  return nullptr;
}

Result<std::optional<int64_t>> MapView::Int(std::string_view name) const {
  const msgpack::object* o = Find(name);
  if (!o) return std::optional<int64_t>();
  if (o->type == msgpack::type::POSITIVE_INTEGER) {
    if (o->via.u64 > static_cast<uint64_t>(INT64_MAX)) {
      return Status::InvalidArgument("field '" + std::string(name) + "' is out of range");
    }
    return std::optional<int64_t>(static_cast<int64_t>(o->via.u64));
  }
  if (o->type == msgpack::type::NEGATIVE_INTEGER) return std::optional<int64_t>(o->via.i64);
  return Status::InvalidArgument("field '" + std::string(name) + "' must be an integer");
}

Result<std::optional<uint64_t>> MapView::Uint(std::string_view name) const {
  const msgpack::object* o = Find(name);
  if (!o) return std::optional<uint64_t>();
  if (o->type == msgpack::type::POSITIVE_INTEGER) return std::optional<uint64_t>(o->via.u64);
  return Status::InvalidArgument("field '" + std::string(name) + "' must be a non-negative integer");
}

Result<std::optional<bool>> MapView::Bool(std::string_view name) const {
  const msgpack::object* o = Find(name);
  if (!o) return std::optional<bool>();
  if (o->type == msgpack::type::BOOLEAN) return std::optional<bool>(o->via.boolean);
  return Status::InvalidArgument("field '" + std::string(name) + "' must be a boolean");
}

Result<std::optional<std::string>> MapView::Str(std::string_view name) const {
  const msgpack::object* o = Find(name);
  if (!o) return std::optional<std::string>();
  if (o->type == msgpack::type::STR) return std::optional<std::string>(std::string(o->via.str.ptr, o->via.str.size));
  return Status::InvalidArgument("field '" + std::string(name) + "' must be a string");
}

Result<std::optional<std::string>> MapView::Bytes(std::string_view name) const {
  const msgpack::object* o = Find(name);
  if (!o) return std::optional<std::string>();
  auto b = AsBytes(*o);
  if (b) return std::optional<std::string>(std::string(*b));
  return Status::InvalidArgument("field '" + std::string(name) + "' must be bin or str");
}

}  // namespace ringkv::mp
