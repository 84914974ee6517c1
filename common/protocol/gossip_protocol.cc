// MessagePack encoding of the gossip protocol. Field names are short and fixed forever:
//   message: t v from vh vn hb dg bk bh en rq me hs su al lh sl
//   entry:   id dc rk ce se ge vn tk st g ver sh ch dp (dp only when not 0)
//   view:    v ok rid op self view_version members; member: e up phi age
// hb, hs (pairs position, version), sl and bk are BINs of unsigned LEB128 varints; me is [g, ver]; bh a BIN of 8-byte big-endian hashes; tk a BIN of 8-byte big-endian tokens; a digest is
// the array [id, generation, version]; sh/ch the array [up, incarnation].
#include "common/protocol/gossip_protocol.h"

#include <algorithm>
#include <utility>

#include "common/msgpack_util.h"

namespace ringkv::gossip_protocol {

namespace {

Status Bad(std::string m) { return Status::InvalidArgument("gossip: " + std::move(m)); }

constexpr const char* kStateNames[] = {"joining", "normal", "leaving", "down", "removed"};

void PackDigest(mp::Packer& p, const Digest& d) {
  p.pack_array(3);
  mp::PackStr(p, d.id);
  p.pack_uint64(d.heartbeat.generation);
  p.pack_uint64(d.heartbeat.version);
}

void PackHealth(mp::Packer& p, const AgentHealth& h) {
  p.pack_array(2);
  if (h.up) p.pack_true(); else p.pack_false();
  p.pack_uint64(h.incarnation);
}

void PackEntry(mp::Packer& p, const NodeEntry& e) {
  p.pack_map(e.storage_direct_port != 0 ? 14 : 13);
  mp::PackStr(p, "id"); mp::PackStr(p, e.id);
  mp::PackStr(p, "dc"); mp::PackStr(p, e.dc);
  mp::PackStr(p, "rk"); mp::PackStr(p, e.rack);
  mp::PackStr(p, "ce"); mp::PackStr(p, e.client_endpoint);
  mp::PackStr(p, "se"); mp::PackStr(p, e.storage_endpoint);
  mp::PackStr(p, "ge"); mp::PackStr(p, e.gossip_endpoint);
  mp::PackStr(p, "vn"); p.pack_uint32(e.vnodes);
  std::string tokens;
  tokens.reserve(e.tokens.size() * 8);
  for (Token t : e.tokens) {
    for (int s = 56; s >= 0; s -= 8) tokens.push_back(static_cast<char>((t >> s) & 0xff));
  }
  mp::PackStr(p, "tk"); mp::PackBin(p, tokens);
  mp::PackStr(p, "st"); mp::PackStr(p, MemberStateName(e.state));
  mp::PackStr(p, "g"); p.pack_uint64(e.heartbeat.generation);
  mp::PackStr(p, "ver"); p.pack_uint64(e.heartbeat.version);
  mp::PackStr(p, "sh"); PackHealth(p, e.storage);
  mp::PackStr(p, "ch"); PackHealth(p, e.coordinator);
  if (e.storage_direct_port != 0) {
    mp::PackStr(p, "dp"); p.pack_uint32(e.storage_direct_port);
  }
}

bool IsUint(const msgpack::object& o) { return o.type == msgpack::type::POSITIVE_INTEGER; }

Result<const msgpack::object_array*> ArrayField(const mp::MapView& m, std::string_view name) {
  const msgpack::object* o = m.Find(name);
  if (o == nullptr) return static_cast<const msgpack::object_array*>(nullptr);
  if (o->type != msgpack::type::ARRAY) return Bad("field '" + std::string(name) + "' is not a list");
  if (o->via.array.size > kMaxMembers) {
    return Bad("field '" + std::string(name) + "' has more than " + std::to_string(kMaxMembers) +
               " items");
  }
  return &o->via.array;
}

// A string field within kMaxStringBytes; `required` makes absence an error.
Status ReadStr(const mp::MapView& m, std::string_view name, bool required, std::string* out) {
  auto v = m.Str(name);
  if (!v.ok()) return Bad(v.status().message());
  if (!*v) return required ? Bad("missing field '" + std::string(name) + "'") : Status::OK();
  if ((*v)->size() > kMaxStringBytes) {
    return Bad("field '" + std::string(name) + "' longer than " + std::to_string(kMaxStringBytes));
  }
  *out = std::move(**v);
  return Status::OK();
}

Status ReadUint(const mp::MapView& m, std::string_view name, bool required, uint64_t* out) {
  auto v = m.Uint(name);
  if (!v.ok()) return Bad(v.status().message());
  if (!*v) return required ? Bad("missing field '" + std::string(name) + "'") : Status::OK();
  *out = **v;
  return Status::OK();
}

Result<Digest> DecodeDigest(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 3) {
    return Bad("a digest is not [id, generation, version]");
  }
  const msgpack::object* a = o.via.array.ptr;
  if (a[0].type != msgpack::type::STR || !IsUint(a[1]) || !IsUint(a[2])) {
    return Bad("a digest is not [str, uint, uint]");
  }
  if (a[0].via.str.size == 0 || a[0].via.str.size > kMaxStringBytes) {
    return Bad("a digest's id is empty or too long");
  }
  Digest d;
  d.id.assign(a[0].via.str.ptr, a[0].via.str.size);
  d.heartbeat = {a[1].via.u64, a[2].via.u64};
  return d;
}

Result<std::vector<Digest>> DecodeDigests(const msgpack::object_array* arr) {
  std::vector<Digest> out;
  if (arr == nullptr) return out;
  out.reserve(arr->size);
  for (uint32_t i = 0; i < arr->size; ++i) {
    auto d = DecodeDigest(arr->ptr[i]);
    if (!d.ok()) return d.status();
    out.push_back(std::move(*d));
  }
  return out;
}

Result<AgentHealth> DecodeHealth(const mp::MapView& m, std::string_view name) {
  AgentHealth h;
  const msgpack::object* o = m.Find(name);
  if (o == nullptr) return h;
  if (o->type != msgpack::type::ARRAY || o->via.array.size != 2 ||
      o->via.array.ptr[0].type != msgpack::type::BOOLEAN || !IsUint(o->via.array.ptr[1])) {
    return Bad("field '" + std::string(name) + "' is not [bool, uint]");
  }
  h.up = o->via.array.ptr[0].via.boolean;
  h.incarnation = o->via.array.ptr[1].via.u64;
  return h;
}

Result<NodeEntry> DecodeEntry(const msgpack::object& o) {
  auto m = mp::MapView::Of(o);
  if (!m.ok()) return Bad("an entry is not a map");
  NodeEntry e;
  Status s = ReadStr(*m, "id", true, &e.id);
  if (s.ok() && e.id.empty()) s = Bad("an entry has an empty id");
  if (s.ok()) s = ReadStr(*m, "dc", false, &e.dc);
  if (s.ok()) s = ReadStr(*m, "rk", false, &e.rack);
  if (s.ok()) s = ReadStr(*m, "ce", false, &e.client_endpoint);
  if (s.ok()) s = ReadStr(*m, "se", false, &e.storage_endpoint);
  if (s.ok()) s = ReadStr(*m, "ge", false, &e.gossip_endpoint);
  uint64_t vnodes = 0;
  if (s.ok()) s = ReadUint(*m, "vn", false, &vnodes);
  if (s.ok() && vnodes > kMaxTokensPerNode) s = Bad("entry '" + e.id + "': too many vnodes");
  e.vnodes = static_cast<uint32_t>(vnodes);
  if (s.ok()) s = ReadUint(*m, "g", true, &e.heartbeat.generation);
  if (s.ok()) s = ReadUint(*m, "ver", true, &e.heartbeat.version);
  if (!s.ok()) return s;

  auto tk = m->Bytes("tk");
  if (!tk.ok()) return Bad(tk.status().message());
  if (*tk) {
    const std::string& b = **tk;
    if (b.size() % 8 != 0 || b.size() / 8 > kMaxTokensPerNode) {
      return Bad("entry '" + e.id + "': tokens are not a list of 8-byte tokens within the limit");
    }
    e.tokens.resize(b.size() / 8);
    for (size_t i = 0; i < e.tokens.size(); ++i) {
      Token t = 0;
      for (int j = 0; j < 8; ++j) t = (t << 8) | static_cast<uint8_t>(b[i * 8 + j]);
      e.tokens[i] = t;
    }
  }
  std::string state;
  s = ReadStr(*m, "st", true, &state);
  if (!s.ok()) return s;
  if (!ParseMemberState(state, &e.state)) return Bad("entry '" + e.id + "': unknown state '" + state + "'");
  if (e.state == MemberState::kDown) {
    return Bad("entry '" + e.id + "': state 'down' is a local judgement and is never gossiped");
  }
  auto sh = DecodeHealth(*m, "sh");
  if (!sh.ok()) return sh.status();
  auto ch = DecodeHealth(*m, "ch");
  if (!ch.ok()) return ch.status();
  e.storage = *sh;
  e.coordinator = *ch;
  uint64_t dport = 0;
  s = ReadUint(*m, "dp", false, &dport);
  if (!s.ok()) return s;
  if (dport > 65535) return Bad("entry '" + e.id + "': direct port " + std::to_string(dport) + " out of range");
  e.storage_direct_port = static_cast<uint32_t>(dport);
  return e;
}

// Parses with limits on the parser itself, so a few bytes claiming a huge list allocate
// nothing big. `handle` keeps the objects alive.
Status Unpack(std::string_view bytes, msgpack::object_handle* handle) {
  if (bytes.size() > kMaxMessageBytes) {
    return Bad("message of " + std::to_string(bytes.size()) + " bytes exceeds " +
               std::to_string(kMaxMessageBytes));
  }
  try {
    std::size_t off = 0;
    msgpack::unpack_limit limit(/*array=*/kMaxMembers, /*map=*/32, /*str=*/kMaxMessageBytes,
                                /*bin=*/kMaxMessageBytes, /*ext=*/0, /*depth=*/6);
    *handle = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
    if (off != bytes.size()) return Bad("trailing bytes after the MessagePack value");
  } catch (const std::exception& e) {
    return Bad(std::string("not MessagePack within the limits: ") + e.what());
  }
  return Status::OK();
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

Status DecodeVarints(std::string_view b, std::vector<uint64_t>* out) {
  out->reserve(std::min(b.size(), kMaxMembers));
  size_t i = 0;
  while (i < b.size()) {
    if (out->size() >= kMaxMembers) return Bad("more than " + std::to_string(kMaxMembers) + " heartbeats");
    uint64_t v = 0;
    int shift = 0;
    for (;;) {
      if (i >= b.size() || shift > 63) return Bad("heartbeats are not a list of varints");
      uint8_t c = static_cast<uint8_t>(b[i++]);
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) break;
      shift += 7;
    }
    out->push_back(v);
  }
  return Status::OK();
}

}  // namespace

