// The coordinator's reactor: the event loop, client dispatch and the life of a request (its
// start, deadline and end). The request paths, the peers and their links live beside it:
//   coordinator_peers.cc  the peer table (one entry per storage or gossip agent) and liveness
//   coordinator_link.cc   the link to an agent: the storage ROUTER and the direct transport
//   coordinator_read.cc   the read path (get, the read of a delete without ctx), read repair
//   coordinator_write.cc  the write path (update on one replica, syncs to the others)
//   coordinator_hints.cc  hinted handoff for replicas that miss a write
//   coordinator_view.cc   the views of this node's gossip agent (ring, liveness)
//
// DESIGN. One thread runs one net::Reactor (common/net/reactor.h) with every handler registered:
// the client endpoint (its listener and one ZMTP connection per client, client_endpoint.h), the
// storage ROUTER, its monitor and the DEALER to the gossip agent (ZeroMQ sockets, through their
// ZMQ_FDs), the direct connections to storage agents (plain fds), the timers (the earliest
// request deadline, the peers' tick, the ring reload until the first view, the end of the
// start-up wait) and the stop signals. What a pass queued (client replies, direct messages) is
// written by the end-of-pass hook, so the messages of a pass leave in one write per connection. A client
// request that needs replicas becomes an Op (kept in ops_ until every replica answered or its
// deadline passed) with one Slot per replica of the key's preference list. Messages to storage
// agents carry rid = op id << 8 | phase << 5 | slot, so a reply finds its op, its slot, and is
// ignored when it belongs to a phase the op has left (or to an op already finished). Which
// agents are usable is coordinator_peers.cc's (LIVENESS); the ring and the liveness verdicts
// come from this node's gossip agent (coordinator_view.cc). Nothing here blocks: every send
// uses ZMQ_DONTWAIT.
#include "coordinator/coordinator.h"

#include <algorithm>
#include <csignal>
#include <cstdint>

#include "common/logging.h"
#include "common/net/systemd_notify.h"
#include "common/net/zmq_util.h"
#include "common/token.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace sp = storage_protocol;

namespace {

constexpr size_t kMaxClientFrames = 32;  // frames kept of one client message
constexpr int64_t kClientMaxMsgBytes = 64ll << 20;
constexpr int64_t kTickMs = 100;          // TickPeers
// Past a write's deadline, how long its hints still have to be stored (OnDeadline).
constexpr int64_t kHintGraceMs = 2000;

}  // namespace

Coordinator::Coordinator(zmq::context_t& ctx, CoordinatorOptions options,
                         std::unique_ptr<RingSource> ring)
    : ctx_(ctx),
      opts_(std::move(options)),
      ring_source_(std::move(ring)),
      registry_("ringkv_coordinator", {{"node", opts_.node_id}}),
      stats_(registry_) {
  members_up_ = registry_.AddGauge("members_up", "Ring members this coordinator counts as up.");
  members_down_ = registry_.AddGauge(
      "members_down", "Ring members this coordinator counts as down (view or local suspicion).");
  ops_in_flight_ = registry_.AddGauge(
      "requests_in_flight", "Client data requests accepted and not answered yet.", "in_flight");
}

Coordinator::~Coordinator() = default;

// ---------------------------------------------------------------------------------------------
// Start

