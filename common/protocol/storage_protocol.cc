// MessagePack encoding of the storage protocol. Field names are short and fixed forever:
//   request: op rid k ctx ts v ms early st first last at ak lim dl
//   reply:   rid ok code msg st da dc dur items more actor node dport stats
// docs/storage-protocol.md is the reference for peers written in other languages.
#include "common/protocol/storage_protocol.h"

#include <time.h>

#include <utility>

#include "common/msgpack_util.h"

namespace ringkv::storage_protocol {

namespace {

constexpr std::string_view kOps[] = {kPing, kGet, kUpdate, kSync, kScan, kStats, kFlush, kCompact};

bool HasKey(std::string_view op) { return op == kGet || op == kUpdate || op == kSync; }
// The ops a deadline applies to (HasKey's, as it happens): the others are admin or liveness.
bool HasDeadline(std::string_view op) { return HasKey(op); }

// Counts the fields EncodeRequest writes for `r`, so the map header is right.
uint32_t RequestFieldCount(const Request& r) {
  uint32_t n = 2;  // op, rid
  if (HasKey(r.op)) ++n;
  if (r.op == kUpdate) n += r.early ? 4 : 3;  // ctx, ts|v, ms, early
  if (r.op == kSync) n += 1;
  if (r.op == kScan) n += r.after_token ? 5 : 3;
  if (r.deadline_ms != 0 && HasDeadline(r.op)) ++n;
  return n;
}

Status Bad(std::string m) { return Status::InvalidArgument(std::move(m)); }

}  // namespace

bool IsKnownOp(std::string_view op) {
  for (auto k : kOps) {
    if (k == op) return true;
  }
  return false;
}

std::string EncodeRequest(const Request& r) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(RequestFieldCount(r));
  mp::PackStr(p, "op");
  mp::PackStr(p, r.op);
  mp::PackStr(p, "rid");
  p.pack_uint64(r.rid);
  if (HasKey(r.op)) {
    mp::PackStr(p, "k");
    mp::PackBin(p, r.key);
  }
  if (r.op == kUpdate) {
    mp::PackStr(p, "ctx");
    mp::PackBin(p, r.ctx);
    if (r.tombstone) {
      mp::PackStr(p, "ts");
      p.pack_true();
    } else {
      mp::PackStr(p, "v");
      mp::PackBin(p, r.value);
    }
    mp::PackStr(p, "ms");
    p.pack_uint64(r.max_siblings);
    if (r.early) {
      mp::PackStr(p, "early");
      p.pack_true();
    }
  }
  if (r.op == kSync) {
    mp::PackStr(p, "st");
    mp::PackBin(p, r.state);
  }
  if (r.op == kScan) {
    mp::PackStr(p, "first");
    p.pack_uint64(r.first);
    mp::PackStr(p, "last");
    p.pack_uint64(r.last);
    mp::PackStr(p, "lim");
    p.pack_uint32(r.limit);
    if (r.after_token) {
      mp::PackStr(p, "at");
      p.pack_uint64(*r.after_token);
      mp::PackStr(p, "ak");
      mp::PackBin(p, r.after_key);
    }
  }
  if (r.deadline_ms != 0 && HasDeadline(r.op)) {
    mp::PackStr(p, "dl");
    p.pack_uint64(r.deadline_ms);
  }
  return std::string(buf.data(), buf.size());
}

Result<Request> DecodeRequest(std::string_view body, uint64_t* rid) {
  return DecodeRequest(body, rid, nullptr);
}

