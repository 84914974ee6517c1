// The ringkv C++ client: builds protocol requests (MessagePack maps), sends them over a REQ
// socket with a deadline, and fails over to the next coordinator when no reply comes (Lazy
// Pirate: the REQ socket that missed its reply is closed, a new one is opened).
#include "clients/cpp/client.h"

#include <chrono>
#include <zmq.hpp>

#include "common/msgpack_util.h"

namespace ringkv::client {

namespace {

constexpr int kProtocolVersion = 1;

struct CodeName {
  ErrorCode code;
  const char* name;
};
constexpr CodeName kCodeNames[] = {
    {ErrorCode::kNone, "ok"},
    {ErrorCode::kBadRequest, "bad_request"},
    {ErrorCode::kTooLarge, "too_large"},
    {ErrorCode::kUnsupportedVersion, "unsupported_version"},
    {ErrorCode::kUnknownOp, "unknown_op"},
    {ErrorCode::kTooManySiblings, "too_many_siblings"},
    {ErrorCode::kUnavailable, "unavailable"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kInternal, "internal"},
    {ErrorCode::kTransport, "transport"},
};

// A protocol error code from a reply; an unknown one becomes kInternal (the protocol promises
// no other code is sent, so a strange one means a broken server).
ErrorCode CodeFromName(const std::string& name) {
  for (const auto& c : kCodeNames) {
    if (c.code != ErrorCode::kNone && c.code != ErrorCode::kTransport && name == c.name) return c.code;
  }
  return ErrorCode::kInternal;
}

bool AllDigits(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A quorum given as "2" goes out as the integer 2; a level name goes out as a string.
void PackQuorum(mp::Packer& p, const std::string& q) {
  if (AllDigits(q)) {
    p.pack(std::stoi(q));
  } else {
    mp::PackStr(p, q);
  }
}

// One request map under construction: the fields common to every request plus the op's own.
class Request {
 public:
  Request(const Options& o, const char* op, uint64_t id) : options_(o), op_(op), id_(id) {}
  Request& Key(const std::string& k) { key_ = &k; return *this; }
  Request& Value(const std::string& v) { value_ = &v; return *this; }
  Request& Ctx(const std::string& c) { ctx_ = &c; return *this; }
  // The op reads (sends `r`) / writes (sends `w`); either sends `consistency`. Each only
  // when the Options give one: otherwise the cluster's default applies.
  Request& R() { reads_ = true; return *this; }
  Request& W() { writes_ = true; return *this; }

  std::string Encode() const {
    const bool r = reads_ && !options_.r.empty();
    const bool w = writes_ && !options_.w.empty();
    const bool consistency = !options_.consistency.empty() && (reads_ || writes_);
    const bool ctx = ctx_ && !ctx_->empty();
    uint32_t n = 4 + (key_ ? 1 : 0) + (value_ ? 1 : 0) + (ctx ? 1 : 0) + (r ? 1 : 0) +
                 (w ? 1 : 0) + (consistency ? 1 : 0);
    mp::Buffer buf;
    mp::Packer p(buf);
    p.pack_map(n);
    mp::PackStr(p, "v");
    p.pack(kProtocolVersion);
    mp::PackStr(p, "op");
    mp::PackStr(p, op_);
    mp::PackStr(p, "id");
    p.pack(id_);
    mp::PackStr(p, "timeout_ms");
    p.pack(options_.timeout_ms);
    if (key_) { mp::PackStr(p, "key"); mp::PackBin(p, *key_); }
    if (value_) { mp::PackStr(p, "value"); mp::PackBin(p, *value_); }
    if (ctx) { mp::PackStr(p, "ctx"); mp::PackBin(p, *ctx_); }
    if (r) { mp::PackStr(p, "r"); PackQuorum(p, options_.r); }
    if (w) { mp::PackStr(p, "w"); PackQuorum(p, options_.w); }
    if (consistency) { mp::PackStr(p, "consistency"); mp::PackStr(p, options_.consistency); }
    return std::string(buf.data(), buf.size());
  }

 private:
  const Options& options_;
  const char* op_;
  uint64_t id_;
  const std::string* key_ = nullptr;
  const std::string* value_ = nullptr;
  const std::string* ctx_ = nullptr;
  bool reads_ = false, writes_ = false;
};

// A decoded successful reply. The root map is viewed on demand: a MapView points into the
// handle's root object, which moves with the handle.
struct Reply {
  mp::Decoded decoded;
  mp::MapView map() const { return mp::MapView::Of(decoded.root()).value(); }  // checked in Call
};

Error MakeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

Error Malformed(const std::string& what) {
  return MakeError(ErrorCode::kInternal, "malformed reply from the coordinator: " + what);
}

}  // namespace

const char* ErrorCodeName(ErrorCode c) {
  for (const auto& e : kCodeNames) {
    if (e.code == c) return e.name;
  }
  return "unknown";
}

struct Client::Impl {
  explicit Impl(Options o) : options(std::move(o)) {
    if (options.context) {
      context = options.context;
    } else {
      owned_context = std::make_unique<zmq::context_t>(1);
      context = owned_context.get();
    }
  }