const char* MemberStateName(MemberState s) { return kStateNames[static_cast<int>(s)]; }

bool ParseMemberState(std::string_view s, MemberState* out) {
  for (int i = 0; i < 5; ++i) {
    if (s == kStateNames[i]) {
      *out = static_cast<MemberState>(i);
      return true;
    }
  }
  return false;
}

bool NodeEntry::SameFacts(const NodeEntry& o) const {
  return id == o.id && dc == o.dc && rack == o.rack && client_endpoint == o.client_endpoint &&
         storage_endpoint == o.storage_endpoint && gossip_endpoint == o.gossip_endpoint &&
         vnodes == o.vnodes && tokens == o.tokens && state == o.state &&
         heartbeat.generation == o.heartbeat.generation && storage == o.storage &&
         coordinator == o.coordinator && storage_direct_port == o.storage_direct_port;
}

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kSyn: return kSynName;
    case Kind::kAck: return kAckName;
    case Kind::kAck2: return kAck2Name;
  }
  return kSynName;
}

size_t EntryBytes(const NodeEntry& e) {
  return 104 + e.id.size() + e.dc.size() + e.rack.size() + e.client_endpoint.size() +
         e.storage_endpoint.size() + e.gossip_endpoint.size() + 8 * e.tokens.size();
}