Result<Request> DecodeRequest(std::string_view body, uint64_t* rid, std::string* error_code) {
  if (rid) *rid = 0;
  auto fail = [&](std::string_view code, Status s) -> Result<Request> {
    if (error_code) *error_code = std::string(code);
    return s;
  };
  if (body.size() > kMaxBodyBytes) {
    return fail(kErrTooLarge, Status::TooLarge("body of " + std::to_string(body.size()) +
                                               " bytes exceeds " +
                                               std::to_string(kMaxBodyBytes)));
  }
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return fail(kErrBadRequest, decoded.status());
  auto map = mp::MapView::Of(decoded->root());
  if (!map.ok()) return fail(kErrBadRequest, map.status());

  Request r;
  // rid first, so even a request failing later gets its error reply matched.
  auto rid_f = map->Uint("rid");
  if (!rid_f.ok()) return fail(kErrBadRequest, rid_f.status());
  if (*rid_f) {
    r.rid = **rid_f;
    if (rid) *rid = r.rid;
  }

  auto op = map->Str("op");
  if (!op.ok()) return fail(kErrBadRequest, op.status());
  if (!*op) return fail(kErrBadRequest, Bad("missing field 'op'"));
  r.op = **op;
  if (!IsKnownOp(r.op)) return fail(kErrUnknownOp, Bad("unknown op '" + r.op + "'"));

  // Every known field is type-checked whatever the op; fields unknown to this version are
  // ignored so newer peers can add some.
  auto key = map->Bytes("k");
  auto ctx = map->Bytes("ctx");
  auto ts = map->Bool("ts");
  auto value = map->Bytes("v");
  auto ms = map->Uint("ms");
  auto early = map->Bool("early");
  auto st = map->Bytes("st");
  auto first = map->Uint("first");
  auto last = map->Uint("last");
  auto at = map->Uint("at");
  auto ak = map->Bytes("ak");
  auto lim = map->Uint("lim");
  auto dl = map->Uint("dl");
  for (const Status* s : {&key.status(), &ctx.status(), &ts.status(), &value.status(),
                          &ms.status(), &early.status(), &st.status(), &first.status(), &last.status(),
                          &at.status(), &ak.status(), &lim.status(), &dl.status()}) {
    if (!s->ok()) return fail(kErrBadRequest, *s);
  }

  if (HasKey(r.op)) {
    if (!*key) return fail(kErrBadRequest, Bad("missing field 'k' (key)"));
    r.key = std::move(**key);
    if (r.key.empty()) return fail(kErrBadRequest, Bad("empty key"));
    if (r.key.size() > kMaxKeyBytes) {
      return fail(kErrBadRequest, Bad("key of " + std::to_string(r.key.size()) +
                                          " bytes exceeds " + std::to_string(kMaxKeyBytes)));
    }
  }
  if (HasDeadline(r.op)) r.deadline_ms = dl->value_or(0);
  if (r.op == kUpdate) {
    if (*ctx) r.ctx = std::move(**ctx);
    r.tombstone = ts->value_or(false);
    if (r.tombstone) {
      if (*value) return fail(kErrBadRequest, Bad("update has both 'v' and 'ts'"));
    } else {
      if (!*value) return fail(kErrBadRequest, Bad("update needs 'v' (value) or 'ts': true"));
      r.value = std::move(**value);
    }
    r.early = early->value_or(false);
    if (*ms) {
      r.max_siblings = **ms;
      if (r.max_siblings == 0) return fail(kErrBadRequest, Bad("'ms' (max_siblings) must be >= 1"));
    }
  }
  if (r.op == kSync) {
    if (!*st) return fail(kErrBadRequest, Bad("missing field 'st' (state)"));
    r.state = std::move(**st);
  }
  if (r.op == kScan) {
    if (*first) r.first = **first;
    if (*last) r.last = **last;
    if (r.first > r.last) return fail(kErrBadRequest, Bad("scan 'first' is after 'last'"));
    if (*lim) {
      if (**lim == 0 || **lim > kMaxScanLimit) {
        return fail(kErrBadRequest,
                    Bad("'lim' must be 1.." + std::to_string(kMaxScanLimit)));
      }
      r.limit = static_cast<uint32_t>(**lim);
    }
    if (*at) {
      r.after_token = **at;
      if (*ak) r.after_key = std::move(**ak);
    } else if (*ak) {
      return fail(kErrBadRequest, Bad("'ak' (after key) without 'at' (after token)"));
    }
  }
  return r;
}

std::string EncodeReply(const Reply& r) {
  uint32_t n = 2;
  if (!r.ok) n += 2;
  if (r.state) ++n;
  if (r.dot) n += 2;
  if (r.durable) ++n;
  if (!r.items.empty()) ++n;
  if (r.more) ++n;
  if (r.actor != 0) ++n;
  if (!r.node.empty()) ++n;
  if (r.direct_port != 0) ++n;
  if (!r.stats.empty()) ++n;

  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(n);
  mp::PackStr(p, "rid");
  p.pack_uint64(r.rid);
  mp::PackStr(p, "ok");
  if (r.ok) {
    p.pack_true();
  } else {
    p.pack_false();
    mp::PackStr(p, "code");
    mp::PackStr(p, r.code);
    mp::PackStr(p, "msg");
    mp::PackStr(p, r.message);
  }
  if (r.state) {
    mp::PackStr(p, "st");
    mp::PackBin(p, *r.state);
  }
  if (r.dot) {
    mp::PackStr(p, "da");
    p.pack_uint64(r.dot->actor);
    mp::PackStr(p, "dc");
    p.pack_uint64(r.dot->counter);
  }
  if (r.durable) {
    mp::PackStr(p, "dur");
    p.pack(*r.durable);
  }
  if (!r.items.empty()) {
    mp::PackStr(p, "items");
    p.pack_array(static_cast<uint32_t>(r.items.size()));
    for (const auto& it : r.items) {
      p.pack_array(2);
      mp::PackBin(p, it.key);
      mp::PackBin(p, it.state);
    }
  }
  if (r.more) {
    mp::PackStr(p, "more");
    p.pack_true();
  }
  if (r.actor != 0) {
    mp::PackStr(p, "actor");
    p.pack_uint64(r.actor);
  }
  if (!r.node.empty()) {
    mp::PackStr(p, "node");
    mp::PackStr(p, r.node);
  }
  if (r.direct_port != 0) {
    mp::PackStr(p, "dport");
    p.pack_uint32(r.direct_port);
  }
  if (!r.stats.empty()) {
    mp::PackStr(p, "stats");
    p.pack_map(static_cast<uint32_t>(r.stats.size()));
    for (const auto& [k, v] : r.stats) {
      mp::PackStr(p, k);
      p.pack_uint64(v);
    }
  }
  return std::string(buf.data(), buf.size());
}

