// MessagePack encoding of the storage protocol. Field names are short and fixed forever:
//   request: op rid k ctx ts v ms early st first last at ak lim dl ranges parts keys asof
//   reply:   rid ok code msg st da dc dur items more actor node dport stats ready now trees
//            states
// docs/storage-protocol.md is the reference for peers written in other languages.
#include "common/protocol/storage_protocol.h"

#include <time.h>

#include <utility>

#include "common/msgpack_util.h"

namespace ringkv::storage_protocol {

namespace {

constexpr std::string_view kOps[] = {kPing,  kGet,     kUpdate,  kSync,      kScan,      kStats,
                                     kFlush, kCompact, kAaeTree, kAaeKeys, kAaeStates, kRepairMark};

bool HasKey(std::string_view op) { return op == kGet || op == kUpdate || op == kSync; }
// The ops a deadline applies to (HasKey's, as it happens): the others are admin or liveness.
bool HasDeadline(std::string_view op) { return HasKey(op); }

// Counts the fields EncodeRequest writes for `r`, so the map header is right.
uint32_t RequestFieldCount(const Request& r) {
  uint32_t n = 2;  // op, rid
  if (HasKey(r.op)) ++n;
  if (r.op == kUpdate) n += r.early ? 4 : 3;  // ctx, ts|v, ms, early
  if (r.op == kSync) n += 1;
  if (r.op == kScan || r.op == kAaeKeys) n += r.after_token ? 5 : 3;
  if (r.op == kAaeTree) n += 2;     // ranges, parts
  if (r.op == kAaeStates) n += 1;   // keys
  if (r.op == kRepairMark) n += 2;  // ranges, asof
  if (r.deadline_ms != 0 && HasDeadline(r.op)) ++n;
  return n;
}

Status Bad(std::string m) { return Status::InvalidArgument(std::move(m)); }

void PackRanges(mp::Packer& p, const std::vector<TokenRange>& ranges) {
  mp::PackStr(p, "ranges");
  p.pack_array(static_cast<uint32_t>(ranges.size()));
  for (const auto& rg : ranges) {
    p.pack_array(2);
    p.pack_uint64(rg.first);
    p.pack_uint64(rg.last);
  }
}

// `ranges` of aae_tree and repair_mark: 1..kMaxAaeRanges [first, last] pairs, first <= last.
Status DecodeRanges(const mp::MapView& map, std::vector<TokenRange>* out) {
  const msgpack::object* o = map.Find("ranges");
  if (!o) return Bad("missing field 'ranges'");
  if (o->type != msgpack::type::ARRAY) return Bad("field 'ranges' must be an array");
  const auto& a = o->via.array;
  if (a.size == 0 || a.size > kMaxAaeRanges) {
    return Bad("'ranges' must hold 1.." + std::to_string(kMaxAaeRanges) + " ranges");
  }
  for (uint32_t i = 0; i < a.size; ++i) {
    const msgpack::object& e = a.ptr[i];
    if (e.type != msgpack::type::ARRAY || e.via.array.size != 2 ||
        e.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER ||
        e.via.array.ptr[1].type != msgpack::type::POSITIVE_INTEGER) {
      return Bad("each of 'ranges' must be a [first, last] pair of unsigned integers");
    }
    TokenRange rg{e.via.array.ptr[0].via.u64, e.via.array.ptr[1].via.u64};
    if (rg.first > rg.last) return Bad("a range's first token is after its last");
    out->push_back(rg);
  }
  return Status::OK();
}

// `keys` of aae_states: 1..kMaxAaeStatesKeys keys, each 1..kMaxKeyBytes bytes.
Status DecodeKeys(const mp::MapView& map, std::vector<std::string>* out) {
  const msgpack::object* o = map.Find("keys");
  if (!o) return Bad("missing field 'keys'");
  if (o->type != msgpack::type::ARRAY) return Bad("field 'keys' must be an array");
  const auto& a = o->via.array;
  if (a.size == 0 || a.size > kMaxAaeStatesKeys) {
    return Bad("'keys' must hold 1.." + std::to_string(kMaxAaeStatesKeys) + " keys");
  }
  for (uint32_t i = 0; i < a.size; ++i) {
    auto k = mp::AsBytes(a.ptr[i]);
    if (!k) return Bad("each of 'keys' must be a byte string");
    if (k->empty() || k->size() > kMaxKeyBytes) {
      return Bad("each of 'keys' must be 1.." + std::to_string(kMaxKeyBytes) + " bytes");
    }
    out->emplace_back(*k);
  }
  return Status::OK();
}

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
  if (r.op == kScan || r.op == kAaeKeys) {
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
  if (r.op == kAaeTree || r.op == kRepairMark) PackRanges(p, r.ranges);
  if (r.op == kAaeTree) {
    mp::PackStr(p, "parts");
    p.pack_uint32(r.parts);
  }
  if (r.op == kRepairMark) {
    mp::PackStr(p, "asof");
    p.pack_uint64(r.as_of_ms);
  }
  if (r.op == kAaeStates) {
    mp::PackStr(p, "keys");
    p.pack_array(static_cast<uint32_t>(r.keys.size()));
    for (const auto& k : r.keys) mp::PackBin(p, k);
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
  auto parts = map->Uint("parts");
  auto asof = map->Uint("asof");
  for (const Status* s : {&key.status(), &ctx.status(), &ts.status(), &value.status(),
                          &ms.status(), &early.status(), &st.status(), &first.status(), &last.status(),
                          &at.status(), &ak.status(), &lim.status(), &dl.status(),
                          &parts.status(), &asof.status()}) {
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
  if (r.op == kScan || r.op == kAaeKeys) {
    const uint32_t max_lim = r.op == kScan ? kMaxScanLimit : kMaxAaeKeysLimit;
    if (r.op == kAaeKeys) r.limit = kDefaultAaeKeysLimit;
    if (*first) r.first = **first;
    if (*last) r.last = **last;
    if (r.first > r.last) return fail(kErrBadRequest, Bad(r.op + " 'first' is after 'last'"));
    if (*lim) {
      if (**lim == 0 || **lim > max_lim) {
        return fail(kErrBadRequest, Bad("'lim' must be 1.." + std::to_string(max_lim)));
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
  if (r.op == kAaeTree || r.op == kRepairMark) {
    Status s = DecodeRanges(*map, &r.ranges);
    if (!s.ok()) return fail(kErrBadRequest, s);
  }
  if (r.op == kAaeTree) {
    if (*parts) {
      if (**parts == 0 || **parts > kMaxAaeParts) {
        return fail(kErrBadRequest, Bad("'parts' must be 1.." + std::to_string(kMaxAaeParts)));
      }
      r.parts = static_cast<uint32_t>(**parts);
    }
    if (static_cast<uint64_t>(r.parts) * r.ranges.size() > kMaxAaeTreeEntries) {
      return fail(kErrBadRequest, Bad("'ranges' x 'parts' exceeds " +
                                      std::to_string(kMaxAaeTreeEntries)));
    }
    for (const auto& rg : r.ranges) {
      if (rg.last - rg.first < r.parts - 1) {
        return fail(kErrBadRequest, Bad("'parts' exceeds the tokens of a range"));
      }
    }
  }
  if (r.op == kRepairMark) {
    if (!*asof || **asof == 0) return fail(kErrBadRequest, Bad("missing field 'asof'"));
    r.as_of_ms = **asof;
  }
  if (r.op == kAaeStates) {
    Status s = DecodeKeys(*map, &r.keys);
    if (!s.ok()) return fail(kErrBadRequest, s);
  }
  return r;
}

std::string EncodeReply(const Reply& r) {
  uint32_t n = 2;
  if (!r.ok) n += 2;
  if (r.state) ++n;
  if (r.dot) n += 2;
  if (r.durable) ++n;
  if (!r.items.empty() && r.key_hashes.empty()) ++n;
  if (r.more) ++n;
  if (r.actor != 0) ++n;
  if (!r.node.empty()) ++n;
  if (r.direct_port != 0) ++n;
  if (!r.stats.empty()) ++n;
  if (r.ready) ++n;
  if (r.now_ms != 0) ++n;
  if (!r.trees.empty()) ++n;
  if (!r.key_hashes.empty()) ++n;
  if (!r.states.empty()) ++n;

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
  if (!r.items.empty() && r.key_hashes.empty()) {
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
  if (r.ready) {
    mp::PackStr(p, "ready");
    p.pack(*r.ready);
  }
  if (r.now_ms != 0) {
    mp::PackStr(p, "now");
    p.pack_uint64(r.now_ms);
  }
  if (!r.trees.empty()) {
    mp::PackStr(p, "trees");
    p.pack_array(static_cast<uint32_t>(r.trees.size()));
    for (const auto& tree : r.trees) {
      p.pack_array(static_cast<uint32_t>(tree.size()));
      for (const auto& part : tree) {
        p.pack_array(2);
        p.pack_uint64(part.hash);
        p.pack_uint64(part.count);
      }
    }
  }
  // aae_keys' items: [key, hash] (a scan's are [key, state]; one reply never has both).
  if (!r.key_hashes.empty()) {
    mp::PackStr(p, "items");
    p.pack_array(static_cast<uint32_t>(r.key_hashes.size()));
    for (const auto& it : r.key_hashes) {
      p.pack_array(2);
      mp::PackBin(p, it.key);
      p.pack_uint64(it.hash);
    }
  }
  if (!r.states.empty()) {
    mp::PackStr(p, "states");
    p.pack_array(static_cast<uint32_t>(r.states.size()));
    for (const auto& st : r.states) {
      if (st) {
        mp::PackBin(p, *st);
      } else {
        p.pack_nil();
      }
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
  auto ready = map->Bool("ready");
  auto now = map->Uint("now");
  for (const Status* s : {&rid.status(), &ok.status(), &code.status(), &msg.status(),
                          &st.status(), &da.status(), &dc.status(), &more.status(), &dur.status(),
                          &actor.status(), &node.status(), &dport.status(), &ready.status(),
                          &now.status()}) {
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
  r.ready = *ready;
  r.now_ms = now->value_or(0);

  if (const msgpack::object* items = map->Find("items")) {
    if (items->type != msgpack::type::ARRAY) return Bad("field 'items' must be an array");
    for (uint32_t i = 0; i < items->via.array.size; ++i) {
      const msgpack::object& it = items->via.array.ptr[i];
      if (it.type != msgpack::type::ARRAY || it.via.array.size != 2) {
        return Bad("each of 'items' must be a [key, state] or [key, hash] array");
      }
      auto k = mp::AsBytes(it.via.array.ptr[0]);
      const msgpack::object& second = it.via.array.ptr[1];
      // A scan's items hold states, aae_keys' hold hashes; all items of a reply are alike.
      if (k && second.type == msgpack::type::POSITIVE_INTEGER && r.items.empty()) {
        r.key_hashes.push_back(AaeKeyItem{std::string(*k), second.via.u64});
        continue;
      }
      auto s = mp::AsBytes(second);
      if (!k || !s || !r.key_hashes.empty()) {
        return Bad("each of 'items' must hold two byte strings or a byte string and a hash");
      }
      r.items.push_back(ScanItem{std::string(*k), std::string(*s)});
    }
  }
  if (const msgpack::object* trees = map->Find("trees")) {
    if (trees->type != msgpack::type::ARRAY) return Bad("field 'trees' must be an array");
    for (uint32_t i = 0; i < trees->via.array.size; ++i) {
      const msgpack::object& t = trees->via.array.ptr[i];
      if (t.type != msgpack::type::ARRAY) return Bad("each of 'trees' must be an array");
      std::vector<AaePart> tree;
      for (uint32_t j = 0; j < t.via.array.size; ++j) {
        const msgpack::object& e = t.via.array.ptr[j];
        if (e.type != msgpack::type::ARRAY || e.via.array.size != 2 ||
            e.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER ||
            e.via.array.ptr[1].type != msgpack::type::POSITIVE_INTEGER) {
          return Bad("each part of 'trees' must be a [hash, count] pair of unsigned integers");
        }
        tree.push_back(AaePart{e.via.array.ptr[0].via.u64, e.via.array.ptr[1].via.u64});
      }
      r.trees.push_back(std::move(tree));
    }
  }
  if (const msgpack::object* states = map->Find("states")) {
    if (states->type != msgpack::type::ARRAY) return Bad("field 'states' must be an array");
    for (uint32_t i = 0; i < states->via.array.size; ++i) {
      const msgpack::object& e = states->via.array.ptr[i];
      if (e.type == msgpack::type::NIL) {
        r.states.emplace_back(std::nullopt);
        continue;
      }
      auto b = mp::AsBytes(e);
      if (!b) return Bad("each of 'states' must be a byte string or nil");
      r.states.emplace_back(std::string(*b));
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