Status Coordinator::Start() {
  auto first = ring_source_->Poll();
  if (!first.ok()) return first.status();
  if (!first->has_value()) return Status::Internal("ring source gave no ring");

  // One ROUTER to every storage agent (TRANSPORT above).
  net::SocketOptions po;
  po.router_mandatory = true;
  po.send_hwm = 100000;
  po.recv_hwm = 100000;
  po.reconnect_ivl_ms = 100;
  po.reconnect_ivl_max_ms = 1000;
  auto storage = net::MakeSocket(ctx_, zmq::socket_type::router, po);
  if (!storage.ok()) return storage.status();
  storage_ = std::move(*storage);
  const std::string mon =
      "inproc://coordinator-storage-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  if (zmq_socket_monitor(storage_.handle(), mon.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) == 0) {
    try {
      storage_monitor_ = zmq::socket_t(ctx_, zmq::socket_type::pair);
      storage_monitor_.set(zmq::sockopt::linger, 0);
      storage_monitor_.connect(mon);
    } catch (const zmq::error_t& e) {
      RINGKV_LOG(kWarn) << "no connection events from the storage socket: " << e.what();
      storage_monitor_ = zmq::socket_t();
    }
  } else {
    RINGKV_LOG(kWarn) << "no connection events from the storage socket: "
                      << zmq_strerror(zmq_errno());
  }
  if (!storage_monitor_) {
    RINGKV_LOG(kWarn) << "storage agents are judged by the gossip view and requests only";
  }
  RINGKV_RETURN_IF_ERROR(ApplyRing(std::move(**first)));

  std::string listen = opts_.listen;
  if (listen.empty()) {
    const NodeInfo* me = ring_.Find(opts_.node_id);
    if (me) listen = me->client_endpoint;
  }
  if (listen.empty()) {
    return Status::InvalidArgument("no --listen endpoint and no client= endpoint for node " +
                                   opts_.node_id);
  }
  RINGKV_RETURN_IF_ERROR(reactor_.status());
  client_ = std::make_unique<ClientEndpoint>(
      ctx_, &reactor_, kClientMaxMsgBytes, kMaxClientFrames,
      [this](ClientRoute route, std::vector<std::string_view>& frames, bool truncated) {
        HandleClientMessage(std::move(route), frames, truncated);
      });
  RINGKV_RETURN_IF_ERROR(client_->Bind(listen, opts_.client_libzmq));
  RINGKV_RETURN_IF_ERROR(
      reactor_.AddZmq(storage_, [this](int budget) { return DrainPeers(budget); }));
  if (storage_monitor_) {
    RINGKV_RETURN_IF_ERROR(
        reactor_.AddZmq(storage_monitor_, [this](int budget) { return DrainMonitor(budget); }));
  }
  RINGKV_RETURN_IF_ERROR(StartGossipFeed());
  StartTimers();
  net::NotifyStatus("waiting for the gossip view and the storage agents before serving");
  // Bound, not yet serving: StartServing logs (and tells systemd) when requests are read.
  RINGKV_LOG(kInfo) << "node " << opts_.node_id << " bound clients' endpoint " << listen << " ("
                    << client_->transport() << "), serving once the gossip view and the storage "
                    << "agents are in (at most " << opts_.startup_wait_ms << " ms); ring "
                    << ring_source_->Describe() << ", " << ring_.nodes().size() << " nodes, N="
                    << ring_.N() << ", r=" << QuorumSpecName(opts_.r) << " w="
                    << QuorumSpecName(opts_.w) << " consistency="
                    << (opts_.consistency == Consistency::kStrong ? "strong" : "eventual");
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// The loop

void Coordinator::StartTimers() {
  // The peers' tick, at once and then every kTickMs.
  reactor_.AddTimer(0, [this] { OnTick(); }, kTickMs);
  // ring.db is the ring until the first view (PollRing cancels this then).
  ring_poll_timer_ =
      reactor_.AddTimer(opts_.ring_poll_ms, [this] { PollRing(); }, opts_.ring_poll_ms);
  // Give the gossip agent a moment to send its first view and the storage agents to connect,
  // so the first client requests do not meet a cluster that looks down only because
  // connections are still forming: the client endpoint reads nothing until ReadyToServe (the
  // end-of-pass hook asks) or this timer.
  reactor_.AddTimer(opts_.startup_wait_ms, [this] { StartServing(); });
  reactor_.AddPassHook([this] { EndOfPass(); });
  net::ArmWatchdog(reactor_);
}

void Coordinator::StartServing() {
  if (serving_ || draining_) return;  // a drain closed the endpoint for good
  serving_ = true;
  Status s = client_->StartServing();
  if (!s.ok()) {
    fatal_ = s;  // Run returns it
    reactor_.Stop();
    return;
  }
  const std::string serving = "serving clients on " + client_->endpoint() + " (node " +
                              opts_.node_id + ", " + std::to_string(ring_.nodes().size()) +
                              " nodes in the ring)";
  RINGKV_LOG(kInfo) << serving;
  net::NotifyReady(serving);
}

void Coordinator::OnTick() {
  // The ZeroMQ sockets' FDs signal only changes; the reactor's rules make that enough, and a
  // read of each every kTickMs (one system call or two when empty) is a backstop, as before.
  KickStorage();
  if (storage_monitor_) reactor_.Kick(storage_monitor_);
  if (feed_) reactor_.Kick(gossip_feed_);
  TickPeers(Now());
  PublishGauges();
}

