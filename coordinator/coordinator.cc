// The coordinator's reactor: request state machines for put, get and delete over the storage
// protocol, replica liveness by pings and deadlines, read repair.
//
// DESIGN. One thread, one epoll set (common/net/poller.h) over the client endpoint (its
// listener and one ZMTP connection per client, client_endpoint.h), the storage ROUTER's and its
// monitor's ZMQ_FDs, and the direct connections to storage agents. A client
// request that needs replicas becomes an Op (kept in ops_ until every replica answered or its
// deadline passed) with one Slot per replica of the key's preference list. Messages to storage
// agents carry rid = op id << 8 | phase << 5 | slot, so a reply finds its op, its slot, and is
// ignored when it belongs to a phase the op has left (or to an op already finished). rid 0 is
// a liveness ping. Nothing here blocks: every send uses ZMQ_DONTWAIT.
//
// TRANSPORT. One ROUTER (storage_) connects to every storage agent, not a DEALER each: libzmq's
// zmq_poll costs a few syscalls per socket and pass, which on a paravirtualized VM was most of
// the coordinator's CPU. Each connect gets its own routing id (ZMQ_CONNECT_ROUTING_ID), so a
// reply [id][empty][body] names its agent. That id is only honoured without ZMQ_IMMEDIATE, so a
// connection's queue exists from connect() on and ZeroMQ itself would queue for an agent that is
// not there; instead the socket monitor says when a connection completed its handshake or
// dropped, and SendToPeer refuses (and marks the agent down) while it is not connected. The
// monitor is polled by its file descriptor only, which costs nothing per loop pass until an
// event arrives. ZMQ_ROUTER_MANDATORY turns a send to a connection that is gone into
// EHOSTUNREACH, and a full queue is EAGAIN: both fail at once and mark the agent down.
//
// DIRECT TRANSPORT. A storage agent's ping reply names the port of its direct transport
// (common/net/frame_conn.h: the same bodies as length-prefixed frames on plain TCP). The
// coordinator then opens one connection to it, on the host of the agent's endpoint, and once it
// is connected every message to that agent goes over it: its fd is polled here and written by
// this thread, so a message wakes no ZeroMQ I/O thread on either side (each wake-up costs about
// 40 us of CPU on a paravirtualized VM). Writes are queued during a loop pass and flushed at its
// end, so the syncs of many requests leave in one send(). A direct connection that fails marks
// the agent down like a dropped ZeroMQ connection; pings then go over storage_ again and the
// next answer reconnects. A failed connect only delays the next try (backoff to 30 s): the
// ROUTER path keeps working meanwhile.
//
// BACKLOG AND DEADLINES. An agent that stops answering without dropping its connection (paused,
// stuck on its disk) would otherwise get every request meant for it until a deadline marks it
// down, and apply them whenever it resumes. So each get, update and sync carries its op's
// deadline (`dl`, docs/storage-protocol.md, "Deadlines"): the agent drops what it reaches too
// late. And each agent's requests without an answer yet are counted (Peer::unanswered, a
// counter per send and per reply: nothing per request beyond that); at --max-peer-backlog, once
// it has answered nothing for kBacklogStallMs (a burst to an agent that answers — the hints of
// many writes sent at once to one gossip agent — is no backlog of an agent that stopped
// answering; kBacklogHardFactor times the bound stops even that), the agent is marked down, so
// new requests treat it as down at once (hints, `unavailable`) until it answers a ping.
#include "coordinator/coordinator.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>

#include "common/logging.h"
#include "common/net/zmq_util.h"
#include "common/token.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace sp = storage_protocol;

namespace {

constexpr size_t kMaxClientFrames = 32;  // frames kept of one client message
constexpr int kDrainBatch = 512;         // messages read from one socket per poll round
constexpr int64_t kClientMaxMsgBytes = 64ll << 20;
constexpr int64_t kMonitorDrainMs = 100;  // backstop for monitor events the fd did not signal
constexpr int64_t kReattachMinMs = 100;   // a flapping agent is not reconnected faster
constexpr size_t kRoutingIdSize = 9;      // 'p', peer index, connection generation (big-endian)
constexpr int64_t kDirectRetryMinMs = 100;    // first wait before a new direct connect
constexpr int64_t kDirectRetryMaxMs = 30000;  // backoff cap while direct connects fail
// Past a write's deadline, how long its hints still have to be stored (OnDeadline).
constexpr int64_t kHintGraceMs = 2000;
// Poller tags (kind in bits 56..63; kinds 1-3 belong to the ClientEndpoint).
constexpr uint64_t kTagStorage = 8ull << 56;   // storage_'s ZMQ_FD
constexpr uint64_t kTagMonitor = 9ull << 56;   // the storage monitor's ZMQ_FD
constexpr uint64_t kTagDirect = 10ull << 56;   // a direct connection; low bits: peer index
constexpr uint64_t kTagIdMask = (1ull << 56) - 1;

void PutBig32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

uint32_t GetBig32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

int64_t Now() { return net::NowMs(); }

}  // namespace

Coordinator::Coordinator(zmq::context_t& ctx, CoordinatorOptions options,
                         std::unique_ptr<RingSource> ring)
    : ctx_(ctx), opts_(std::move(options)), ring_source_(std::move(ring)) {}

Coordinator::~Coordinator() = default;