  // Sends one request and waits for its reply, failing over as the header describes. Returns
  // the decoded reply when `ok` is true; otherwise fills *err.
  std::optional<Reply> Call(const char* op, const std::function<void(Request&)>& fill, Error* err);

  void Reconnect() {
    socket.reset();
    socket = std::make_unique<zmq::socket_t>(*context, zmq::socket_type::req);
    socket->set(zmq::sockopt::linger, 0);
    if (!options.curve_server_key.empty()) {
      // EINVAL (a key that is not 40 Z85 characters) surfaces as a transport error naming it.
      socket->set(zmq::sockopt::curve_serverkey, options.curve_server_key);
      socket->set(zmq::sockopt::curve_publickey, options.curve_public_key);
      socket->set(zmq::sockopt::curve_secretkey, options.curve_secret_key);
    }
    socket->connect(options.endpoints[current]);
  }

  Options options;
  std::unique_ptr<zmq::context_t> owned_context;
  zmq::context_t* context = nullptr;
  std::unique_ptr<zmq::socket_t> socket;  // REQ to options.endpoints[current]; null until used
  size_t current = 0;
  uint64_t next_id = 1;
};

std::optional<Reply> Client::Impl::Call(const char* op, const std::function<void(Request&)>& fill,
                                        Error* err) {
  *err = Error{};
  if (options.endpoints.empty()) {
    *err = MakeError(ErrorCode::kTransport, "no coordinator endpoints configured");
    return std::nullopt;
  }
  const uint64_t id = next_id++;
  Request req(options, op, id);
  fill(req);
  const std::string body = req.Encode();
  // The server gets timeout_ms for the whole operation; we wait a little longer so that its
  // own `timeout` reply reaches us rather than our giving up first.
  const int wait_ms = std::max(1, options.timeout_ms) + 100 + std::max(0, options.timeout_ms) / 10;
  const int attempts = std::max(1, options.retries);
  std::string tried;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    try {
      if (!socket) Reconnect();
      socket->send(zmq::buffer(body), zmq::send_flags::none);
      zmq::pollitem_t items[] = {{static_cast<void*>(*socket), 0, ZMQ_POLLIN, 0}};
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
      bool readable = false;
      while (!readable) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        zmq::poll(items, 1, left);
        readable = (items[0].revents & ZMQ_POLLIN) != 0;
      }
      if (readable) {
        zmq::message_t msg;
        if (!socket->recv(msg, zmq::recv_flags::none)) {
          *err = MakeError(ErrorCode::kTransport, "receive interrupted");
          return std::nullopt;
        }
        if (msg.more()) {
          // A reply must be one frame; drain the rest so the REQ socket stays usable.
          zmq::message_t rest;
          bool more = true;
          while (more && socket->recv(rest, zmq::recv_flags::none)) more = rest.more();
          *err = Malformed("more than one frame");
          return std::nullopt;
        }
        Reply reply{};
        auto decoded = mp::Decode(std::string_view(static_cast<const char*>(msg.data()), msg.size()));
        if (!decoded.ok()) {
          *err = Malformed(decoded.status().message());
          return std::nullopt;
        }
        reply.decoded = std::move(decoded).value();
        auto map = mp::MapView::Of(reply.decoded.root());
        if (!map.ok()) {
          *err = Malformed(map.status().message());
          return std::nullopt;
        }
        auto ok = map->Bool("ok");
        if (!ok.ok() || !ok.value().has_value()) {
          *err = Malformed("no boolean 'ok'");
          return std::nullopt;
        }
        if (*ok.value()) return reply;
        std::string code = "internal", message;
        if (const msgpack::object* e = map->Find("error")) {
          auto emap = mp::MapView::Of(*e);
          if (emap.ok()) {
            auto c = emap->Str("code");
            if (c.ok() && c.value()) code = *c.value();
            auto m = emap->Str("message");
            if (m.ok() && m.value()) message = *m.value();
          }
        }
        ErrorCode ec = CodeFromName(code);
        if (ec == ErrorCode::kInternal && code != "internal") {
          message = "unknown error code '" + code + "': " + message;
        }
        *err = MakeError(ec, message.empty() ? code : message);
        return std::nullopt;
      }
    } catch (const zmq::error_t& e) {
      // A malformed endpoint or a socket error: retrying would fail the same way.
      const std::string ep = options.endpoints[current];
      socket.reset();
      current = (current + 1) % options.endpoints.size();
      *err = MakeError(ErrorCode::kTransport, "cannot use endpoint '" + ep + "': " + e.what());
      return std::nullopt;
    }
    // No reply in time: this REQ socket is stuck for good. Close it and go to the next one.
    if (tried.find(options.endpoints[current]) == std::string::npos) {
      if (!tried.empty()) tried += ", ";
      tried += options.endpoints[current];
    }
    socket.reset();
    current = (current + 1) % options.endpoints.size();
  }
  *err = MakeError(ErrorCode::kTransport,
                   "no coordinator answered (" + std::to_string(attempts) + " attempt" +
                       (attempts == 1 ? "" : "s") + " of " + std::to_string(wait_ms) +
                       " ms; tried " + tried + ")" +
                       (options.curve_server_key.empty()
                            ? ""
                            : "; CURVE is on: a refused handshake (wrong server key, or this "
                              "client's key not authorized) looks the same"));
  return std::nullopt;
}