void Coordinator::EndOfPass() {
  if (!serving_ && ReadyToServe()) StartServing();
  // What the pass queued leaves now: the syncs of many requests in one send() per agent, the
  // replies of a pass in one per client.
  FlushDirect();
  client_->Flush();
  WatchDirects();
  dropped_directs_.clear();
  if (draining_) EndDrainIfDone();
}

Status Coordinator::WatchStopSignals() {
  return reactor_.WatchStopSignals([this](int signo) {
    const char* name = signo == SIGINT ? "SIGINT" : "SIGTERM";
    if (draining_ || !client_) {
      RINGKV_LOG(kInfo) << name << ": stopping now" << (draining_ ? " (drain cut short)" : "");
      net::NotifyStopping("stopping");
      reactor_.Stop();
      return;
    }
    BeginDrain(name);
  });
}

void Coordinator::BeginDrain(const char* why) {
  draining_ = true;
  net::NotifyStopping(std::string(why) + ": draining accepted requests");
  drain_start_ms_ = Now();
  // Reads every request clients had sent already (they become ops now), then nothing more.
  client_->StopAccepting();
  drain_ops_ = ops_.size();
  RINGKV_LOG(kInfo) << why << ": draining: the client endpoint is closed, " << drain_ops_
                    << " accepted request(s) to finish (at most " << opts_.drain_timeout_ms
                    << " ms)";
  reactor_.AddTimer(opts_.drain_timeout_ms, [this] {
    RINGKV_LOG(kWarn) << "drain: " << ops_.size() << " request(s) still unfinished after "
                      << opts_.drain_timeout_ms << " ms (--drain-timeout-ms); stopping";
    reactor_.Stop();
  });
}

void Coordinator::EndDrainIfDone() {
  // Ops in their hint grace have replied already; waiting for them lets their hints land.
  if (!ops_.empty() || client_->HasUnsent()) return;
  RINGKV_LOG(kInfo) << "drained: " << drain_ops_ << " request(s) finished in "
                    << (Now() - drain_start_ms_) << " ms; stopping";
  reactor_.Stop();
}

Status Coordinator::Run() {
  RINGKV_RETURN_IF_ERROR(reactor_.Run());
  return fatal_;
}

void Coordinator::ArmDeadlineTimer() {
  // Entries of ops that ended are skipped here rather than woken for.
  while (!deadlines_.empty()) {
    const auto& [when, id] = deadlines_.top();
    auto it = ops_.find(id);
    if (it != ops_.end() && it->second->deadline == when) break;
    deadlines_.pop();
  }
  if (deadlines_.empty()) return;  // an armed timer finds nothing and re-arms nothing
  const int64_t due = deadlines_.top().first;
  if (deadline_timer_ != 0) {
    if (deadline_timer_due_ <= due) return;  // it fires first and re-arms then
    reactor_.CancelTimer(deadline_timer_);
  }
  deadline_timer_due_ = due;
  deadline_timer_ = reactor_.AddTimer(due - Now(), [this] { OnDeadlineTimer(); });
}

void Coordinator::OnDeadlineTimer() {
  deadline_timer_ = 0;
  const int64_t now = Now();
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    auto [when, id] = deadlines_.top();
    deadlines_.pop();
    auto it = ops_.find(id);
    if (it == ops_.end() || it->second->deadline != when) continue;
    OnDeadline(*it->second, now);
  }
  ArmDeadlineTimer();
}

// ---------------------------------------------------------------------------------------------
// Client side