std::string Encode(const Message& m) {
  uint32_t n = 3 + (m.kind != Kind::kAck2 ? 2 : 0) + (m.has_heartbeats ? 1 : 0) +
               (m.has_digests ? 1 : 0) + (m.entries.empty() ? 0 : 1) + (m.requests.empty() ? 0 : 1) +
               (m.buckets.empty() ? 0 : 1) + (m.bucket_hashes.empty() ? 0 : 1) +
               (m.has_self_heartbeat ? 1 : 0) + (m.has_sparse ? 1 : 0) +
               (m.suspects.empty() ? 0 : 1) + (m.alive.empty() ? 0 : 1) +
               (m.local_health != 0 ? 1 : 0) + (m.suspect_health.empty() ? 0 : 1);
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(n);
  mp::PackStr(p, "t"); mp::PackStr(p, KindName(m.kind));
  mp::PackStr(p, "v"); p.pack_uint64(kProtocolVersion);
  mp::PackStr(p, "from"); mp::PackStr(p, m.from);
  if (m.kind != Kind::kAck2) {
    mp::PackStr(p, "vh"); p.pack_uint64(m.view_hash);
    mp::PackStr(p, "vn"); p.pack_uint32(m.view_size);
  }
  if (m.has_heartbeats) {
    std::string hb;
    hb.reserve(m.heartbeats.size() * 3);
    for (uint64_t v : m.heartbeats) PutVarint(&hb, v);
    mp::PackStr(p, "hb"); mp::PackBin(p, hb);
  }
  if (m.has_digests) {
    mp::PackStr(p, "dg");
    p.pack_array(static_cast<uint32_t>(m.digests.size()));
    for (const Digest& d : m.digests) PackDigest(p, d);
  }
  if (!m.buckets.empty()) {
    std::string bk;
    for (uint32_t b : m.buckets) PutVarint(&bk, b);
    mp::PackStr(p, "bk"); mp::PackBin(p, bk);
  }
  if (!m.bucket_hashes.empty()) {
    std::string bh;
    for (uint64_t h : m.bucket_hashes) {
      for (int s = 56; s >= 0; s -= 8) bh.push_back(static_cast<char>((h >> s) & 0xff));
    }
    mp::PackStr(p, "bh"); mp::PackBin(p, bh);
  }
  if (!m.entries.empty()) {
    mp::PackStr(p, "en");
    p.pack_array(static_cast<uint32_t>(m.entries.size()));
    for (const NodeEntry& e : m.entries) PackEntry(p, e);
  }
  if (!m.requests.empty()) {
    mp::PackStr(p, "rq");
    p.pack_array(static_cast<uint32_t>(m.requests.size()));
    for (const Digest& d : m.requests) PackDigest(p, d);
  }
  if (m.has_self_heartbeat) {
    mp::PackStr(p, "me");
    p.pack_array(2);
    p.pack_uint64(m.self_heartbeat.generation);
    p.pack_uint64(m.self_heartbeat.version);
  }
  if (m.has_sparse) {
    std::string hs;
    hs.reserve(m.sparse.size() * 4);
    for (const auto& [pos, ver] : m.sparse) {
      PutVarint(&hs, pos);
      PutVarint(&hs, ver);
    }
    mp::PackStr(p, "hs"); mp::PackBin(p, hs);
  }
  for (const auto& [name, list] : {std::pair<const char*, const std::vector<Digest>*>{"su", &m.suspects},
                                   {"al", &m.alive}}) {
    if (list->empty()) continue;
    mp::PackStr(p, name);
    p.pack_array(static_cast<uint32_t>(list->size()));
    for (const Digest& d : *list) PackDigest(p, d);
  }
  if (m.local_health != 0) {
    mp::PackStr(p, "lh"); p.pack_uint64(m.local_health);
  }
  if (!m.suspect_health.empty()) {
    std::string sl;
    for (uint64_t h : m.suspect_health) PutVarint(&sl, h);
    mp::PackStr(p, "sl"); mp::PackBin(p, sl);
  }
  return std::string(buf.data(), buf.size());
}

