// Encoding and decoding of the repair requests (see repair_protocol.h).
#include "common/protocol/repair_protocol.h"

#include "common/msgpack_util.h"

namespace ringkv::gossip_protocol {

namespace {

Status Bad(std::string m) { return Status::InvalidArgument("repair: " + std::move(m)); }

Status ReadUintField(const mp::MapView& m, std::string_view name, uint64_t* out, bool* present) {
  auto v = m.Uint(name);
  if (!v.ok()) return Bad(v.status().message());
  if (present) *present = v->has_value();
  if (v->has_value()) *out = **v;
  return Status::OK();
}

Status ReadStrField(const mp::MapView& m, std::string_view name, std::string* out) {
  auto v = m.Str(name);
  if (!v.ok()) return Bad(v.status().message());
  if (v->has_value()) {
    if ((*v)->size() > 4096) return Bad("field '" + std::string(name) + "' too long");
    *out = std::move(**v);
  }
  return Status::OK();
}

Result<mp::MapView> OpMap(const msgpack::object& root, std::string_view op) {
  auto m = mp::MapView::Of(root);
  if (!m.ok()) return Bad("not a map");
  auto name = m->Str("op");
  if (!name.ok() || !name->has_value() || **name != op) {
    return Bad("not a " + std::string(op) + " request");
  }
  return m;
}

}  // namespace

std::string EncodeRepairStart(const RepairStartRequest& r) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(3 + (r.node.empty() ? 0 : 1) + (r.has_range ? 2 : 0));
  mp::PackStr(p, "op"); mp::PackStr(p, kOpRepairStart);
  mp::PackStr(p, "rid"); p.pack_uint64(r.rid);
  mp::PackStr(p, "req"); p.pack_uint64(r.req);
  if (!r.node.empty()) {
    mp::PackStr(p, "node"); mp::PackStr(p, r.node);
  }
  if (r.has_range) {
    mp::PackStr(p, "first"); p.pack_uint64(r.first);
    mp::PackStr(p, "last"); p.pack_uint64(r.last);
  }
  return std::string(buf.data(), buf.size());
}

Result<RepairStartRequest> DecodeRepairStart(std::string_view body) {
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return Bad(decoded.status().message());
  auto m = OpMap(decoded->root(), kOpRepairStart);
  if (!m.ok()) return m.status();
  RepairStartRequest r;
  RINGKV_RETURN_IF_ERROR(ReadUintField(*m, "rid", &r.rid, nullptr));
  RINGKV_RETURN_IF_ERROR(ReadUintField(*m, "req", &r.req, nullptr));
  if (r.req == 0) return Bad("repair_start needs a nonzero 'req'");
  RINGKV_RETURN_IF_ERROR(ReadStrField(*m, "node", &r.node));
  bool has_first = false;
  bool has_last = false;
  RINGKV_RETURN_IF_ERROR(ReadUintField(*m, "first", &r.first, &has_first));
  RINGKV_RETURN_IF_ERROR(ReadUintField(*m, "last", &r.last, &has_last));
  if (has_first != has_last) return Bad("'first' and 'last' go together");
  r.has_range = has_first;
  if (r.has_range && r.first > r.last) return Bad("'first' is after 'last'");
  return r;
}

std::string EncodeRepairStatus(const RepairStatusRequest& r) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(r.req ? 3 : 2);
  mp::PackStr(p, "op"); mp::PackStr(p, kOpRepairStatus);
  mp::PackStr(p, "rid"); p.pack_uint64(r.rid);
  if (r.req) {
    mp::PackStr(p, "req"); p.pack_uint64(r.req);
  }
  return std::string(buf.data(), buf.size());
}

Result<RepairStatusRequest> DecodeRepairStatus(std::string_view body) {
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return Bad(decoded.status().message());
  auto m = OpMap(decoded->root(), kOpRepairStatus);
  if (!m.ok()) return m.status();
  RepairStatusRequest r;
  RINGKV_RETURN_IF_ERROR(ReadUintField(*m, "rid", &r.rid, nullptr));
  RINGKV_RETURN_IF_ERROR(ReadUintField(*m, "req", &r.req, nullptr));
  return r;
}

