// Request handling of the gossip agent (see gossip_service.h for the protocol).
#include "gossip-agent/gossip_service.h"

#include <chrono>
#include <optional>
#include <vector>

#include "common/metrics/registry.h"
#include "common/msgpack_util.h"

namespace ringkv::gossip {

namespace gp = gossip_protocol;

namespace {

// Fields echoed from the request so that callers can match replies.
struct Echo {
  const msgpack::object* id = nullptr;
  const msgpack::object* rid = nullptr;
  uint32_t count() const { return (id ? 1 : 0) + (rid ? 1 : 0); }
};

void PackHeader(mp::Packer& p, const Echo& echo, bool ok, uint32_t extra) {
  p.pack_map(2 + echo.count() + extra);
  mp::PackStr(p, "v");
  p.pack_uint64(1);
  mp::PackStr(p, "ok");
  if (ok) {
    p.pack_true();
  } else {
    p.pack_false();
  }
  if (echo.id) {
    mp::PackStr(p, "id");
    mp::PackObject(p, *echo.id);
  }
  if (echo.rid) {
    mp::PackStr(p, "rid");
    mp::PackObject(p, *echo.rid);
  }
}

std::string Error(const Echo& echo, std::string_view code, const std::string& message) {
  mp::Buffer buf;
  mp::Packer p(buf);
  PackHeader(p, echo, false, 1);
  mp::PackStr(p, "error");
  p.pack_map(2);
  mp::PackStr(p, "code");
  mp::PackStr(p, code);
  mp::PackStr(p, "message");
  mp::PackStr(p, message);
  return std::string(buf.data(), buf.size());
}

int64_t NowWallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A request id as one line of text: a number, or a string's bytes made printable.
std::string IdText(const msgpack::object* o) {
  if (o == nullptr) return {};
  if (o->type == msgpack::type::POSITIVE_INTEGER) return std::to_string(o->via.u64);
  if (o->type == msgpack::type::STR) {
    return metrics::EscapeLabelValue({o->via.str.ptr, o->via.str.size});
  }
  if (o->type == msgpack::type::BIN) {
    return metrics::EscapeLabelValue({o->via.bin.ptr, o->via.bin.size});
  }
  return {};
}

Echo EchoOf(const mp::MapView& map) { return Echo{map.Find("id"), map.Find("rid")}; }

// The reply to a hint request once the store has answered: ok with the room left (so a
// coordinator learns it from every hint it places), or busy (full) / bad_request (state not an
// encoded KeyState) / internal.
std::string_view HintErrorCode(const Status& s) {
  return s.code() == Status::Code::kBusy              ? kErrBusy
         : s.code() == Status::Code::kInvalidArgument ? kErrBadRequest
                                                      : kErrInternal;
}

std::string HintReply(const Echo& echo, const Status& s, uint64_t room) {
  if (!s.ok()) return Error(echo, HintErrorCode(s), s.ToString());
  mp::Buffer buf;
  mp::Packer p(buf);
  PackHeader(p, echo, true, 1);
  mp::PackStr(p, "hint_room");
  p.pack_uint64(room);
  return std::string(buf.data(), buf.size());
}

std::string TokensBlob(const std::vector<Token>& tokens) {
  std::string out(tokens.size() * 8, '\0');
  for (size_t i = 0; i < tokens.size(); ++i) {
    for (int b = 0; b < 8; ++b) {
      out[i * 8 + static_cast<size_t>(b)] = static_cast<char>(tokens[i] >> (56 - 8 * b));
    }
  }
  return out;
}

}  // namespace

uint64_t GossipService::HintRoom() const {
  return hints_->bytes() < hints_->max_bytes() ? hints_->max_bytes() - hints_->bytes() : 0;
}

std::string GossipService::ErrorReply(std::string_view code, const std::string& message) {
  return Error(Echo{}, code, message);
}

std::string GossipService::Handle(std::string_view body, RequestSummary* summary) {
  std::string reply = Answer(body, summary);
  // Counted from the reply so that every path to bad_request is (error replies are small;
  // big replies, a ring with tokens or a view, are never errors and are not looked at).
  std::string code = "ok";
  if (reply.size() < 4096) {
    auto d = mp::Decode(reply);
    auto m = d.ok() ? mp::MapView::Of(d->root()) : Result<mp::MapView>(d.status());
    const msgpack::object* e = m.ok() ? m->Find("error") : nullptr;
    auto err = e != nullptr ? mp::MapView::Of(*e) : Result<mp::MapView>(Status::NotFound(""));
    auto c = err.ok() ? err->Str("code") : Result<std::optional<std::string>>(err.status());
    if (c.ok() && c->has_value()) code = **c;
    if (code == kErrBadRequest) ++bad_requests_;
  }
  if (summary != nullptr) summary->code = std::move(code);
  return reply;
}

bool GossipService::QueueHint(std::string_view body) {
  if (hints_ == nullptr || queued_.size() >= kMaxQueuedHints) return false;
  auto hint = gp::DecodeHint(body);
  if (!hint.ok()) return false;  // another op, or a malformed hint: Handle answers it
  queued_.push_back({std::string(body), std::move(*hint)});
  return true;
}

std::vector<std::string> GossipService::FlushHints(std::vector<RequestSummary>* summaries) {
  if (queued_.empty()) return {};
  std::vector<HintWrite> writes;
  writes.reserve(queued_.size());
  for (const QueuedHint& q : queued_) writes.push_back({q.hint.target, q.hint.key, q.hint.state});
  const std::vector<Status> stored = hints_->AddAll(writes, NowWallMs());
  std::vector<std::string> replies;
  replies.reserve(queued_.size());
  for (size_t i = 0; i < queued_.size(); ++i) {
    // The body decoded once already (DecodeHint), so the echo is there.
    auto decoded = mp::Decode(queued_[i].body);
    auto map = decoded.ok() ? mp::MapView::Of(decoded->root())
                            : Result<mp::MapView>(decoded.status());
    const Echo echo = map.ok() ? EchoOf(*map) : Echo{};
    if (stored[i].code() == Status::Code::kInvalidArgument) ++bad_requests_;
    replies.push_back(HintReply(echo, stored[i], HintRoom()));
    if (summaries != nullptr) {
      RequestSummary r;
      r.op = std::string(gp::kOpHint);
      r.rid = IdText(echo.rid);
      r.id = IdText(echo.id);
      r.code = stored[i].ok() ? "ok" : std::string(HintErrorCode(stored[i]));
      summaries->push_back(std::move(r));
    }
  }
  queued_.clear();
  return replies;
}

std::string GossipService::Answer(std::string_view body, RequestSummary* summary) {
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return Error(Echo{}, kErrBadRequest, decoded.status().message());
  auto map = mp::MapView::Of(decoded->root());
  if (!map.ok()) return Error(Echo{}, kErrBadRequest, map.status().message());
  Echo echo = EchoOf(*map);
  auto op = map->Str("op");
  if (summary != nullptr) {
    summary->rid = IdText(echo.rid);
    summary->id = IdText(echo.id);
    if (op.ok() && op->has_value()) summary->op = metrics::EscapeLabelValue(**op);
  }
  if (!op.ok()) return Error(echo, kErrBadRequest, op.status().message());
  if (!op->has_value()) return Error(echo, kErrBadRequest, "field 'op' is required");
  const std::string& name = **op;

  if ((name == gp::kOpView || name == gp::kOpWatch) && hooks_.view) {
    auto rid = map->Uint("rid");
    if (!rid.ok()) return Error(echo, kErrBadRequest, rid.status().message());
    if (name == gp::kOpWatch && hooks_.watch) hooks_.watch(rid->value_or(0));
    return hooks_.view(rid->value_or(0));
  }

  mp::Buffer buf;
  mp::Packer p(buf);
  if (name == gp::kOpPing) {
    // hint_room lets a coordinator refuse a write up front when no agent could hold its hints
    // (docs/hinted-handoff.md, "Room for hints").
    PackHeader(p, echo, true, hints_ ? 2 : 1);
    mp::PackStr(p, "node");
    mp::PackStr(p, node_id_);
    if (hints_) {
      mp::PackStr(p, "hint_room");
      p.pack_uint64(HintRoom());
    }
    return std::string(buf.data(), buf.size());
  }
  if (name == gp::kOpRing) {
    auto with_tokens = map->Bool("tokens");
    if (!with_tokens.ok()) return Error(echo, kErrBadRequest, with_tokens.status().message());
    const bool tokens = with_tokens->value_or(false);
    auto snap = store_->Load();
    if (!snap.ok()) return Error(echo, kErrInternal, snap.status().ToString());
    PackHeader(p, echo, true, 3);
    mp::PackStr(p, "version");
    p.pack_uint64(snap->version);
    mp::PackStr(p, "replication");
    p.pack_map(static_cast<uint32_t>(snap->replication.per_dc.size()));
    for (const auto& [dc, factor] : snap->replication.per_dc) {
      mp::PackStr(p, dc);
      p.pack_int(factor);
    }
    mp::PackStr(p, "nodes");
    p.pack_array(static_cast<uint32_t>(snap->nodes.size()));
    for (const NodeInfo& n : snap->nodes) {
      p.pack_map(tokens ? 9 : 8);
      mp::PackStr(p, "id");
      mp::PackStr(p, n.id);
      mp::PackStr(p, "dc");
      mp::PackStr(p, n.dc);
      mp::PackStr(p, "rack");
      mp::PackStr(p, n.rack);
      mp::PackStr(p, "client");
      mp::PackStr(p, n.client_endpoint);
      mp::PackStr(p, "storage");
      mp::PackStr(p, n.storage_endpoint);
      mp::PackStr(p, "gossip");
      mp::PackStr(p, n.gossip_endpoint);
      mp::PackStr(p, "vnodes");
      p.pack_uint32(n.vnodes);
      mp::PackStr(p, "state");
      mp::PackStr(p, NodeStateName(n.state));
      if (tokens) {
        mp::PackStr(p, "tokens");
        mp::PackBin(p, TokensBlob(n.tokens));
      }
    }
    return std::string(buf.data(), buf.size());
  }
  if (name == gp::kOpHint) {
    if (hints_ == nullptr) return Error(echo, kErrInternal, "this agent keeps no hints");
    auto hint = gp::DecodeHint(body);
    if (!hint.ok()) return Error(echo, kErrBadRequest, hint.status().message());
    const Status stored = hints_->Add(hint->target, hint->key, hint->state, NowWallMs());
    return HintReply(echo, stored, HintRoom());  // the room left after this hint
  }
  if (name == gp::kOpHints) {
    if (hints_ == nullptr) return Error(echo, kErrInternal, "this agent keeps no hints");
    auto targets = hints_->Targets();
    if (!targets.ok()) return Error(echo, kErrInternal, targets.status().ToString());
    std::vector<std::pair<std::string, size_t>> per_target;
    for (const auto& t : *targets) {
      auto pending = hints_->CountFor(t);
      if (!pending.ok()) return Error(echo, kErrInternal, pending.status().ToString());
      per_target.emplace_back(t, *pending);
    }
    PackHeader(p, echo, true, 5);
    mp::PackStr(p, "count");
    p.pack_uint64(hints_->count());
    mp::PackStr(p, "bytes");
    p.pack_uint64(hints_->bytes());
    mp::PackStr(p, "max_bytes");
    p.pack_uint64(hints_->max_bytes());
    mp::PackStr(p, "delivered");
    p.pack_uint64(deliverer_ ? deliverer_->stats().delivered : 0);
    mp::PackStr(p, "targets");
    p.pack_map(static_cast<uint32_t>(per_target.size()));
    for (const auto& [t, n] : per_target) {
      mp::PackStr(p, t);
      p.pack_uint64(n);
    }
    return std::string(buf.data(), buf.size());
  }
  if (name == gp::kOpStats && hooks_.stats) {
    const auto counters = hooks_.stats();
    PackHeader(p, echo, true, 1 + static_cast<uint32_t>(counters.size()));
    mp::PackStr(p, "node");
    mp::PackStr(p, node_id_);
    for (const auto& [k, v] : counters) {
      mp::PackStr(p, k);
      p.pack_uint64(v);
    }
    return std::string(buf.data(), buf.size());
  }
  if ((name == gp::kOpRepairStart && hooks_.repair_start) ||
      (name == gp::kOpRepairStatus && hooks_.repair_status)) {
    std::vector<gp::RepairJobStatus> jobs;
    if (name == gp::kOpRepairStart) {
      auto r = gp::DecodeRepairStart(body);
      if (!r.ok()) return Error(echo, kErrBadRequest, r.status().message());
      jobs = hooks_.repair_start(*r);
    } else {
      auto r = gp::DecodeRepairStatus(body);
      if (!r.ok()) return Error(echo, kErrBadRequest, r.status().message());
      jobs = hooks_.repair_status(r->req);
    }
    PackHeader(p, echo, true, 1);
    mp::PackStr(p, "jobs");
    const std::string array = gp::EncodeRepairJobs(jobs);
    buf.write(array.data(), array.size());
    return std::string(buf.data(), buf.size());
  }
  std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
  return Error(echo, kErrUnknownOp, "unknown op '" + shown + "' (the gossip agent answers ping, ring, hint, hints, view, watch, stats, repair_start and repair_status)");
}

}  // namespace ringkv::gossip