void Coordinator::HandleClientMessage(ClientRoute route, std::vector<std::string_view>& frames,
                                      bool truncated) {
  const int64_t start_us = metrics::MonotonicMicros();
  ++stats_.requests;
  // Envelope: [frames...][empty][body]; the frames before the delimiter go back with the reply
  // (a REQ sends none). Without a delimiter, the reply carries none.
  size_t delim = frames.size();
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].empty()) {
      delim = i;
      break;
    }
  }
  const bool has_delim = delim < frames.size();
  if (has_delim) {
    for (size_t i = 0; i < delim; ++i) route.envelope.emplace_back(frames[i]);
  }

  auto bad = [&](const std::string& id, ErrorCode code, const std::string& message) {
    ++stats_.errors;
    CountReply(-1, code, start_us, nullptr);
    SendReply(route, EncodeError(id, code, message));
  };
  if (!has_delim) {
    bad("", ErrorCode::kBadRequest,
        "no empty delimiter frame before the body: use a REQ socket, or a DEALER that sends an "
        "empty frame first");
    return;
  }
  const size_t bodies = frames.size() - delim - 1;
  if (bodies == 0) {
    bad("", ErrorCode::kBadRequest, "no body frame: the request must be one MessagePack map");
    return;
  }
  if (bodies > 1 || truncated) {
    bad("", ErrorCode::kBadRequest,
        "the request has more than one body frame; it must be exactly one MessagePack map");
    return;
  }
  const std::string_view body = frames[delim + 1];

  RequestLimits limits;
  limits.n = ring_.N();
  limits.max_item_bytes = opts_.max_item_bytes;
  limits.default_timeout_ms = opts_.default_timeout_ms;
  auto op = std::make_unique<Op>();
  op->start_us = start_us;
  ClientError error;
  if (!ParseRequest(body, limits, &op->req, &error)) {
    bad(op->req.id, error.code, error.message);
    return;
  }
  switch (op->req.op) {
    case ClientOp::kPing:
      CountReply(static_cast<int>(ClientOp::kPing), std::nullopt, start_us, &op->req);
      SendReply(route, EncodePing(op->req.id, opts_.node_id));
      return;
    case ClientOp::kStatus:
      CountReply(static_cast<int>(ClientOp::kStatus), std::nullopt, start_us, &op->req);
      SendReply(route, StatusBody(op->req.id));
      return;
    default:
      break;
  }
  // consistency: strong needs R + W > N, each the request's value or the cluster default.
  const Consistency consistency = op->req.consistency.value_or(opts_.consistency);
  if (consistency == Consistency::kStrong) {
    const int r = QuorumTotal(op->req.r.value_or(opts_.r), ring_.replication(), local_dc_name_);
    const int w = QuorumTotal(op->req.w.value_or(opts_.w), ring_.replication(), local_dc_name_);
    if (r + w <= ring_.N()) {
      bad(op->req.id, ErrorCode::kBadRequest,
          "consistency strong needs R + W > N; here R=" + std::to_string(r) +
              " W=" + std::to_string(w) + " N=" + std::to_string(ring_.N()));
      return;
    }
  }
  op->kind = op->req.op;
  op->sloppy = consistency == Consistency::kEventual;
  op->route = std::move(route);
  StartDataOp(std::move(op));
}

void Coordinator::Reply(Op& op, const std::string& body) {
  if (op.replied) return;
  op.replied = true;
  CountReply(static_cast<int>(op.kind), op.error, op.start_us, &op.req);
  SendReply(op.route, body);
}

void Coordinator::ReplyError(Op& op, ErrorCode code, const std::string& message) {
  if (op.replied) return;
  ++stats_.errors;
  op.error = code;
  Reply(op, EncodeError(op.req.id, code, message));
}

std::string Coordinator::StatusBody(const std::string& id) const {
  StatusReply s;
  s.node = opts_.node_id;
  s.dc = local_dc_name_;
  s.n = ring_.N();
  s.max_item_bytes = opts_.max_item_bytes;
  s.max_siblings = opts_.max_siblings;
  s.stats = registry_.StatsEntries();
  s.stats.emplace_back("latency_p50_us", stats_.latency->Quantile(0.50));
  s.stats.emplace_back("latency_p99_us", stats_.latency->Quantile(0.99));
  s.stats.emplace_back("latency_p999_us", stats_.latency->Quantile(0.999));
  // How many put/get/delete the quantiles come from: `ringkv top` shows no latency for a
  // coordinator that served none in its interval (status requests are not timed there).
  s.stats.emplace_back("data_requests", stats_.latency->count());
  for (size_t i = 0; i < ring_.nodes().size(); ++i) {
    const NodeInfo& n = ring_.nodes()[i];
    MemberStatus m;
    m.node = n.id;
    m.dc = n.dc;
    m.state = Live(node_peer_[i]) ? NodeStateName(n.state) : "down";
    m.client_endpoint = n.client_endpoint;
    m.storage_endpoint = n.storage_endpoint;
    m.gossip_endpoint = n.gossip_endpoint;
    s.members.push_back(std::move(m));
  }
  FillGossipStatus(&s);
  return EncodeStatus(id, s);
}

// ---------------------------------------------------------------------------------------------
// Requests

uint64_t Coordinator::Rid(const Op& op, int slot) const {
  return (op.id << 8) | (static_cast<uint64_t>(op.phase) << 5) | static_cast<uint64_t>(slot);
}