Result<Message> Decode(std::string_view bytes) {
  msgpack::object_handle handle;
  Status us = Unpack(bytes, &handle);
  if (!us.ok()) return us;
  auto m = mp::MapView::Of(handle.get());
  if (!m.ok()) return Bad("message is not a map");

  Message out;
  std::string kind;
  Status s = ReadStr(*m, "t", true, &kind);
  if (!s.ok()) return s;
  if (kind == kSynName) out.kind = Kind::kSyn;
  else if (kind == kAckName) out.kind = Kind::kAck;
  else if (kind == kAck2Name) out.kind = Kind::kAck2;
  else return Bad("unknown message kind '" + kind + "'");
  uint64_t version = 0;
  s = ReadUint(*m, "v", true, &version);
  if (!s.ok()) return s;
  if (version != kProtocolVersion) return Bad("unsupported protocol version " + std::to_string(version));
  s = ReadStr(*m, "from", true, &out.from);
  if (s.ok() && out.from.empty()) s = Bad("empty 'from'");
  if (!s.ok()) return s;
  bool needs_hash = out.kind != Kind::kAck2;
  s = ReadUint(*m, "vh", needs_hash, &out.view_hash);
  uint64_t vn = 0;
  if (s.ok()) s = ReadUint(*m, "vn", needs_hash, &vn);
  if (s.ok() && vn > kMaxMembers) s = Bad("view size over the limit");
  if (!s.ok()) return s;
  out.view_size = static_cast<uint32_t>(vn);

  auto hb = m->Bytes("hb");
  if (!hb.ok()) return Bad(hb.status().message());
  if (*hb) {
    out.has_heartbeats = true;
    s = DecodeVarints(**hb, &out.heartbeats);
    if (!s.ok()) return s;
  }
  auto dg = ArrayField(*m, "dg");
  if (!dg.ok()) return dg.status();
  if (*dg != nullptr) {
    out.has_digests = true;
    auto d = DecodeDigests(*dg);
    if (!d.ok()) return d.status();
    out.digests = std::move(*d);
  }
  auto bk = m->Bytes("bk");
  if (!bk.ok()) return Bad(bk.status().message());
  if (*bk) {
    std::vector<uint64_t> ids;
    s = DecodeVarints(**bk, &ids);
    if (!s.ok()) return s;
    for (uint64_t b : ids) {
      if (b >= kBuckets) return Bad("bucket " + std::to_string(b) + " out of range");
      out.buckets.push_back(static_cast<uint32_t>(b));
    }
  }
  auto bh = m->Bytes("bh");
  if (!bh.ok()) return Bad(bh.status().message());
  if (*bh) {
    const std::string& b = **bh;
    if (b.size() != kBuckets * 8) return Bad("bucket hashes are not " + std::to_string(kBuckets) + " 8-byte hashes");
    out.bucket_hashes.resize(kBuckets);
    for (size_t i = 0; i < kBuckets; ++i) {
      uint64_t h = 0;
      for (int j = 0; j < 8; ++j) h = (h << 8) | static_cast<uint8_t>(b[i * 8 + j]);
      out.bucket_hashes[i] = h;
    }
  }
  auto rq = ArrayField(*m, "rq");
  if (!rq.ok()) return rq.status();
  auto r = DecodeDigests(*rq);
  if (!r.ok()) return r.status();
  out.requests = std::move(*r);
  auto en = ArrayField(*m, "en");
  if (!en.ok()) return en.status();
  if (*en != nullptr) {
    out.entries.reserve((*en)->size);
    for (uint32_t i = 0; i < (*en)->size; ++i) {
      auto e = DecodeEntry((*en)->ptr[i]);
      if (!e.ok()) return e.status();
      out.entries.push_back(std::move(*e));
    }
  }
  if (const msgpack::object* me = m->Find("me"); me != nullptr) {
    if (me->type != msgpack::type::ARRAY || me->via.array.size != 2 || !IsUint(me->via.array.ptr[0]) ||
        !IsUint(me->via.array.ptr[1])) {
      return Bad("field 'me' is not [uint, uint]");
    }
    out.has_self_heartbeat = true;
    out.self_heartbeat = {me->via.array.ptr[0].via.u64, me->via.array.ptr[1].via.u64};
  }
  auto hs = m->Bytes("hs");
  if (!hs.ok()) return Bad(hs.status().message());
  if (*hs) {
    std::vector<uint64_t> v;
    s = DecodeVarints(**hs, &v);
    if (!s.ok()) return s;
    if (v.size() % 2 != 0) return Bad("field 'hs' is not a list of (position, version) pairs");
    out.has_sparse = true;
    for (size_t i = 0; i < v.size(); i += 2) {
      if (v[i] >= kMaxMembers) return Bad("field 'hs' names a position over the limit");
      out.sparse.emplace_back(static_cast<uint32_t>(v[i]), v[i + 1]);
    }
  }
  for (const auto& [name, list] : {std::pair<const char*, std::vector<Digest>*>{"su", &out.suspects},
                                   {"al", &out.alive}}) {
    auto arr = ArrayField(*m, name);
    if (!arr.ok()) return arr.status();
    if (*arr != nullptr && (*arr)->size > kMaxRumors) {
      return Bad("field '" + std::string(name) + "' has more than " + std::to_string(kMaxRumors) + " rumours");
    }
    auto d = DecodeDigests(*arr);
    if (!d.ok()) return d.status();
    *list = std::move(*d);
  }
  s = ReadUint(*m, "lh", false, &out.local_health);
  if (!s.ok()) return s;
  auto sl = m->Bytes("sl");
  if (!sl.ok()) return Bad(sl.status().message());
  if (*sl) {
    s = DecodeVarints(**sl, &out.suspect_health);
    if (!s.ok()) return s;
    if (out.suspect_health.size() != out.suspects.size()) {
      return Bad("field 'sl' does not have one health per suspect");
    }
  }
  if (out.kind == Kind::kSyn && !out.has_heartbeats && !out.has_digests && !out.has_sparse) {
    return Bad("a syn carries neither heartbeats nor digests");
  }
  return out;
}