Result<Reply> DecodeReply(std::string_view body) {
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return decoded.status();
  auto map = mp::MapView::Of(decoded->root());
  if (!map.ok()) return map.status();

  Reply r;
  auto rid = map->Uint("rid");
  auto ok = map->Bool("ok");
  auto code = map->Str("code");
  auto msg = map->Str("msg");
  auto st = map->Bytes("st");
  auto da = map->Uint("da");
  auto dc = map->Uint("dc");
  auto more = map->Bool("more");
  auto dur = map->Bool("dur");
  auto actor = map->Uint("actor");
  auto node = map->Str("node");
  auto dport = map->Uint("dport");
  for (const Status* s : {&rid.status(), &ok.status(), &code.status(), &msg.status(),
                          &st.status(), &da.status(), &dc.status(), &more.status(), &dur.status(),
                          &actor.status(), &node.status(), &dport.status()}) {
    if (!s->ok()) return *s;
  }
  if (!*ok) return Bad("reply has no 'ok' field");
  r.ok = **ok;
  r.rid = rid->value_or(0);
  if (!r.ok) {
    if (!*code) return Bad("error reply has no 'code'");
    r.code = **code;
    r.message = msg->value_or("");
  }
  if (*st) r.state = std::move(**st);
  if (da->has_value() != dc->has_value()) return Bad("reply dot needs both 'da' and 'dc'");
  if (*da) r.dot = version::Dot{**da, **dc};
  r.more = more->value_or(false);
  r.durable = *dur;
  r.actor = actor->value_or(0);
  r.node = node->value_or("");
  const uint64_t direct_port = dport->value_or(0);
  if (direct_port > 65535) return Bad("reply 'dport' is not a port");
  r.direct_port = static_cast<uint32_t>(direct_port);

  if (const msgpack::object* items = map->Find("items")) {
    if (items->type != msgpack::type::ARRAY) return Bad("field 'items' must be an array");
    for (uint32_t i = 0; i < items->via.array.size; ++i) {
      const msgpack::object& it = items->via.array.ptr[i];
      if (it.type != msgpack::type::ARRAY || it.via.array.size != 2) {
        return Bad("each of 'items' must be a [key, state] array");
      }
      auto k = mp::AsBytes(it.via.array.ptr[0]);
      auto s = mp::AsBytes(it.via.array.ptr[1]);
      if (!k || !s) return Bad("each of 'items' must hold two byte strings");
      r.items.push_back(ScanItem{std::string(*k), std::string(*s)});
    }
  }
  if (const msgpack::object* stats = map->Find("stats")) {
    auto sm = mp::MapView::Of(*stats);
    if (!sm.ok()) return Bad("field 'stats' must be a map");
    const msgpack::object_map& m = stats->via.map;
    for (uint32_t i = 0; i < m.size; ++i) {
      auto k = mp::AsBytes(m.ptr[i].key);
      if (!k || m.ptr[i].val.type != msgpack::type::POSITIVE_INTEGER) {
        return Bad("field 'stats' must map names to non-negative integers");
      }
      r.stats[std::string(*k)] = m.ptr[i].val.via.u64;
    }
  }
  return r;
}

uint64_t DeadlineClockMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

bool Expired(const Request& r, uint64_t now_ms, uint64_t tolerance_ms) {
  return r.deadline_ms != 0 && now_ms > r.deadline_ms && now_ms - r.deadline_ms > tolerance_ms &&
         HasDeadline(r.op);
}

Reply ErrorReply(uint64_t rid, std::string_view code, std::string message) {
  Reply r;
  r.rid = rid;
  r.ok = false;
  r.code = std::string(code);
  r.message = std::move(message);
  return r;
}

std::string_view ErrorCodeOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
      return kErrBadRequest;
    case Status::Code::kTooLarge:
      return kErrTooLarge;
    case Status::Code::kTooManySiblings:
      return kErrTooManySiblings;
    case Status::Code::kCorruption:
      return kErrCorruption;
    case Status::Code::kIOError:
      return kErrIo;
    case Status::Code::kBusy:
      return kErrBusy;
    default:
      return kErrInternal;
  }
}

}  // namespace ringkv::storage_protocol