// ---------------------------------------------------------------------------------------------
// Ring and peers

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
    RINGKV_LOG(kWarn) << "storage agents are judged by pings and deadlines only";
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
  if (!poller_.ok()) return Status::Internal("epoll_create1 failed");
  client_ = std::make_unique<ClientEndpoint>(ctx_, &poller_, kClientMaxMsgBytes, kMaxClientFrames);
  RINGKV_RETURN_IF_ERROR(client_->Bind(listen, opts_.client_libzmq));
  // Both ZeroMQ sockets join through their FDs (readable when commands wait: drain then).
  RINGKV_RETURN_IF_ERROR(
      poller_.Watch(storage_.get(zmq::sockopt::fd), EPOLLIN, kTagStorage));
  if (storage_monitor_) {
    RINGKV_RETURN_IF_ERROR(
        poller_.Watch(storage_monitor_.get(zmq::sockopt::fd), EPOLLIN, kTagMonitor));
  }
  RINGKV_LOG(kInfo) << "node " << opts_.node_id << " serving clients on " << listen << " (" << client_->transport() << "), ring "
                    << ring_source_->Describe() << ", " << ring_.nodes().size() << " nodes, N="
                    << ring_.N() << ", r=" << QuorumSpecName(opts_.r) << " w="
                    << QuorumSpecName(opts_.w) << " consistency="
                    << (opts_.consistency == Consistency::kStrong ? "strong" : "eventual");
  next_ring_poll_ms_ = Now() + opts_.ring_poll_ms;
  return Status::OK();
}

Status Coordinator::ApplyRing(Ring ring) {
  if (ring.N() > kMaxSlots) {
    return Status::InvalidArgument("replication factor " + std::to_string(ring.N()) +
                                   " is over the coordinator's limit of " +
                                   std::to_string(kMaxSlots));
  }
  ring_ = std::move(ring);
  have_ring_ = true;
  dcs_.clear();
  for (const auto& [dc, rf] : ring_.replication().per_dc) dcs_.push_back(dc);
  for (const NodeInfo& n : ring_.nodes()) {
    if (std::find(dcs_.begin(), dcs_.end(), n.dc) == dcs_.end()) dcs_.push_back(n.dc);
  }
  for (auto& p : peers_) p->in_ring = false;
  node_peer_.clear();
  node_gossip_.clear();
  node_dc_.clear();
  for (const NodeInfo& n : ring_.nodes()) {
    node_peer_.push_back(PeerFor(n));
    node_gossip_.push_back(n.gossip_endpoint.empty() ? kNoPeer : GossipPeerFor(n));
    node_dc_.push_back(static_cast<int>(std::find(dcs_.begin(), dcs_.end(), n.dc) - dcs_.begin()));
  }
  local_dc_ = -1;
  local_dc_name_.clear();
  if (const NodeInfo* me = ring_.Find(opts_.node_id)) {
    local_dc_name_ = me->dc;
    local_dc_ = static_cast<int>(std::find(dcs_.begin(), dcs_.end(), me->dc) - dcs_.begin());
  } else {
    RINGKV_LOG(kWarn) << "this node (" << opts_.node_id
                      << ") is not in the ring: local_quorum cannot be met";
  }
  // Agents no longer in the ring: disconnect, so nothing is queued for them any more.
  for (size_t i = 0; i < peers_.size(); ++i) {
    Peer& p = *peers_[i];
    if (p.in_ring || !p.attached) continue;
    DetachPeer(i);
    p.up = false;
    p.ping_sent_ms = -1;
    RINGKV_LOG(kInfo) << "storage agent of " << p.node_id << " (" << p.endpoint
                      << ") left the ring: disconnected";
  }
  return Status::OK();
}

size_t Coordinator::PeerFor(const NodeInfo& node) {
  auto it = peer_by_endpoint_.find(node.storage_endpoint);
  if (it != peer_by_endpoint_.end()) {
    Peer& p = *peers_[it->second];
    p.in_ring = true;
    p.node_id = node.id;
    if (!p.attached) AttachPeer(it->second);  // back in the ring
    return it->second;
  }
  auto peer = std::make_unique<Peer>();
  peer->node_id = node.id;
  peer->endpoint = node.storage_endpoint;
  peer->next_ping_ms = 0;
  peers_.push_back(std::move(peer));
  const size_t index = peers_.size() - 1;
  peer_by_endpoint_[node.storage_endpoint] = index;
  AttachPeer(index);
  return index;
}

// A node's gossip agent, reached over the same ROUTER as the storage agents: it holds hints.
size_t Coordinator::GossipPeerFor(const NodeInfo& node) {
  auto it = peer_by_endpoint_.find(node.gossip_endpoint);
  if (it != peer_by_endpoint_.end() && peers_[it->second]->kind == Peer::kGossip) {
    Peer& p = *peers_[it->second];
    p.in_ring = true;
    p.node_id = node.id;
    if (!p.attached) AttachPeer(it->second);
    return it->second;
  }
  if (it != peer_by_endpoint_.end()) return kNoPeer;  // misconfigured: a storage endpoint
  auto peer = std::make_unique<Peer>();
  peer->kind = Peer::kGossip;
  peer->node_id = node.id;
  peer->endpoint = node.gossip_endpoint;
  peers_.push_back(std::move(peer));
  const size_t index = peers_.size() - 1;
  peer_by_endpoint_[node.gossip_endpoint] = index;
  AttachPeer(index);
  return index;
}

void Coordinator::AttachPeer(size_t peer) {
  Peer& p = *peers_[peer];
  // A fresh id per connect: libzmq aborts on a connect whose id is still in use, which the
  // connection just disconnected may still be while it is torn down.
  char id[kRoutingIdSize];
  id[0] = 'p';  // never empty, never 0-led like the ids libzmq makes up
  PutBig32(id + 1, static_cast<uint32_t>(peer));
  PutBig32(id + 5, ++p.generation);
  p.routing_id.assign(id, sizeof(id));
  p.attached_ms = Now();
  p.probe_sent = false;
  // Without connection events nothing says when it connects: sends queue until it does.
  p.connected = !storage_monitor_;
  storage_touched_ = true;  // a socket operation may consume its FD's signal
  Status s = Status::OK();
  if (zmq_setsockopt(storage_.handle(), ZMQ_CONNECT_ROUTING_ID, id, sizeof(id)) != 0) {
    s = Status::IOError(std::string("ZMQ_CONNECT_ROUTING_ID: ") + zmq_strerror(zmq_errno()));
  } else {
    s = net::Connect(storage_, p.endpoint);
  }
  p.attached = s.ok();
  if (!s.ok()) {
    RINGKV_LOG(kError) << "storage agent of " << p.node_id << ": " << s.ToString();
  }
}