bool IsExchangeMessage(std::string_view b) {
  if (b.empty()) return false;
  const uint8_t h = static_cast<uint8_t>(b[0]);
  size_t key = 0;  // offset of the first key
  if ((h & 0xf0) == 0x80) {
    key = 1;  // fixmap
  } else if (h == 0xde) {
    key = 3;  // map 16
  } else if (h == 0xdf) {
    key = 5;  // map 32
  } else {
    return false;
  }
  return b.size() >= key + 2 && static_cast<uint8_t>(b[key]) == 0xa1 && b[key + 1] == 't';
}

// --- Requests and replies.

std::string EncodeHint(const HintRequest& h) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(5);
  mp::PackStr(p, "op"); mp::PackStr(p, kOpHint);
  mp::PackStr(p, "rid"); p.pack_uint64(h.rid);
  mp::PackStr(p, "target"); mp::PackStr(p, h.target);
  mp::PackStr(p, "key"); mp::PackBin(p, h.key);
  mp::PackStr(p, "state"); mp::PackBin(p, h.state);
  return std::string(buf.data(), buf.size());
}

Result<HintRequest> DecodeHint(std::string_view body) {
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return Bad(decoded.status().message());
  auto m = mp::MapView::Of(decoded->root());
  if (!m.ok()) return Bad("a hint is not a map");
  auto op = m->Str("op");
  if (!op.ok() || !op->has_value() || **op != kOpHint) return Bad("not a hint request");
  HintRequest h;
  Status s = ReadUint(*m, "rid", false, &h.rid);
  if (!s.ok()) return s;
  auto target = m->Str("target");
  auto key = m->Bytes("key");
  auto state = m->Bytes("state");
  for (const auto* f : {&target, &key, &state}) {
    if (!f->ok()) return Bad(f->status().message());
    if (!f->value().has_value()) return Bad("hint needs target, key and state");
  }
  if ((*target)->empty()) return Bad("hint target is empty");
  h.target = std::move(**target);
  h.key = std::move(**key);
  h.state = std::move(**state);
  return h;
}

