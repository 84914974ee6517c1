// Client protocol parsing and reply encoding; every rule cites client-protocol.md.
#include "coordinator/client_request.h"

#include <chrono>

#include <cstring>
#include <tuple>

namespace ringkv::coordinator {

namespace {

// Decodes one MessagePack value filling all of `body`, with container sizes bounded by the
// body's length (each element takes at least one byte) so that a 5-byte header claiming four
// billion elements cannot make the decoder allocate for them, and nesting bounded.
bool DecodeBounded(std::string_view body, msgpack::object_handle* out) {
  const std::size_t n = body.size();
  msgpack::unpack_limit limit(n, n, n, n, n, 32);
  try {
    std::size_t offset = 0;
    *out = msgpack::unpack(body.data(), body.size(), offset, nullptr, nullptr, limit);
    return offset == body.size();
  } catch (const std::exception&) {
    return false;
  }
}

// Re-packs a decoded object exactly as it was sent. msgpack-c's own packer writes a float with
// an integral value (2.0) as an integer, which would not echo `id` unchanged, so floats are
// written here with their original width.
void PackExact(mp::Packer& p, mp::Buffer& buf, const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::FLOAT32: {
      float f = static_cast<float>(o.via.f64);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      char b[5] = {static_cast<char>(0xca)};
      for (int i = 0; i < 4; ++i) b[1 + i] = static_cast<char>(bits >> (24 - 8 * i));
      buf.write(b, 5);
      return;
    }
    case msgpack::type::FLOAT64: {
      uint64_t bits;
      std::memcpy(&bits, &o.via.f64, 8);
      char b[9] = {static_cast<char>(0xcb)};
      for (int i = 0; i < 8; ++i) b[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
      buf.write(b, 9);
      return;
    }
    case msgpack::type::ARRAY:
      p.pack_array(o.via.array.size);
      for (uint32_t i = 0; i < o.via.array.size; ++i) PackExact(p, buf, o.via.array.ptr[i]);
      return;
    case msgpack::type::MAP:
      p.pack_map(o.via.map.size);
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        PackExact(p, buf, o.via.map.ptr[i].key);
        PackExact(p, buf, o.via.map.ptr[i].val);
      }
      return;
    default:
      p.pack(o);
  }
}

bool Fail(ClientError* error, ErrorCode code, std::string message) {
  error->code = code;
  error->message = std::move(message);
  return false;
}

bool IsInt(const msgpack::object& o) {
  return o.type == msgpack::type::POSITIVE_INTEGER || o.type == msgpack::type::NEGATIVE_INTEGER;
}

const char* TypeName(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "a bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "an integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "a float";
    case msgpack::type::STR: return "a string";
    case msgpack::type::BIN: return "bin";
    case msgpack::type::ARRAY: return "an array";
    case msgpack::type::MAP: return "a map";
    case msgpack::type::EXT: return "an ext";
  }
  return "?";
}

// `r` or `w`: an integer 1..N or a level name.
bool ParseQuorumField(const msgpack::object& o, const char* name, int n, bool allow_each,
                      std::optional<QuorumSpec>* out, ClientError* error) {
  if (IsInt(o)) {
    if (o.type == msgpack::type::NEGATIVE_INTEGER || o.via.u64 < 1 ||
        o.via.u64 > static_cast<uint64_t>(n)) {
      return Fail(error, ErrorCode::kBadRequest,
                  std::string(name) + " must be from 1 to N=" + std::to_string(n));
    }
    *out = QuorumSpec{QuorumSpec::Kind::kCount, static_cast<int>(o.via.u64)};
    return true;
  }
  if (o.type == msgpack::type::STR) {
    std::string_view text(o.via.str.ptr, o.via.str.size);
    // Only level names: a digit string where a number belongs is bad_request.
    if (text == "one" || text == "quorum" || text == "all" || text == "local_quorum" ||
        text == "each_quorum") {
      auto q = ParseQuorumName(text, n, allow_each);
      if (!q.ok()) {
        return Fail(error, ErrorCode::kBadRequest, std::string(name) + ": " + q.status().message());
      }
      *out = *q;
      return true;
    }
    return Fail(error, ErrorCode::kBadRequest,
                std::string(name) + " '" + std::string(text) +
                    "' is not one, quorum, all, local_quorum" + (allow_each ? ", each_quorum" : "") +
                    " or an integer from 1 to N");
  }
  return Fail(error, ErrorCode::kBadRequest,
              std::string(name) + " must be an integer or a level name, not " + TypeName(o));
}