void Coordinator::DetachPeer(size_t peer) {
  Peer& p = *peers_[peer];
  if (p.attached) {
    storage_touched_ = true;
    // Drops what is queued for the connection too (linger 0).
    Status s = net::Disconnect(storage_, p.endpoint);
    if (!s.ok()) {
      RINGKV_LOG(kWarn) << "storage agent of " << p.node_id << ": " << s.ToString();
    }
  }
  p.attached = false;
  p.connected = false;
  p.unanswered = 0;  // linger 0: what was queued is gone, and replies to the rest cannot come
  if (p.direct) DropDirect(peer, "its agent was disconnected");
}

size_t Coordinator::PeerOfRoutingId(const zmq::message_t& id) const {
  const auto* b = static_cast<const unsigned char*>(id.data());
  if (id.size() != kRoutingIdSize || b[0] != 'p') return kNoPeer;
  // Any generation: a late reply over a connection since replaced is still that agent's.
  const size_t peer = GetBig32(b + 1);
  return peer < peers_.size() ? peer : kNoPeer;
}

void Coordinator::PollRing(int64_t now) {
  if (now < next_ring_poll_ms_) return;
  next_ring_poll_ms_ = now + opts_.ring_poll_ms;
  auto changed = ring_source_->Poll();
  if (!changed.ok()) {
    RINGKV_LOG(kWarn) << "ring " << ring_source_->Describe()
                      << " unreadable, keeping the last ring: " << changed.status().ToString();
    return;
  }
  if (!changed->has_value()) return;
  Status s = ApplyRing(std::move(**changed));
  if (!s.ok()) {
    RINGKV_LOG(kError) << "new ring refused, keeping the last one: " << s.ToString();
  } else {
    RINGKV_LOG(kInfo) << "ring reloaded: " << ring_.nodes().size() << " nodes, N=" << ring_.N();
  }
}

bool Coordinator::Live(size_t peer) const { return peers_[peer]->up; }

void Coordinator::MarkDown(size_t peer, const char* why) {
  Peer& p = *peers_[peer];
  if (p.up) {
    p.up = false;
    ++stats_.replicas_marked_down;
    RINGKV_LOG(kWarn) << (p.kind == Peer::kGossip ? "gossip" : "storage") << " agent of "
                      << p.node_id << " (" << p.endpoint << ") marked down: " << why;
  }
  p.ping_sent_ms = -1;
  p.next_ping_ms = std::min(p.next_ping_ms, Now() + opts_.down_ping_interval_ms);
}

void Coordinator::MarkUp(size_t peer) {
  Peer& p = *peers_[peer];
  if (!p.up) {
    p.up = true;
    RINGKV_LOG(kInfo) << (p.kind == Peer::kGossip ? "gossip" : "storage") << " agent of "
                      << p.node_id << " (" << p.endpoint << ") is up";
  }
}