Result<Reply> DecodeReply(std::string_view body) {
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return decoded.status();
  auto map = mp::MapView::Of(decoded->root());
  if (!map.ok()) return map.status();
  Reply r;
  auto rid = map->Uint("rid");
  auto ok = map->Bool("ok");
  if (!rid.ok()) return rid.status();
  if (!ok.ok()) return ok.status();
  if (!ok->has_value()) return Status::InvalidArgument("gossip reply without 'ok'");
  r.rid = rid->value_or(0);
  r.ok = **ok;
  if (r.ok) {
    auto room = map->Uint("hint_room");
    if (!room.ok()) return room.status();
    r.has_hint_room = room->has_value();
    r.hint_room = room->value_or(0);
    return r;
  }
  if (const msgpack::object* e = map->Find("error")) {
    auto err = mp::MapView::Of(*e);
    if (err.ok()) {
      auto code = err->Str("code");
      auto message = err->Str("message");
      if (code.ok() && code->has_value()) r.code = **code;
      if (message.ok() && message->has_value()) r.message = **message;
    }
  }
  if (r.code.empty()) r.code = std::string(kErrInternal);
  return r;
}

std::string EncodeView(const ViewPush& v, uint64_t rid) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(7);
  mp::PackStr(p, "v"); p.pack_uint64(kProtocolVersion);
  mp::PackStr(p, "ok"); p.pack_true();
  mp::PackStr(p, "rid"); p.pack_uint64(rid);
  mp::PackStr(p, "op"); mp::PackStr(p, kOpView);
  mp::PackStr(p, "self"); mp::PackStr(p, v.self);
  mp::PackStr(p, "view_version"); p.pack_uint64(v.view_version);
  mp::PackStr(p, "members");
  p.pack_array(static_cast<uint32_t>(v.members.size()));
  for (const MemberView& m : v.members) {
    p.pack_map(4);
    mp::PackStr(p, "e"); PackEntry(p, m.entry);
    mp::PackStr(p, "up"); if (m.up) p.pack_true(); else p.pack_false();
    mp::PackStr(p, "phi"); p.pack_double(m.phi);
    mp::PackStr(p, "age"); p.pack_int64(m.heartbeat_age_ms);
  }
  return std::string(buf.data(), buf.size());
}