class Writer {
 public:
  Writer(const std::string& id, bool ok, uint32_t extra) : pk_(buf_) {
    pk_.pack_map(2 + (id.empty() ? 0 : 1) + extra);
    mp::PackStr(pk_, "v");
    pk_.pack_int(1);
    mp::PackStr(pk_, "ok");
    if (ok) pk_.pack_true(); else pk_.pack_false();
    if (!id.empty()) {
      mp::PackStr(pk_, "id");
      buf_.write(id.data(), id.size());
    }
  }
  mp::Packer& pk() { return pk_; }
  std::string Take() { return std::string(buf_.data(), buf_.size()); }

 private:
  mp::Buffer buf_;
  mp::Packer pk_;
};

}  // namespace

const char* ErrorCodeName(ErrorCode c) {
  switch (c) {
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kUnsupportedVersion: return "unsupported_version";
    case ErrorCode::kUnknownOp: return "unknown_op";
    case ErrorCode::kTooManySiblings: return "too_many_siblings";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

bool ParseRequest(std::string_view body, const RequestLimits& limits, ClientRequest* out,
                  ClientError* error) {
  msgpack::object_handle decoded;
  if (!DecodeBounded(body, &decoded)) {
    return Fail(error, ErrorCode::kBadRequest, "the request body is not one MessagePack value");
  }
  const msgpack::object& root = decoded.get();
  if (root.type != msgpack::type::MAP) {
    return Fail(error, ErrorCode::kBadRequest,
                std::string("the request body must be a MessagePack map, not ") + TypeName(root));
  }
  auto view = mp::MapView::Of(root);
  const mp::MapView& m = *view;

  if (const msgpack::object* id = m.Find("id")) {
    mp::Buffer b;
    mp::Packer p(b);
    PackExact(p, b, *id);
    out->id.assign(b.data(), b.size());
  }

  // v: required int; an int other than 1 is unsupported_version.
  const msgpack::object* v = m.Find("v");
  if (!v) return Fail(error, ErrorCode::kBadRequest, "missing field 'v' (protocol version)");
  if (!IsInt(*v)) {
    return Fail(error, ErrorCode::kBadRequest,
                std::string("field 'v' must be an integer, not ") + TypeName(*v));
  }
  if (v->type != msgpack::type::POSITIVE_INTEGER || v->via.u64 != 1) {
    return Fail(error, ErrorCode::kUnsupportedVersion,
                "protocol version " +
                    (v->type == msgpack::type::NEGATIVE_INTEGER ? std::to_string(v->via.i64)
                                                                : std::to_string(v->via.u64)) +
                    " is not supported; this server speaks version 1");
  }

  // op: required str; unknown names are unknown_op.
  const msgpack::object* op = m.Find("op");
  if (!op) return Fail(error, ErrorCode::kBadRequest, "missing field 'op'");
  if (op->type != msgpack::type::STR) {
    return Fail(error, ErrorCode::kBadRequest,
                std::string("field 'op' must be a string, not ") + TypeName(*op));
  }
  std::string_view op_name(op->via.str.ptr, op->via.str.size);
  if (op_name == "put") out->op = ClientOp::kPut;
  else if (op_name == "get") out->op = ClientOp::kGet;
  else if (op_name == "delete") out->op = ClientOp::kDelete;
  else if (op_name == "ping") out->op = ClientOp::kPing;
  else if (op_name == "status") out->op = ClientOp::kStatus;
  else {
    return Fail(error, ErrorCode::kUnknownOp,
                "unknown op '" + std::string(op_name.substr(0, 64)) +
                    "' (known: put, get, delete, ping, status)");
  }
  if (out->op == ClientOp::kPing || out->op == ClientOp::kStatus) return true;

  // key: bin or str, 1..1024 bytes.
  const msgpack::object* key = m.Find("key");
  if (!key) return Fail(error, ErrorCode::kBadRequest, "missing field 'key'");
  auto key_bytes = mp::AsBytes(*key);
  if (!key_bytes) {
    return Fail(error, ErrorCode::kBadRequest,
                std::string("field 'key' must be bin or str, not ") + TypeName(*key));
  }
  if (key_bytes->empty()) return Fail(error, ErrorCode::kBadRequest, "field 'key' is empty");
  if (key_bytes->size() > kMaxKeyBytes) {
    return Fail(error, ErrorCode::kBadRequest,
                "field 'key' is " + std::to_string(key_bytes->size()) +
                    " bytes; keys are 1 to 1024 bytes");
  }
  out->key.assign(*key_bytes);

  // value: put only, bin or str, key + value at most max_item_bytes.
  if (out->op == ClientOp::kPut) {
    const msgpack::object* value = m.Find("value");
    if (!value) return Fail(error, ErrorCode::kBadRequest, "missing field 'value'");
    auto value_bytes = mp::AsBytes(*value);
    if (!value_bytes) {
      return Fail(error, ErrorCode::kBadRequest,
                  std::string("field 'value' must be bin or str, not ") + TypeName(*value));
    }
    if (key_bytes->size() + value_bytes->size() > limits.max_item_bytes) {
      return Fail(error, ErrorCode::kTooLarge,
                  "key plus value is " + std::to_string(key_bytes->size() + value_bytes->size()) +
                      " bytes; the limit is " + std::to_string(limits.max_item_bytes));
    }
    out->value.assign(*value_bytes);
  }

  // ctx: bin (str accepted) that decodes.
  if (const msgpack::object* ctx = m.Find("ctx")) {
    auto ctx_bytes = mp::AsBytes(*ctx);
    if (!ctx_bytes) {
      return Fail(error, ErrorCode::kBadRequest,
                  std::string("field 'ctx' must be bin, not ") + TypeName(*ctx));
    }
    auto decoded_ctx = version::CausalContext::Decode(*ctx_bytes);
    if (!decoded_ctx.ok()) {
      return Fail(error, ErrorCode::kBadRequest,
                  "field 'ctx' is not a causal context from this cluster: " +
                      decoded_ctx.status().message());
    }
    out->has_ctx = true;
    out->ctx_bytes.assign(*ctx_bytes);
    out->ctx = std::move(*decoded_ctx);
  }

  if (const msgpack::object* w = m.Find("w")) {
    if (!ParseQuorumField(*w, "w", limits.n, /*allow_each=*/true, &out->w, error)) return false;
  }
  if (const msgpack::object* r = m.Find("r")) {
    if (!ParseQuorumField(*r, "r", limits.n, /*allow_each=*/false, &out->r, error)) return false;
  }
  if (const msgpack::object* c = m.Find("consistency")) {
    std::string_view text;
    if (c->type == msgpack::type::STR) text = std::string_view(c->via.str.ptr, c->via.str.size);
    if (text == "strong") out->consistency = Consistency::kStrong;
    else if (text == "eventual") out->consistency = Consistency::kEventual;
    else return Fail(error, ErrorCode::kBadRequest, "field 'consistency' must be \"strong\" or \"eventual\"");
  }
  out->timeout_ms = limits.default_timeout_ms;
  if (const msgpack::object* t = m.Find("timeout_ms")) {
    if (!IsInt(*t)) {
      return Fail(error, ErrorCode::kBadRequest,
                  std::string("field 'timeout_ms' must be an integer, not ") + TypeName(*t));
    }
    if (t->type == msgpack::type::NEGATIVE_INTEGER || t->via.u64 < 1 ||
        t->via.u64 > static_cast<uint64_t>(kMaxTimeoutMs)) {
      return Fail(error, ErrorCode::kBadRequest, "field 'timeout_ms' must be from 1 to 60000");
    }
    out->timeout_ms = static_cast<uint32_t>(t->via.u64);
  }
  return true;
}

std::string EncodeError(const std::string& id, ErrorCode code, std::string_view message) {
  Writer w(id, false, 1);
  mp::PackStr(w.pk(), "error");
  w.pk().pack_map(2);
  mp::PackStr(w.pk(), "code");
  mp::PackStr(w.pk(), ErrorCodeName(code));
  mp::PackStr(w.pk(), "message");
  mp::PackStr(w.pk(), message);
  return w.Take();
}

namespace {
// This process's start (wall clock, ms), fixed at static initialisation: the `incarnation` of
// a ping reply, which changes with every restart (the gossip agent publishes it as the
// coordinator's health, docs/gossip-protocol.md).
const uint64_t kIncarnation = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch())
        .count());
}  // namespace