void Coordinator::StartDataOp(std::unique_ptr<Op> owned) {
  Op& op = *owned;
  op.id = next_op_id_++;
  op.deadline = Now() + op.req.timeout_ms;
  op.wall_deadline = sp::DeadlineClockMs() + op.req.timeout_ms;

  // The key's replicas, in preference order.
  const auto pref = ring_.PreferenceList(TokenOf(op.req.key));  // op.token, set below
  std::vector<int> replica_dcs;
  const NodeInfo* base = ring_.nodes().data();
  for (const NodeInfo* n : pref) {
    if (op.slots.size() >= static_cast<size_t>(kMaxSlots)) break;
    const size_t idx = static_cast<size_t>(n - base);
    Slot s;
    s.peer = node_peer_[idx];
    s.dc = node_dc_[idx];
    s.local = n->id == opts_.node_id;
    replica_dcs.push_back(s.dc);
    op.slots.push_back(std::move(s));
  }
  op.replicas = static_cast<int>(op.slots.size());
  op.token = TokenOf(op.req.key);
  const int num_dcs = static_cast<int>(dcs_.size());
  op.acks_dc.assign(num_dcs, 0);
  const bool reads = op.kind == ClientOp::kGet || (op.kind == ClientOp::kDelete && !op.req.has_ctx);
  const bool writes = op.kind != ClientOp::kGet;
  op.need_r = NeedFor(op.req.r.value_or(opts_.r), replica_dcs, ring_.N(), local_dc_, num_dcs);
  op.need_w = NeedFor(op.req.w.value_or(opts_.w), replica_dcs, ring_.N(), local_dc_, num_dcs);

  // Enough live replicas for every quorum this request needs, or unavailable before asking any.
  int live = 0;
  std::vector<int> live_dc(num_dcs, 0);
  for (const Slot& s : op.slots) {
    if (!Live(s.peer)) continue;
    ++live;
    ++live_dc[s.dc];
  }
  auto unavailable = [&](const char* what, const QuorumNeed& need) {
    ++stats_.errors;
    CountReply(static_cast<int>(op.kind), ErrorCode::kUnavailable, op.start_us, &op.req);
    SendReply(op.route,
              EncodeError(op.req.id, ErrorCode::kUnavailable,
                          std::string("not enough live replicas for the ") + what + " quorum: " +
                              std::to_string(live) + " of " + std::to_string(op.slots.size()) +
                              " replicas live, " + std::to_string(need.total) + " needed"));
  };
  if (reads && !op.need_r.Met(live, live_dc)) return unavailable("read", op.need_r);
  if (writes) {
    // One live replica must coordinate the update (it makes the dot); under eventual, stand-ins
    // outside the preference list may make up the rest of W (docs/hinted-handoff.md).
    if (live == 0) return unavailable("write", op.need_w);
    if (op.sloppy) CountStandIns(op, &live, &live_dc);
    if (!op.need_w.Met(live, live_dc)) return unavailable("write", op.need_w);
    if (!RoomForHints(op)) {
      ++stats_.errors;
      ++stats_.hint_room_refusals;
      CountReply(static_cast<int>(op.kind), ErrorCode::kUnavailable, op.start_us, &op.req);
      const auto down = std::count_if(op.slots.begin(), op.slots.end(),
                                      [this](const Slot& s) { return !Live(s.peer); });
      SendReply(op.route, EncodeError(op.req.id, ErrorCode::kUnavailable,
                                      "no room for the hints this write needs: " +
                                          std::to_string(down) +
                                          " replica(s) down and no gossip agent up with room "
                                          "to hold a hint for each"));
      return;
    }
  }

  stats_.hot_keys.Offer(op.req.key);
  ops_.emplace(op.id, std::move(owned));
  deadlines_.emplace(op.deadline, op.id);
  // No system call: usually the timer is armed for an earlier deadline already.
  if (deadline_timer_ == 0 || op.deadline < deadline_timer_due_) ArmDeadlineTimer();
  if (reads) {
    StartRead(op);
  } else {
    StartUpdate(op, op.req.ctx_bytes);
  }
}