Client::Client(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

const std::string& Client::current_endpoint() const {
  static const std::string kNone;
  return impl_->options.endpoints.empty() ? kNone : impl_->options.endpoints[impl_->current];
}

const Options& Client::options() const { return impl_->options; }

namespace {

// Reads the reply's `ctx` and `acks` (both optional in a reply we accept).
bool ReadCtxAcks(const mp::MapView& m, std::string* ctx, int* acks, Error* err) {
  auto c = m.Bytes("ctx");
  auto a = m.Int("acks");
  if (!c.ok() || !a.ok()) {
    *err = Malformed(!c.ok() ? c.status().message() : a.status().message());
    return false;
  }
  if (c.value()) *ctx = *c.value();
  if (a.value()) *acks = static_cast<int>(*a.value());
  return true;
}

}  // namespace

std::optional<GetResult> Client::Get(const std::string& key, Error* err) {
  auto reply = impl_->Call("get", [&](Request& r) { r.Key(key).R(); }, err);
  if (!reply) return std::nullopt;
  GetResult out;
  const mp::MapView m = reply->map();
  if (!ReadCtxAcks(m, &out.ctx, &out.acks, err)) return std::nullopt;
  auto found = m.Bool("found");
  if (!found.ok()) {
    *err = Malformed(found.status().message());
    return std::nullopt;
  }
  if (const msgpack::object* vs = m.Find("values")) {
    if (vs->type != msgpack::type::ARRAY) {
      *err = Malformed("'values' is not an array");
      return std::nullopt;
    }
    for (uint32_t i = 0; i < vs->via.array.size; ++i) {
      auto b = mp::AsBytes(vs->via.array.ptr[i]);
      if (!b) {
        *err = Malformed("a value is not bin");
        return std::nullopt;
      }
      out.values.emplace_back(*b);
    }
  }
  out.found = found.value().value_or(!out.values.empty());
  return out;
}

std::optional<WriteResult> Client::Put(const std::string& key, const std::string& value,
                                       const std::string& ctx, Error* err) {
  auto reply = impl_->Call("put", [&](Request& r) { r.Key(key).Value(value).Ctx(ctx).W(); }, err);
  if (!reply) return std::nullopt;
  WriteResult out;
  if (!ReadCtxAcks(reply->map(), &out.ctx, &out.acks, err)) return std::nullopt;
  return out;
}

std::optional<WriteResult> Client::Delete(const std::string& key, const std::string& ctx,
                                          Error* err) {
  // Without a ctx the coordinator reads the key first (at the read quorum), so send `r` too.
  auto reply = impl_->Call("delete", [&](Request& r) { r.Key(key).Ctx(ctx).W().R(); }, err);
  if (!reply) return std::nullopt;
  WriteResult out;
  if (!ReadCtxAcks(reply->map(), &out.ctx, &out.acks, err)) return std::nullopt;
  return out;
}

std::optional<std::string> Client::Ping(Error* err) {
  auto reply = impl_->Call("ping", [](Request&) {}, err);
  if (!reply) return std::nullopt;
  auto node = reply->map().Str("node");
  if (!node.ok()) {
    *err = Malformed(node.status().message());
    return std::nullopt;
  }
  return node.value().value_or("");
}

namespace {

// A member's `gossip` map; fields missing or of another type keep their defaults (a newer
// coordinator may add or change some: status is for people).
MemberGossip ParseMemberGossip(const msgpack::object& o) {
  MemberGossip g;
  auto m = mp::MapView::Of(o);
  if (!m.ok()) return g;
  if (auto v = m->Bool("up"); v.ok() && v.value()) g.up = *v.value();
  if (auto v = m->Str("state"); v.ok() && v.value()) g.state = *v.value();
  if (auto v = m->Uint("generation"); v.ok() && v.value()) g.generation = *v.value();
  if (auto v = m->Int("heartbeat_age_ms"); v.ok() && v.value()) g.heartbeat_age_ms = *v.value();
  if (const msgpack::object* phi = m->Find("phi")) {
    if (phi->type == msgpack::type::FLOAT64 || phi->type == msgpack::type::FLOAT32) {
      g.phi = phi->via.f64;
    }
  }
  auto agent = [&](const char* name, bool* up, uint64_t* incarnation) {
    const msgpack::object* a = m->Find(name);
    if (a == nullptr) return;
    auto am = mp::MapView::Of(*a);
    if (!am.ok()) return;
    if (auto v = am->Bool("up"); v.ok() && v.value()) *up = *v.value();
    if (auto v = am->Uint("incarnation"); v.ok() && v.value()) *incarnation = *v.value();
  };
  agent("storage", &g.storage_up, &g.storage_incarnation);
  agent("coordinator", &g.coordinator_up, &g.coordinator_incarnation);
  return g;
}

}  // namespace

std::optional<StatusResult> Client::Status(Error* err) {
  auto reply = impl_->Call("status", [](Request&) {}, err);
  if (!reply) return std::nullopt;
  const mp::MapView m = reply->map();
  StatusResult out;
  auto node = m.Str("node");
  auto dc = m.Str("dc");
  auto n = m.Int("n");
  auto item = m.Int("max_item_bytes");
  auto sib = m.Int("max_siblings");
  if (!node.ok() || !dc.ok() || !n.ok() || !item.ok() || !sib.ok()) {
    *err = Malformed("status fields of the wrong type");
    return std::nullopt;
  }
  out.node = node.value().value_or("");
  out.dc = dc.value().value_or("");
  out.n = static_cast<int>(n.value().value_or(0));
  out.max_item_bytes = item.value().value_or(0);
  out.max_siblings = sib.value().value_or(0);
  if (const msgpack::object* ms = m.Find("members")) {
    if (ms->type != msgpack::type::ARRAY) {
      *err = Malformed("'members' is not an array");
      return std::nullopt;
    }
    for (uint32_t i = 0; i < ms->via.array.size; ++i) {
      auto mm = mp::MapView::Of(ms->via.array.ptr[i]);
      if (!mm.ok()) {
        *err = Malformed("a member is not a map");
        return std::nullopt;
      }
      Member member;
      auto get = [&](const char* f, std::string* dst) {
        auto v = mm->Bytes(f);
        if (v.ok() && v.value()) *dst = *v.value();
      };
      get("node", &member.node);
      get("dc", &member.dc);
      get("state", &member.state);
      get("client_endpoint", &member.client_endpoint);
      get("storage_endpoint", &member.storage_endpoint);
      get("gossip_endpoint", &member.gossip_endpoint);
      if (const msgpack::object* g = mm->Find("gossip")) member.gossip = ParseMemberGossip(*g);
      out.members.push_back(std::move(member));
    }
  }
  if (const msgpack::object* g = m.Find("gossip")) {
    auto gm = mp::MapView::Of(*g);
    if (gm.ok()) {
      GossipSummary sum;
      if (auto v = gm->Str("endpoint"); v.ok() && v.value()) sum.endpoint = *v.value();
      if (auto v = gm->Bool("view"); v.ok() && v.value()) sum.view = *v.value();
      if (auto v = gm->Uint("view_version"); v.ok() && v.value()) sum.view_version = *v.value();
      if (auto v = gm->Int("view_age_ms"); v.ok() && v.value()) sum.view_age_ms = *v.value();
      out.gossip = sum;
    }
  }
  if (const msgpack::object* st = m.Find("stats"); st && st->type == msgpack::type::MAP) {
    for (uint32_t i = 0; i < st->via.map.size; ++i) {
      const auto& kv = st->via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::POSITIVE_INTEGER) {
        continue;
      }
      out.stats.emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                             kv.val.via.u64);
    }
  }
  return out;
}

std::optional<std::string> Client::Resolve(
    const std::string& key,
    const std::function<std::string(const std::vector<std::string>&)>& merge, Error* err) {
  auto got = Get(key, err);
  if (!got || !got->found) return std::nullopt;
  if (got->values.size() == 1) return got->values.front();
  std::string merged = merge(got->values);
  if (!Put(key, merged, got->ctx, err)) return std::nullopt;
  return merged;
}

}  // namespace ringkv::client