std::string EncodePing(const std::string& id, std::string_view node) {
  Writer w(id, true, 2);
  mp::PackStr(w.pk(), "node");
  mp::PackStr(w.pk(), node);
  mp::PackStr(w.pk(), "incarnation");
  w.pk().pack_uint64(kIncarnation);
  return w.Take();
}

std::string EncodeWriteOk(const std::string& id, std::string_view ctx, int acks, int hinted) {
  Writer w(id, true, 3);
  mp::PackStr(w.pk(), "ctx");
  mp::PackBin(w.pk(), ctx);
  mp::PackStr(w.pk(), "acks");
  w.pk().pack_int(acks);
  mp::PackStr(w.pk(), "hinted");
  w.pk().pack_int(hinted);
  return w.Take();
}

std::string EncodeGetOk(const std::string& id, bool found, const std::vector<std::string>& values,
                        std::string_view ctx, int acks) {
  Writer w(id, true, 4);
  mp::PackStr(w.pk(), "found");
  if (found) w.pk().pack_true(); else w.pk().pack_false();
  mp::PackStr(w.pk(), "values");
  w.pk().pack_array(static_cast<uint32_t>(values.size()));
  for (const auto& v : values) mp::PackBin(w.pk(), v);
  mp::PackStr(w.pk(), "ctx");
  mp::PackBin(w.pk(), ctx);
  mp::PackStr(w.pk(), "acks");
  w.pk().pack_int(acks);
  return w.Take();
}