void Coordinator::HandleStorageReply(size_t peer, sp::Reply& reply) {
  // Any answer ends a local suspicion: the agent is there.
  if (peers_[peer]->suspect_until_ms != 0) EndSuspicion(peer, "it answered");
  if (reply.rid == 0) return;  // no request of this coordinator has rid 0
  // Every request is answered once, an early update twice: its first reply (dur: false) is not
  // the last.
  if (!reply.durable.has_value() || *reply.durable || !reply.ok) CountAnswer(peer);
  auto it = ops_.find(reply.rid >> 8);
  if (it == ops_.end()) return;  // finished already: a late answer
  Op& op = *it->second;
  const int phase = static_cast<int>((reply.rid >> 5) & 7);
  const int slot = static_cast<int>(reply.rid & 31);
  if (reply.durable.value_or(false)) {
    // The coordinating replica's write, whose early reply started the syncs, is durable now
    // (or failed): it counts like a sync's answer.
    if (phase == kUpdate && op.phase == kSync && slot < op.replicas &&
        op.slots[slot].peer == peer && op.slots[slot].st == Slot::kSent) {
      --op.outstanding;
      OnSyncReply(op, slot, reply);
    }
    return;
  }
  if (phase == kRead && op.phase != kRead && slot < op.replicas &&
      op.slots[slot].peer == peer && op.slots[slot].read_st == Slot::kSent) {
    // A delete without ctx went on to write after R answers: a later answer still joins the
    // read (ReadRepair when the op ends), and the op ends once it is in.
    MergeReadReply(op, slot, reply);
    if (op.outstanding == 0 && op.phase == kSync) AfterWrite(op);
    return;
  }
  if (phase != op.phase || slot >= static_cast<int>(op.slots.size()) ||
      op.slots[slot].peer != peer || op.slots[slot].st != Slot::kSent) {
    return;  // a phase the op has left, or a duplicate
  }
  --op.outstanding;
  if (op.slots[slot].hint_for >= 0) return OnHintReply(op, slot, reply);
  switch (op.phase) {
    case kRead: OnReadReply(op, slot, reply); break;
    case kUpdate: OnUpdateReply(op, slot, reply); break;
    case kSync: OnSyncReply(op, slot, reply); break;
    default: break;
  }
}


// ---------------------------------------------------------------------------------------------
// The end of a request

void Coordinator::OnDeadline(Op& op, int64_t now) {
  // Replicas that let a message wait until the deadline are suspected (LIVENESS in
  // coordinator_peers.cc).
  for (Slot& s : op.slots) {
    if (s.st == Slot::kSent && now - s.sent_ms >= opts_.suspect_after_ms) {
      Suspect(s.peer, "missed a request deadline");
    }
  }
  if (!op.replied) {
    const char* what = op.phase == kRead ? "read" : "write";
    ReplyError(op, ErrorCode::kTimeout,
               std::string("the ") + what + " quorum did not answer within " +
                   std::to_string(op.req.timeout_ms) + " ms (" + std::to_string(op.acks - op.hinted) +
                   " acknowledged)" +
                   (op.phase == kRead ? std::string()
                                      : std::string("; the write may appear later")));
  }
  if (op.kind == ClientOp::kGet && op.phase == kRead) ReadRepair(op);
  if (op.phase == kSync && !op.hint_grace) {
    // Replicas that never answered the sync get the write by hint. The op lives on a little
    // for those hints' answers, so that a refused one is retried on another holder and one
    // never stored is counted (CountUnplacedHints).
    const size_t hinted_before = op.slots.size();
    for (int i = 0; i < op.replicas; ++i) {
      if (op.slots[i].st == Slot::kSent) SendHint(op, i, /*may_count=*/false);
    }
    // A hint still unanswered goes to another holder as well (a second copy merges).
    for (size_t i = static_cast<size_t>(op.replicas); i < hinted_before; ++i) {
      if (op.slots[i].st == Slot::kSent) SendHint(op, op.slots[i].hint_for, /*may_count=*/false);
    }
    bool hints_due = false;
    for (size_t i = static_cast<size_t>(op.replicas); i < op.slots.size(); ++i) {
      hints_due |= op.slots[i].st == Slot::kSent;
    }
    if (hints_due) {
      op.hint_grace = true;
      op.deadline = now + kHintGraceMs;
      deadlines_.emplace(op.deadline, op.id);
      return;
    }
  }
  Finish(op);
}

void Coordinator::Finish(Op& op) {
  if (op.kind != ClientOp::kGet) CountUnplacedHints(op);
  // A delete without ctx read the key first: what that read found diverging is repaired like a
  // get's (the sync of its tombstone covers only what the read saw before R was met).
  if (op.kind == ClientOp::kDelete && !op.req.has_ctx) ReadRepair(op);
  ops_.erase(op.id);
}

}  // namespace ringkv::coordinator
