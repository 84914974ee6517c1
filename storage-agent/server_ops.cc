// The storage agent's request handlers, one per op, and Handle, which checks the deadline,
// decides what the frontend thread may run (only what needs no I/O) and dispatches on the op.
// The same code runs on the frontend (`frontend` set: memory-only reads, writes prepared into
// its batch) and on the workers (everything, blocking as needed). See server.h.
#include "common/logging.h"
#include "common/net/zmq_util.h"
#include "storage-agent/server.h"
#include "storage-agent/write_batcher.h"

namespace ringkv::storage {

namespace sp = storage_protocol;

namespace {

// A scan reply stops adding items past this many bytes (and sets `more`).
constexpr size_t kMaxScanReplyBytes = sp::kMaxBodyBytes / 2;
// A get whose state is larger goes to a worker even when in memory: copying and encoding a big
// state on the frontend would hold up every request behind it.
constexpr size_t kMaxInlineStateBytes = 64u << 10;

sp::Reply FailReply(const sp::Request& req, const Status& st) {
  if (st.IsCorruption()) {
    RINGKV_LOG(kError) << req.op << " rid=" << req.rid << ": " << st.ToString();
  }
  return sp::ErrorReply(req.rid, sp::ErrorCodeOf(st), st.message());
}

// The reply of an op that only succeeds or fails.
sp::Reply StatusReply(const sp::Request& req, const Status& st) {
  return st.ok() ? sp::Reply() : FailReply(req, st);
}

}  // namespace

std::optional<sp::Reply> Server::Handle(const sp::Request& req, WriteBatcher* frontend,
                                        bool* deferred) {
  const bool memory_only = frontend != nullptr;
  if (req.deadline_ms != 0 &&
      sp::Expired(req, sp::DeadlineClockMs(), options_.deadline_tolerance_ms)) {
    return ExpiredReply(req);
  }
  // Only these never touch the disk (a get or write only when its key's state is in memory).
  const bool is_write = req.op == sp::kUpdate || req.op == sp::kSync;
  if (memory_only && req.op != sp::kPing && req.op != sp::kStats && req.op != sp::kGet &&
      !(is_write && !frontend->paused())) {
    return std::nullopt;
  }
  // A key the batch already holds (or shares a lock stripe with) must be durable before it is
  // read again.
  if (frontend && is_write && store_->BatchHoldsStripe(frontend->batch(), req.key)) {
    frontend->Commit();
  }
  if (req.op == sp::kPing) return OpPing(req);
  if (req.op == sp::kGet) return OpGet(req, memory_only);
  if (req.op == sp::kUpdate) return OpUpdate(req, frontend, deferred);
  if (req.op == sp::kSync) return OpSync(req, frontend, deferred);
  if (req.op == sp::kScan) return OpScan(req);
  if (req.op == sp::kStats) return OpStats(req);
  if (req.op == sp::kFlush) return OpFlush(req);
  if (req.op == sp::kCompact) return OpCompact(req);
  if (req.op == sp::kAaeTree) return OpAaeTree(req);
  if (req.op == sp::kAaeKeys) return OpAaeKeys(req);
  if (req.op == sp::kAaeStates) return OpAaeStates(req);
  if (req.op == sp::kRepairMark) return OpRepairMark(req);
  return sp::ErrorReply(req.rid, sp::kErrUnknownOp, "unknown op '" + req.op + "'");
}

sp::Reply Server::OpPing(const sp::Request&) {
  sp::Reply r;
  r.actor = store_->actor();
  r.node = options_.node_id;
  r.direct_port = direct_port_;
  return r;
}

std::optional<sp::Reply> Server::OpGet(const sp::Request& req, bool memory_only) {
  engine::ReadOptions ro;
  ro.memory_only = memory_only;
  auto got = store_->Get(req.key, ro);
  if (memory_only && !got.ok() && got.status().IsIncomplete()) return std::nullopt;
  if (!got.ok()) return FailReply(req, got.status());
  if (memory_only && got->has_value() && (*got)->size() > kMaxInlineStateBytes) {
    return std::nullopt;
  }
  sp::Reply r;
  r.state = std::move(*got);
  return r;
}

std::optional<sp::Reply> Server::OpUpdate(const sp::Request& req, WriteBatcher* frontend,
                                          bool* deferred) {
  version::CausalContext ctx;
  if (!req.ctx.empty()) {
    auto c = version::CausalContext::Decode(req.ctx);
    if (!c.ok()) {
      return sp::ErrorReply(req.rid, sp::kErrBadRequest, "ctx: " + c.status().message());
    }
    ctx = std::move(*c);
  }
  std::optional<std::string_view> value;
  if (!req.tombstone) value = req.value;
  auto up = frontend ? store_->PrepareUpdate(&frontend->batch(), req.key, ctx, value,
                                             req.max_siblings)
                     : store_->Update(req.key, ctx, value, req.max_siblings);
  if (frontend && !up.ok() && up.status().IsIncomplete()) return std::nullopt;
  if (!up.ok()) return FailReply(req, up.status());
  sp::Reply r;
  r.state = std::move(up->encoded);
  r.dot = up->dot;
  if (frontend) {
    ++counters_.inline_writes;
    *deferred = true;
    if (req.early) r.durable = false;  // this reply goes now, a durable ack after the batch
  }
  return r;
}

std::optional<sp::Reply> Server::OpSync(const sp::Request& req, WriteBatcher* frontend,
                                        bool* deferred) {
  auto st = version::KeyState::Decode(req.state);
  if (!st.ok()) {
    return sp::ErrorReply(req.rid, sp::kErrBadRequest, "state: " + st.status().message());
  }
  bool changed = false;
  Status ss = frontend ? store_->PrepareSync(&frontend->batch(), req.key, *st, &changed)
                       : store_->Sync(req.key, *st);
  if (frontend && ss.IsIncomplete()) return std::nullopt;
  if (!ss.ok()) return FailReply(req, ss);
  if (frontend) {
    ++counters_.inline_writes;
    // A sync that changed nothing found its state durable already (the memtable holds only
    // committed writes): it is answered at once.
    *deferred = changed;
  }
  return sp::Reply();
}

sp::Reply Server::OpScan(const sp::Request& req) {
  std::optional<engine::ScanCursor> after;
  if (req.after_token) after = engine::ScanCursor{*req.after_token, req.after_key};
  std::vector<ReplicaStore::ScanEntry> entries;
  bool more = false;
  Status ss = store_->Scan(req.first, req.last, after, req.limit, &entries, &more);
  if (!ss.ok()) return FailReply(req, ss);
  // Keep a reply well under the body limit peers accept: stop early and report `more`; the
  // peer resumes after the last item it got.
  sp::Reply r;
  size_t bytes = 0;
  r.items.reserve(entries.size());
  for (auto& e : entries) {
    bytes += e.key.size() + e.state.size() + 16;
    if (!r.items.empty() && bytes > kMaxScanReplyBytes) {
      more = true;
      break;
    }
    r.items.push_back(sp::ScanItem{std::move(e.key), std::move(e.state)});
  }
  r.more = more;
  return r;
}

sp::Reply Server::OpStats(const sp::Request&) {
  // Every figure registered with a stats key (the keys this op always had among them).
  sp::Reply r;
  for (auto& [k, v] : metrics_->registry().StatsEntries()) r.stats[k] = v;
  r.stats["threads"] = static_cast<uint64_t>(options_.threads);
  return r;
}

sp::Reply Server::OpFlush(const sp::Request& req) { return StatusReply(req, store_->Flush()); }

sp::Reply Server::OpCompact(const sp::Request& req) {
  return StatusReply(req, store_->CompactAll());
}

}  // namespace ringkv::storage