std::string EncodeStatus(const std::string& id, const StatusReply& s) {
  Writer w(id, true, 6 + (s.stats.empty() ? 0 : 1) + (s.gossip ? 1 : 0));
  auto& pk = w.pk();
  mp::PackStr(pk, "node");
  mp::PackStr(pk, s.node);
  mp::PackStr(pk, "dc");
  mp::PackStr(pk, s.dc);
  mp::PackStr(pk, "n");
  pk.pack_int(s.n);
  mp::PackStr(pk, "max_item_bytes");
  pk.pack_uint64(s.max_item_bytes);
  mp::PackStr(pk, "max_siblings");
  pk.pack_uint64(s.max_siblings);
  mp::PackStr(pk, "members");
  pk.pack_array(static_cast<uint32_t>(s.members.size()));
  for (const auto& m : s.members) {
    pk.pack_map((m.gossip ? 5 : 4) + (m.storage_endpoint.empty() ? 0 : 1) +
                (m.gossip_endpoint.empty() ? 0 : 1));
    if (!m.storage_endpoint.empty()) {
      mp::PackStr(pk, "storage_endpoint");
      mp::PackStr(pk, m.storage_endpoint);
    }
    if (!m.gossip_endpoint.empty()) {
      mp::PackStr(pk, "gossip_endpoint");
      mp::PackStr(pk, m.gossip_endpoint);
    }
    mp::PackStr(pk, "node");
    mp::PackStr(pk, m.node);
    mp::PackStr(pk, "dc");
    mp::PackStr(pk, m.dc);
    mp::PackStr(pk, "state");
    mp::PackStr(pk, m.state);
    mp::PackStr(pk, "client_endpoint");
    mp::PackStr(pk, m.client_endpoint);
    if (m.gossip) {
      const MemberGossip& g = *m.gossip;
      mp::PackStr(pk, "gossip");
      pk.pack_map(7);
      mp::PackStr(pk, "up");
      pk.pack(g.up);
      mp::PackStr(pk, "state");
      mp::PackStr(pk, g.state);
      for (const auto& [agent, up, incarnation] :
           {std::tuple{"storage", g.storage_up, g.storage_incarnation},
            std::tuple{"coordinator", g.coordinator_up, g.coordinator_incarnation}}) {
        mp::PackStr(pk, agent);
        pk.pack_map(2);
        mp::PackStr(pk, "up");
        pk.pack(up);
        mp::PackStr(pk, "incarnation");
        pk.pack_uint64(incarnation);
      }
      mp::PackStr(pk, "generation");
      pk.pack_uint64(g.generation);
      mp::PackStr(pk, "heartbeat_age_ms");
      pk.pack_int64(g.heartbeat_age_ms);
      mp::PackStr(pk, "phi");
      pk.pack_double(g.phi);
    }
  }
  if (!s.stats.empty()) {
    mp::PackStr(pk, "stats");
    pk.pack_map(static_cast<uint32_t>(s.stats.size()));
    for (const auto& [name, value] : s.stats) {
      mp::PackStr(pk, name);
      pk.pack_uint64(value);
    }
  }
  if (s.gossip) {
    const GossipStatus& g = *s.gossip;
    mp::PackStr(pk, "gossip");
    pk.pack_map(5);
    mp::PackStr(pk, "endpoint");
    mp::PackStr(pk, g.endpoint);
    mp::PackStr(pk, "view");
    pk.pack(g.view);
    mp::PackStr(pk, "view_version");
    pk.pack_uint64(g.view_version);
    mp::PackStr(pk, "view_age_ms");
    pk.pack_int64(g.view_age_ms);
    mp::PackStr(pk, "views");
    pk.pack_uint64(g.views);
  }
  return w.Take();
}

}  // namespace ringkv::coordinator