bool Coordinator::SendToPeer(size_t peer, const std::string& body, bool unconnected_ok,
                             bool is_request) {
  Peer& p = *peers_[peer];
  if (is_request) {
    if (BacklogFull(p)) {
      ++stats_.backlog_refusals;
      if (p.up) {
        const std::string why = std::to_string(p.unanswered) +
                                " requests unanswered (--max-peer-backlog); " +
                                std::to_string(stats_.backlog_refusals) + " sends refused so far";
        MarkDown(peer, why.c_str());
      }
      return false;
    }
  }
  if (p.attached && p.direct && !p.direct->connecting()) {
    if (p.direct->Queue(body)) {  // written at the end of the loop pass
      if (is_request) CountRequest(p);
      return true;
    }
    FailDirect(peer, "direct send queue full", "send queue full");
    return false;
  }
  if (!p.attached || (!p.connected && !unconnected_ok)) {
    MarkDown(peer, "not connected (send refused)");
    return false;
  }
  void* s = storage_.handle();
  storage_touched_ = true;
  if (zmq_send(s, p.routing_id.data(), p.routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
    // EHOSTUNREACH: its connection is gone (ROUTER_MANDATORY); EAGAIN: its queue is full.
    MarkDown(peer, zmq_errno() == EAGAIN ? "send queue full" : "not connected (send refused)");
    return false;
  }
  // The routing frame was accepted, so ZeroMQ accepts the rest of the message.
  zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
  zmq_send(s, body.data(), body.size(), ZMQ_DONTWAIT);
  if (is_request) CountRequest(p);
  return true;
}

void Coordinator::CountRequest(Peer& p) {
  if (p.unanswered == 0) p.waiting_since_ms = Now();
  ++p.unanswered;
}

bool Coordinator::BacklogFull(const Peer& p) const {
  const auto bound = static_cast<uint64_t>(opts_.max_peer_backlog);
  if (p.unanswered < bound) return false;
  return p.unanswered >= bound * kBacklogHardFactor || Now() - p.waiting_since_ms >= kBacklogStallMs;
}

void Coordinator::CountAnswer(size_t peer) {
  Peer& p = *peers_[peer];
  if (p.unanswered > 0) --p.unanswered;
  p.waiting_since_ms = Now();  // it answers: what is still unanswered waits from now
}

void Coordinator::PingPeers(int64_t now) {
  for (size_t i = 0; i < peers_.size(); ++i) {
    Peer& p = *peers_[i];
    if (!p.in_ring) continue;
    if (p.ping_sent_ms >= 0 && now - p.ping_sent_ms >= opts_.ping_timeout_ms) {
      MarkDown(i, "no answer to a ping");
    }
    if (now < p.next_ping_ms) continue;
    if (p.ping_sent_ms >= 0 && p.up) {  // still waiting for the last one
      p.next_ping_ms = now + opts_.ping_interval_ms;
      continue;
    }
    sp::Request ping;
    ping.op = std::string(sp::kPing);
    ping.rid = 0;
    const bool was_up = p.up;
    // Not connected by the monitor's account for a while: one ping is queued anyway, in case
    // an event was missed (its answer proves the connection; else the agent gets it later).
    const bool probe = p.attached && !p.connected && !p.probe_sent &&
                       now - p.attached_ms >= opts_.ping_timeout_ms;
    if (probe) p.probe_sent = true;
    if (SendToPeer(i, sp::EncodeRequest(ping), probe, /*is_request=*/false)) {
      if (p.ping_sent_ms < 0) p.ping_sent_ms = now;
      p.next_ping_ms = now + (was_up ? opts_.ping_interval_ms : opts_.down_ping_interval_ms);
    } else {
      // Not connected yet: try again soon (costs nothing but a refused send).
      p.next_ping_ms = now + 50;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The loop

int64_t Coordinator::NextWake(int64_t now) const {
  int64_t wake = std::min(next_ring_poll_ms_, now + 100);
  for (const auto& p : peers_) {
    if (p->in_ring) wake = std::min(wake, p->next_ping_ms);
  }
  if (!deadlines_.empty()) wake = std::min(wake, deadlines_.top().first);
  return wake;
}

Status Coordinator::Run(const std::atomic<bool>& stop) {
  // Give the storage agents a moment to connect and answer a first ping, so the first client
  // requests do not meet a cluster that looks down only because connections are still forming.
  const int64_t serve_from = Now() + opts_.startup_wait_ms;
  bool serving = false;
  bool client_pending = false;  // the client endpoint may hold unread messages
  std::vector<net::Poller::Event> events;
  const ClientEndpoint::OnMessage on_client = [this](ClientRoute route,
                                                     std::vector<std::string_view>& frames,
                                                     bool truncated) {
    HandleClientMessage(std::move(route), frames, truncated);
  };
  while (!stop.load(std::memory_order_relaxed)) {
    int64_t now = Now();
    if (!serving) {
      bool all_up = true;
      for (const auto& p : peers_) {
        all_up = all_up && (!p->in_ring || p->up || p->kind == Peer::kGossip);
      }
      serving = all_up || now >= serve_from;
      if (serving) RINGKV_RETURN_IF_ERROR(client_->StartServing());
    }
    WatchDirects();
    const int64_t wait =
        client_pending || storage_touched_ ? 0 : std::max<int64_t>(0, NextWake(now) - now);
    RINGKV_RETURN_IF_ERROR(poller_.Wait(static_cast<int>(wait), &events));
    now = Now();
    // Connection events first (no request goes to a connection known to be gone), then
    // replies, which complete requests, then new requests.
    bool storage_event = false;
    for (const auto& ev : events) {
      if ((ev.tag & ~kTagIdMask) == kTagMonitor) {
        DrainMonitor();
        next_monitor_drain_ms_ = now + kMonitorDrainMs;
      }
      storage_event = storage_event || (ev.tag & ~kTagIdMask) == kTagStorage;
    }
    for (const auto& ev : events) {
      if ((ev.tag & ~kTagIdMask) == kTagDirect) OnDirectEvents(ev.tag & kTagIdMask, ev.events);
    }
    if (storage_event || storage_touched_ || now >= next_storage_drain_ms_) {
      storage_touched_ = DrainPeers();
      next_storage_drain_ms_ = now + kMonitorDrainMs;
    }
    for (const auto& ev : events) {
      if (ClientEndpoint::OwnsTag(ev.tag)) client_->OnEvent(ev.tag, ev.events, on_client);
    }
    client_pending = client_->ReadPending(on_client);
    now = Now();
    if (now >= next_monitor_drain_ms_) {
      DrainMonitor();
      next_monitor_drain_ms_ = now + kMonitorDrainMs;
    }
    RunTimers(now);
    PingPeers(now);
    PollRing(now);
    FlushDirect();
    client_->Flush();
    dropped_directs_.clear();
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Direct transport (DIRECT TRANSPORT above)

void Coordinator::ConnectDirect(size_t peer, int64_t now) {
  Peer& p = *peers_[peer];
  if (p.direct || now < p.direct_retry_ms) return;
  std::string host;
  int port = 0;
  Status s = net::ParseTcpEndpoint(p.endpoint, &host, &port);
  if (s.ok() && (host == "*" || host == "0.0.0.0")) {
    s = Status::InvalidArgument("its endpoint names no host to connect to");
  }
  Result<int> fd = s.ok() ? net::ConnectTcp(host, static_cast<int>(p.direct_port)) : Result<int>(s);
  if (!fd.ok()) {
    DelayNextDirect(p, now);
    RINGKV_LOG(kWarn) << "storage agent of " << p.node_id << ": no direct connection ("
                      << fd.status().ToString() << "); using ZeroMQ";
    return;
  }
  net::FrameConn::Limits limits;
  limits.max_frame_bytes = sp::kMaxFrameBytes;
  p.direct = std::make_unique<net::FrameConn>(*fd, /*connecting=*/true, limits);
}

void Coordinator::DropDirect(size_t peer, const std::string& why) {
  Peer& p = *peers_[peer];
  if (!p.direct) return;
  RINGKV_LOG(kInfo) << "storage agent of " << p.node_id << ": direct connection closed: " << why;
  poller_.Forget(p.direct->fd());  // before its fd is closed (poller.h)
  p.direct_events = 0;
  // Its requests' replies cannot come any more (those sent over the ROUTER before it connected
  // may: CountAnswer never goes below zero).
  p.unanswered = 0;
  dropped_directs_.push_back(std::move(p.direct));
  DelayNextDirect(p, Now());
}

void Coordinator::DelayNextDirect(Peer& p, int64_t now) {
  p.direct_backoff_ms =
      std::min(kDirectRetryMaxMs, std::max(kDirectRetryMinMs, 2 * p.direct_backoff_ms));
  p.direct_retry_ms = now + p.direct_backoff_ms;
}

void Coordinator::FailDirect(size_t peer, const std::string& why, const char* down_why) {
  DropDirect(peer, why);
  MarkDown(peer, down_why);
}

void Coordinator::OnDirectEvents(size_t peer, uint32_t events) {
  if (peer >= peers_.size()) return;
  Peer& p = *peers_[peer];
  if (!p.direct) return;
  if (p.direct->connecting()) {
    Status s = p.direct->FinishConnect();
    if (s.IsIncomplete()) return;
    if (!s.ok()) return DropDirect(peer, s.ToString() + "; using ZeroMQ");
    p.direct_backoff_ms = 0;
    RINGKV_LOG(kInfo) << "storage agent of " << p.node_id << ": direct connection to port "
                      << p.direct_port;
    return;
  }
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  net::FrameConn* conn = p.direct.get();
  Status s = conn->Read([&](std::string_view body) {
    auto reply = sp::DecodeReply(body);
    if (!reply.ok()) {
      RINGKV_LOG(kWarn) << "storage agent of " << p.node_id
                        << " sent an undecodable reply: " << reply.status().ToString();
      return;
    }
    HandleStorageReply(peer, *reply);
  });
  if (!s.ok() && p.direct.get() == conn) FailDirect(peer, s.ToString());
}

void Coordinator::WatchDirects() {
  for (size_t i = 0; i < peers_.size(); ++i) {
    Peer& p = *peers_[i];
    if (!p.direct) continue;
    uint32_t events = p.direct->connecting() ? EPOLLOUT : EPOLLIN;
    if (p.direct->WantsWrite()) events |= EPOLLOUT;
    if (events == p.direct_events) continue;
    Status s = poller_.Watch(p.direct->fd(), events, kTagDirect | i);
    if (!s.ok()) {
      FailDirect(i, s.ToString());
      continue;
    }
    p.direct_events = events;
  }
}

void Coordinator::FlushDirect() {
  for (size_t i = 0; i < peers_.size(); ++i) {
    Peer& p = *peers_[i];
    if (!p.direct || !p.direct->WantsWrite()) continue;
    Status s = p.direct->Flush();
    if (!s.ok()) FailDirect(i, s.ToString());
  }
}

void Coordinator::RunTimers(int64_t now) {
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    auto [when, id] = deadlines_.top();
    deadlines_.pop();
    auto it = ops_.find(id);
    if (it == ops_.end() || it->second->deadline != when) continue;
    OnDeadline(*it->second, now);
  }
}

// ---------------------------------------------------------------------------------------------
// Client side

void Coordinator::HandleClientMessage(ClientRoute route, std::vector<std::string_view>& frames,
                                      bool truncated) {
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
  ClientError error;
  if (!ParseRequest(body, limits, &op->req, &error)) {
    bad(op->req.id, error.code, error.message);
    return;
  }
  switch (op->req.op) {
    case ClientOp::kPing:
      SendReply(route, EncodePing(op->req.id, opts_.node_id));
      return;
    case ClientOp::kStatus:
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
  SendReply(op.route, body);
}

void Coordinator::ReplyError(Op& op, ErrorCode code, const std::string& message) {
  if (op.replied) return;
  ++stats_.errors;
  Reply(op, EncodeError(op.req.id, code, message));
}

std::string Coordinator::StatusBody(const std::string& id) const {
  StatusReply s;
  s.node = opts_.node_id;
  s.dc = local_dc_name_;
  s.n = ring_.N();
  s.max_item_bytes = opts_.max_item_bytes;
  s.max_siblings = opts_.max_siblings;
  s.stats = {{"requests", stats_.requests},
             {"errors", stats_.errors},
             {"read_repairs", stats_.read_repairs},
             {"replicas_marked_down", stats_.replicas_marked_down},
             {"hints_sent", stats_.hints_sent},
             {"hints_refused", stats_.hints_refused},
             {"hints_unplaced", stats_.hints_unplaced},
             {"hint_room_refusals", stats_.hint_room_refusals},
             {"backlog_refusals", stats_.backlog_refusals}};
  for (size_t i = 0; i < ring_.nodes().size(); ++i) {
    const NodeInfo& n = ring_.nodes()[i];
    MemberStatus m;
    m.node = n.id;
    m.dc = n.dc;
    m.state = Live(node_peer_[i]) ? NodeStateName(n.state) : "down";
    m.client_endpoint = n.client_endpoint;
    s.members.push_back(std::move(m));
  }
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

  ops_.emplace(op.id, std::move(owned));
  deadlines_.emplace(op.deadline, op.id);
  if (reads) {
    StartRead(op);
  } else {
    StartUpdate(op, op.req.ctx_bytes);
  }
}

void Coordinator::StartRead(Op& op) {
  op.phase = kRead;
  sp::Request req;
  req.op = std::string(sp::kGet);
  req.key = op.req.key;
  req.deadline_ms = op.wall_deadline;
  const int64_t now = Now();
  int sent = 0;
  std::vector<int> sent_dc(op.acks_dc.size(), 0);
  for (int i = 0; i < static_cast<int>(op.slots.size()); ++i) {
    Slot& s = op.slots[i];
    if (!Live(s.peer)) continue;
    req.rid = Rid(op, i);
    if (SendToPeer(s.peer, sp::EncodeRequest(req))) {
      s.st = Slot::kSent;
      s.sent_ms = now;
      ++op.outstanding;
      ++sent;
      ++sent_dc[s.dc];
    } else {
      s.st = Slot::kFailed;
    }
    s.read_st = s.st;
  }
  if (!op.need_r.Met(sent, sent_dc)) {
    // Some replicas turned out to be unreachable while sending: nothing was asked of enough.
    ReplyError(op, ErrorCode::kUnavailable,
               "not enough reachable replicas for the read quorum: " + std::to_string(sent) +
                   " of " + std::to_string(op.slots.size()));
    if (op.outstanding == 0) Finish(op);
  }
}

void Coordinator::StartUpdate(Op& op, const std::string& ctx_bytes) {
  op.phase = kUpdate;
  op.acks = 0;
  std::fill(op.acks_dc.begin(), op.acks_dc.end(), 0);
  op.outstanding = 0;
  for (Slot& s : op.slots) s.st = Slot::kIdle;  // read_st and state stay: ReadRepair
  auto decoded = version::CausalContext::Decode(ctx_bytes);
  if (decoded.ok()) op.write_ctx = std::move(*decoded);
  // The coordinating replica: this node when it is a live replica, else the first live one.
  int first = -1;
  for (int i = 0; i < static_cast<int>(op.slots.size()); ++i) {
    if (op.slots[i].local && Live(op.slots[i].peer)) first = i;
  }
  if (first < 0) {
    for (int i = 0; i < static_cast<int>(op.slots.size()); ++i) {
      if (Live(op.slots[i].peer)) {
        first = i;
        break;
      }
    }
  }
  for (int i = first; i >= 0;) {
    if (SendUpdateTo(op, i)) return;
    // Refused at once (not connected): the next live replica, if W still can be met.
    int live = 0;
    std::vector<int> live_dc(op.acks_dc.size(), 0);
    for (const Slot& s : op.slots) {
      if (Live(s.peer)) {
        ++live;
        ++live_dc[s.dc];
      }
    }
    if (live > 0 && op.sloppy) CountStandIns(op, &live, &live_dc);
    if (!op.need_w.Met(live, live_dc)) break;
    i = -1;
    for (int j = 0; j < static_cast<int>(op.slots.size()); ++j) {
      if (!op.slots[j].tried_update && Live(op.slots[j].peer)) {
        i = j;
        break;
      }
    }
  }
  ReplyError(op, ErrorCode::kUnavailable,
             "not enough live replicas for the write quorum (storage agents unreachable)");
  Finish(op);
}

bool Coordinator::SendUpdateTo(Op& op, int slot) {
  Slot& s = op.slots[slot];
  s.tried_update = true;
  sp::Request req;
  req.op = std::string(sp::kUpdate);
  req.rid = Rid(op, slot);
  req.key = op.req.key;
  req.ctx = op.write_ctx.empty() ? std::string() : op.write_ctx.Encode();
  if (op.kind == ClientOp::kDelete) {
    req.tombstone = true;
  } else {
    req.value = op.req.value;
  }
  req.max_siblings = opts_.max_siblings;
  req.early = true;  // its state may come before its fsync: the syncs overlap it (OnUpdateReply)
  // Past it the client was told `timeout`: an agent reaching it later drops it unwritten.
  req.deadline_ms = op.wall_deadline;
  if (!SendToPeer(s.peer, sp::EncodeRequest(req))) {
    s.st = Slot::kFailed;
    return false;
  }
  s.st = Slot::kSent;
  s.sent_ms = Now();
  op.outstanding = 1;
  return true;
}

void Coordinator::DrainMonitor() {
  void* s = storage_monitor_.handle();
  if (s == nullptr) return;
  // Read until EAGAIN (or a batch): only then does the fd signal the next event.
  for (int n = 0; n < kDrainBatch; ++n) {
    zmq::message_t event;
    if (zmq_msg_recv(event.handle(), s, ZMQ_DONTWAIT) < 0) return;
    zmq::message_t endpoint;  // the endpoint as given to connect
    bool more = event.more();
    for (int part = 0; more; ++part) {
      zmq::message_t m;
      if (zmq_msg_recv(m.handle(), s, 0) < 0) break;
      more = m.more();
      if (part == 0) endpoint = std::move(m);
    }
    if (event.size() < 2) continue;
    uint16_t id;
    std::memcpy(&id, event.data(), sizeof(id));
    auto it = peer_by_endpoint_.find(
        std::string(static_cast<const char*>(endpoint.data()), endpoint.size()));
    if (it == peer_by_endpoint_.end()) continue;
    const size_t peer = it->second;
    Peer& p = *peers_[peer];
    if (!p.attached) continue;  // left the ring: its last connection's events
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      p.connected = true;
      p.ping_sent_ms = -1;
      p.next_ping_ms = 0;  // ping now
    } else if (id == ZMQ_EVENT_DISCONNECTED) {
      const bool was_connected = p.connected;
      p.connected = false;
      MarkDown(peer, "connection dropped");
      // What is queued for the dropped connection would reach the agent whenever it is back,
      // maybe long after its requests ended: a new connection starts with an empty queue.
      const int64_t now = Now();
      if (was_connected && now - p.attached_ms >= kReattachMinMs) {
        DetachPeer(peer);
        AttachPeer(peer);
      }
    }
  }
}

bool Coordinator::DrainPeers() {
  void* s = storage_.handle();
  for (int n = 0; n < kDrainBatch; ++n) {
    zmq::message_t frames[3];  // [routing id][empty][body]
    int count = 0;
    bool more = true;
    while (more) {
      zmq::message_t part;
      if (zmq_msg_recv(part.handle(), s, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
        if (count == 0) return false;
        break;
      }
      more = part.more();
      if (count < 3) frames[count] = std::move(part);
      ++count;
    }
    const size_t peer = PeerOfRoutingId(frames[0]);
    if (peer == kNoPeer) {
      RINGKV_LOG(kWarn) << "a message from an unknown storage connection (" << count
                        << " frames), dropped";
      continue;
    }
    if (count != 3 || frames[1].size() != 0) {
      RINGKV_LOG(kWarn) << "storage agent of " << peers_[peer]->node_id
                        << " sent a message of unexpected shape (" << count - 1 << " frames)";
      continue;
    }
    const std::string_view body(static_cast<const char*>(frames[2].data()), frames[2].size());
    std::optional<uint64_t> hint_room;
    auto reply = peers_[peer]->kind == Peer::kGossip ? DecodeGossipReply(body, &hint_room)
                                                      : sp::DecodeReply(body);
    if (!reply.ok()) {
      RINGKV_LOG(kWarn) << "storage agent of " << peers_[peer]->node_id
                        << " sent an undecodable reply: " << reply.status().ToString();
      continue;
    }
    // A gossip agent's ping says how much room its hint store has left; one too old to say
    // is taken to have room (its refusals still send hints elsewhere).
    if (peers_[peer]->kind == Peer::kGossip && reply->rid == 0) {
      peers_[peer]->hint_room = hint_room.value_or(~uint64_t{0});
    }
    HandleStorageReply(peer, *reply);
  }
  return true;  // the batch bound: more may wait
}

void Coordinator::HandleStorageReply(size_t peer, sp::Reply& reply) {
  if (reply.rid == 0) {  // ping
    Peer& p = *peers_[peer];
    if (p.unanswered >= static_cast<uint32_t>(opts_.max_peer_backlog)) {
      // It read every request sent before this ping; what it has not answered yet waits in its
      // own bounded queue (--max-queue), or its reply was lost: start counting afresh.
      RINGKV_LOG(kInfo) << (p.kind == Peer::kGossip ? "gossip" : "storage") << " agent of "
                        << p.node_id << " answered a ping with " << p.unanswered
                        << " requests unanswered: its backlog is counted afresh";
      p.unanswered = 0;
    }
    p.ping_sent_ms = -1;
    MarkUp(peer);
    p.direct_port = reply.direct_port;
    if (p.direct) return;
    p.connected = true;  // an answer proves the connection (see the probe)
    if (p.kind == Peer::kStorage && p.direct_port != 0) ConnectDirect(peer, Now());
    return;
  }
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

// A storage agent's error, as a message for the client (its code is never passed through).
static std::string StorageError(const std::string& node, const sp::Reply& r) {
  return "storage agent of " + node + ": " + r.code + ": " + r.message;
}

void Coordinator::OnReadReply(Op& op, int slot, sp::Reply& reply) {
  const bool ok = MergeReadReply(op, slot, reply);
  op.slots[slot].st = op.slots[slot].read_st;
  if (ok) {
    ++op.acks;
    ++op.acks_dc[op.slots[slot].dc];
  }
  AfterRead(op);
}

bool Coordinator::MergeReadReply(Op& op, int slot, sp::Reply& reply) {
  Slot& s = op.slots[slot];
  if (!reply.ok) {
    s.read_st = Slot::kFailed;
    op.last_error = StorageError(peers_[s.peer]->node_id, reply);
  } else {
    s.state = reply.state ? std::move(*reply.state) : std::string();
    // Identical states (the common case) are decoded once.
    const bool same = op.have_first && s.state == op.first_raw;
    std::optional<version::KeyState> decoded;
    if (!same && !s.state.empty()) {
      auto st = version::KeyState::Decode(s.state);
      if (st.ok()) decoded = std::move(*st);
    }
    if (!same && !s.state.empty() && !decoded) {
      s.read_st = Slot::kFailed;
      op.last_error = "storage agent of " + peers_[s.peer]->node_id + " sent an undecodable state";
    } else {
      s.read_st = Slot::kAcked;
      if (!op.have_first) {
        op.have_first = true;
        op.first_raw = s.state;
        if (decoded) op.merged = std::move(*decoded);
      } else if (!same) {
        op.all_same = false;
        if (decoded) op.merged.Sync(*decoded);
      }
    }
  }
  return s.read_st == Slot::kAcked;
}

void Coordinator::AfterRead(Op& op) {
  if (op.phase != kRead) return;
  if (!op.replied && op.need_r.Met(op.acks, op.acks_dc)) {
    if (op.kind == ClientOp::kGet) {
      Reply(op, EncodeGetOk(op.req.id, op.merged.HasLive(), op.merged.LiveValues(),
                            op.merged.context().Encode(), op.acks));
    } else {
      // delete without ctx: delete exactly what the read saw. op.merged stays for ReadRepair.
      const std::string ctx = op.merged.context().Encode();
      StartUpdate(op, ctx);
      return;
    }
  }
  if (op.outstanding > 0) return;
  // Every replica asked has answered.
  if (!op.replied) {
    ReplyError(op, op.last_error.empty() ? ErrorCode::kTimeout : ErrorCode::kInternal,
               "read quorum not met: " + std::to_string(op.acks) + " replicas answered" +
                   (op.last_error.empty() ? std::string() : "; " + op.last_error));
  }
  if (op.kind == ClientOp::kGet) ReadRepair(op);
  Finish(op);
}

void Coordinator::ReadRepair(Op& op) {
  if (op.all_same || (op.merged.versions().empty() && op.merged.context().empty())) return;
  const std::string merged = op.merged.Encode();
  sp::Request req;
  req.op = std::string(sp::kSync);
  req.key = op.req.key;
  req.state = merged;
  op.phase = kRepair;
  for (int i = 0; i < static_cast<int>(op.slots.size()); ++i) {
    Slot& s = op.slots[i];
    if (s.read_st != Slot::kAcked || s.state == merged) continue;
    req.rid = Rid(op, i);  // answers are ignored: the op is finished by then
    if (SendToPeer(s.peer, sp::EncodeRequest(req))) ++stats_.read_repairs;
  }
}

void Coordinator::OnUpdateReply(Op& op, int slot, sp::Reply& reply) {
  Slot& s = op.slots[slot];
  if (!reply.ok || !reply.state || !reply.dot) {
    s.st = Slot::kFailed;
    if (reply.ok) reply.message = "update reply without state or dot";
    if (reply.code == sp::kErrTooManySiblings) {
      // This replica refused before writing anything, but an earlier attempt on another one
      // may have written: then the truth is `timeout` (it may appear later), never a code that
      // promises nothing was written (client protocol, "Error codes").
      if (op.maybe_written) {
        ReplyError(op, ErrorCode::kTimeout,
                   "the write may have been applied by an earlier attempt (" + op.last_error +
                       ") and may appear later; retrying it on another replica was refused: "
                       "the key would have more than " + std::to_string(opts_.max_siblings) +
                       " siblings");
      } else {
        ReplyError(op, ErrorCode::kTooManySiblings,
                   "the key would have more than " + std::to_string(opts_.max_siblings) +
                       " siblings: read it, resolve the siblings and write back with the ctx");
      }
      return Finish(op);
    }
    op.last_error = StorageError(peers_[s.peer]->node_id, reply);
    // busy and expired mean the agent did nothing; other failures may have written.
    if (reply.code != sp::kErrBusy && reply.code != sp::kErrExpired) op.maybe_written = true;
    // Another live replica coordinates instead (a duplicate at worst: harmless, versioning.md).
    for (int j = 0; j < static_cast<int>(op.slots.size()); ++j) {
      if (!op.slots[j].tried_update && Live(op.slots[j].peer) && SendUpdateTo(op, j)) return;
    }
    ReplyError(op, ErrorCode::kInternal, op.last_error);
    return Finish(op);
  }
  if (reply.durable.has_value()) {
    // Early: the state is not durable on this replica yet. Its durable ack (same rid) counts
    // toward W when it comes; meanwhile the other replicas get the state.
    ++op.outstanding;
  } else {
    s.st = Slot::kAcked;
    ++op.acks;
    ++op.acks_dc[s.dc];
  }
  op.maybe_written = true;
  op.new_state = std::move(*reply.state);
  // The reply's ctx covers what the request's ctx covered plus the new version, never a sibling
  // the client did not see. When the new version is the key's only one, every other dot the
  // state knows is dead, so its whole context is as safe and keeps chained puts' contexts compact
  // (with node-wide dot counters, request ctx + dot would add a cloud entry per put).
  auto after = version::KeyState::Decode(op.new_state);
  if (after.ok() && after->versions().size() == 1 && after->versions()[0].dot == *reply.dot) {
    op.reply_ctx = after->context().Encode();
  } else {
    version::CausalContext ctx = op.write_ctx;
    ctx.Add(*reply.dot);
    op.reply_ctx = ctx.Encode();
  }

  // Replicate the new state to the other live replicas; a hint for each one that is down.
  op.phase = kSync;
  sp::Request req;
  req.op = std::string(sp::kSync);
  req.key = op.req.key;
  req.state = op.new_state;
  // A replica that has not acknowledged by the deadline gets the state by hint (OnDeadline;
  // an `expired` answer before it, by OnSyncReply), so it may drop this sync once it is late.
  // Read repair's syncs carry none: nothing else would send them again.
  req.deadline_ms = op.wall_deadline;
  const int64_t now = Now();
  for (int i = 0; i < op.replicas; ++i) {
    if (i == slot) continue;
    // By index: SendHint appends to op.slots.
    if (Live(op.slots[i].peer)) {
      req.rid = Rid(op, i);
      if (SendToPeer(op.slots[i].peer, sp::EncodeRequest(req))) {
        op.slots[i].st = Slot::kSent;
        op.slots[i].sent_ms = now;
        ++op.outstanding;
        continue;
      }
    }
    op.slots[i].st = Slot::kFailed;
    SendHint(op, i, /*may_count=*/true);
  }
  AfterWrite(op);
}

void Coordinator::OnSyncReply(Op& op, int slot, sp::Reply& reply) {
  Slot& s = op.slots[slot];
  if (!reply.ok) {
    s.st = Slot::kFailed;
    op.last_error = StorageError(peers_[s.peer]->node_id, reply);
    SendHint(op, slot, /*may_count=*/true);
  } else {
    s.st = Slot::kAcked;
    ++op.acks;
    ++op.acks_dc[s.dc];
  }
  AfterWrite(op);
}

void Coordinator::AfterWrite(Op& op) {
  if (!op.replied && op.need_w.Met(op.acks, op.acks_dc)) {
    // acks: preference-list replicas holding the write; hinted: stand-ins' hints that counted.
    Reply(op, EncodeWriteOk(op.req.id, op.reply_ctx, op.acks - op.hinted, op.hinted));
    op.acked = true;
  }
  if (op.outstanding > 0) return;
  if (!op.replied) {
    // Every replica reachable has answered and W was not met; the write is on some replicas.
    ReplyError(op, op.last_error.empty() ? ErrorCode::kTimeout : ErrorCode::kInternal,
               "write quorum not met: " + std::to_string(op.acks - op.hinted) +
                   " replicas acknowledged, " + std::to_string(op.hinted) +
                   " hints counted (the write may appear later)" +
                   (op.last_error.empty() ? std::string() : "; " + op.last_error));
  }
  for (int i = 0; i < op.replicas; ++i) {
    if (op.slots[i].read_st == Slot::kSent) return;  // a late read answer is due (ReadRepair)
  }
  Finish(op);
}

void Coordinator::OnDeadline(Op& op, int64_t now) {
  // Replicas that let a message wait until the deadline are down until they answer a ping.
  for (Slot& s : op.slots) {
    if (s.st == Slot::kSent && now - s.sent_ms >= opts_.suspect_after_ms) {
      MarkDown(s.peer, "missed a request deadline");
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