Result<ViewPush> DecodeView(std::string_view bytes) {
  msgpack::object_handle handle;
  Status s = Unpack(bytes, &handle);
  if (!s.ok()) return s;
  auto m = mp::MapView::Of(handle.get());
  if (!m.ok()) return Bad("view is not a map");
  auto ok = m->Bool("ok");
  if (!ok.ok()) return Bad(ok.status().message());
  if (!ok->value_or(false)) return Bad("view reply is not ok");
  uint64_t version = 0;
  s = ReadUint(*m, "v", true, &version);
  if (!s.ok()) return s;
  if (version != kProtocolVersion) return Bad("unsupported protocol version " + std::to_string(version));
  std::string op;
  s = ReadStr(*m, "op", true, &op);
  if (!s.ok()) return s;
  if (op != kOpView) return Bad("reply op '" + op + "' is not 'view'");
  uint64_t rid = 0;
  s = ReadUint(*m, "rid", false, &rid);
  if (!s.ok()) return s;
  ViewPush v;
  s = ReadStr(*m, "self", true, &v.self);
  if (s.ok() && v.self.empty()) s = Bad("empty 'self'");
  if (s.ok()) s = ReadUint(*m, "view_version", true, &v.view_version);
  if (!s.ok()) return s;
  auto members = ArrayField(*m, "members");
  if (!members.ok()) return members.status();
  if (*members == nullptr) return Bad("missing field 'members'");
  v.members.reserve((*members)->size);
  for (uint32_t i = 0; i < (*members)->size; ++i) {
    auto mm = mp::MapView::Of((*members)->ptr[i]);
    if (!mm.ok()) return Bad("a member is not a map");
    const msgpack::object* e = mm->Find("e");
    if (e == nullptr) return Bad("a member has no entry 'e'");
    auto entry = DecodeEntry(*e);
    if (!entry.ok()) return entry.status();
    MemberView mv;
    mv.entry = std::move(*entry);
    if (!v.members.empty() && !(v.members.back().entry.id < mv.entry.id)) {
      return Bad("members are not in id order or repeat '" + mv.entry.id + "'");
    }
    auto up = mm->Bool("up");
    if (!up.ok()) return Bad(up.status().message());
    if (!up->has_value()) return Bad("member '" + mv.entry.id + "' has no 'up'");
    mv.up = **up;
    const msgpack::object* phi = mm->Find("phi");
    if (phi == nullptr) return Bad("member '" + mv.entry.id + "' has no 'phi'");
    if (phi->type == msgpack::type::FLOAT64 || phi->type == msgpack::type::FLOAT32) {
      mv.phi = phi->via.f64;
    } else if (phi->type == msgpack::type::POSITIVE_INTEGER) {
      mv.phi = static_cast<double>(phi->via.u64);  // msgpack-c packs a whole double as an int
    } else if (phi->type == msgpack::type::NEGATIVE_INTEGER) {
      mv.phi = static_cast<double>(phi->via.i64);
    } else {
      return Bad("member '" + mv.entry.id + "': 'phi' is not a number");
    }
    auto age = mm->Int("age");
    if (!age.ok()) return Bad(age.status().message());
    if (!age->has_value()) return Bad("member '" + mv.entry.id + "' has no 'age'");
    if (**age < -1) return Bad("member '" + mv.entry.id + "': negative 'age'");
    mv.heartbeat_age_ms = **age;
    v.members.push_back(std::move(mv));
  }
  return v;
}

}  // namespace ringkv::gossip_protocol