std::string EncodeRepairJobs(const std::vector<RepairJobStatus>& jobs) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_array(static_cast<uint32_t>(jobs.size()));
  for (const RepairJobStatus& j : jobs) {
    p.pack_map(13);
    mp::PackStr(p, "req"); p.pack_uint64(j.req);
    mp::PackStr(p, "kind"); mp::PackStr(p, j.kind);
    mp::PackStr(p, "scope"); mp::PackStr(p, j.scope);
    mp::PackStr(p, "state"); mp::PackStr(p, j.state);
    mp::PackStr(p, "total"); p.pack_uint64(j.total);
    mp::PackStr(p, "done"); p.pack_uint64(j.done);
    mp::PackStr(p, "keys_compared"); p.pack_uint64(j.keys_compared);
    mp::PackStr(p, "keys_differing"); p.pack_uint64(j.keys_differing);
    mp::PackStr(p, "keys_sent"); p.pack_uint64(j.keys_sent);
    mp::PackStr(p, "bytes"); p.pack_uint64(j.bytes);
    mp::PackStr(p, "eta_ms"); p.pack_uint64(j.eta_ms);
    mp::PackStr(p, "attempts"); p.pack_uint64(j.attempts);
    mp::PackStr(p, "error"); mp::PackStr(p, j.error);
  }
  return std::string(buf.data(), buf.size());
}

Result<RepairReply> DecodeRepairReply(std::string_view body) {
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return Bad(decoded.status().message());
  auto m = mp::MapView::Of(decoded->root());
  if (!m.ok()) return Bad("reply is not a map");
  RepairReply r;
  RINGKV_RETURN_IF_ERROR(ReadUintField(*m, "rid", &r.rid, nullptr));
  auto ok = m->Bool("ok");
  if (!ok.ok() || !ok->has_value()) return Bad("reply without a bool 'ok'");
  r.ok = **ok;
  if (!r.ok) {
    const msgpack::object* e = m->Find("error");
    if (e != nullptr) {
      auto em = mp::MapView::Of(*e);
      if (em.ok()) {
        RINGKV_RETURN_IF_ERROR(ReadStrField(*em, "code", &r.code));
        RINGKV_RETURN_IF_ERROR(ReadStrField(*em, "message", &r.message));
      }
    }
    if (r.code.empty()) r.code = "internal";
    return r;
  }
  const msgpack::object* jobs = m->Find("jobs");
  if (jobs == nullptr || jobs->type != msgpack::type::ARRAY) return Bad("reply without 'jobs'");
  for (uint32_t i = 0; i < jobs->via.array.size; ++i) {
    auto jm = mp::MapView::Of(jobs->via.array.ptr[i]);
    if (!jm.ok()) return Bad("a job is not a map");
    RepairJobStatus j;
    for (auto [name, field] : {std::pair<std::string_view, uint64_t*>{"req", &j.req},
                               {"total", &j.total},
                               {"done", &j.done},
                               {"keys_compared", &j.keys_compared},
                               {"keys_differing", &j.keys_differing},
                               {"keys_sent", &j.keys_sent},
                               {"bytes", &j.bytes},
                               {"eta_ms", &j.eta_ms},
                               {"attempts", &j.attempts}}) {
      RINGKV_RETURN_IF_ERROR(ReadUintField(*jm, name, field, nullptr));
    }
    for (auto [name, field] : {std::pair<std::string_view, std::string*>{"kind", &j.kind},
                               {"scope", &j.scope},
                               {"state", &j.state},
                               {"error", &j.error}}) {
      RINGKV_RETURN_IF_ERROR(ReadStrField(*jm, name, field));
    }
    r.jobs.push_back(std::move(j));
  }
  return r;
}

}  // namespace ringkv::gossip_protocol
