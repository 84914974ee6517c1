// The coordinator's link to its agents: the ROUTER connected to every storage and gossip
// agent, its connection monitor, and the direct transport to storage agents. SendToPeer is the
// one way out; DrainPeers and OnDirectEvents bring replies in (to HandleStorageReply).
//
// TRANSPORT. One ROUTER (storage_) connects to every storage agent, not a DEALER each: libzmq's
// zmq_poll costs a few syscalls per socket and pass, which on a paravirtualized VM was most of
// the coordinator's CPU. Each connect gets its own routing id (ZMQ_CONNECT_ROUTING_ID), so a
// reply [id][empty][body] names its agent. That id is only honoured without ZMQ_IMMEDIATE, so a
// connection's queue exists from connect() on and ZeroMQ itself would queue for an agent that is
// not there; instead the socket monitor says when a connection completed its handshake or
// dropped, and the agent is unusable (SendToPeer refuses) while it is not connected. The
// monitor is a ZeroMQ socket of the reactor, which costs nothing per pass until an event
// arrives. ZMQ_ROUTER_MANDATORY turns a send to a connection that is gone into
// EHOSTUNREACH, and a full queue is EAGAIN: both fail at once and suspect the agent.
//
// DIRECT TRANSPORT. The gossip view names the port of a storage agent's direct transport
// (`storage_direct_port`, which its gossip agent reads from the storage agent's ping reply;
// common/net/frame_conn.h: the same bodies as length-prefixed frames on plain TCP). The
// coordinator then opens one connection to it (TickPeers, while the agent is usable), on the host of the agent's endpoint, and once it
// is connected every message to that agent goes over it: its fd is a plain fd of the reactor and
// written by this thread, so a message wakes no ZeroMQ I/O thread on either side (each wake-up costs about
// 40 us of CPU on a paravirtualized VM). Writes are queued during a reactor pass and flushed by
// its end-of-pass hook, so the syncs of many requests leave in one send(). A direct connection that fails suspects
// the agent (--suspect-ms); messages go over storage_ again and a new connect follows after a
// backoff once it is usable; a new port in the view (a restart) reconnects at once. A failed connect only delays the next try (backoff to 30 s): the
// ROUTER path keeps working meanwhile.
#include <algorithm>
#include <cstring>
#include <optional>

#include "common/logging.h"
#include "common/net/link_security.h"
#include "common/net/zmq_util.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace sp = storage_protocol;

namespace {

constexpr int64_t kReattachMinMs = 100;   // a flapping agent is not reconnected faster
constexpr size_t kRoutingIdSize = 9;      // 'p', peer index, connection generation (big-endian)
constexpr int64_t kDirectRetryMinMs = 100;    // first wait before a new direct connect
constexpr int64_t kDirectRetryMaxMs = 30000;  // backoff cap while direct connects fail

void PutBig32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

uint32_t GetBig32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

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
  // Without connection events nothing says when it connects: sends queue until it does.
  p.connected = !storage_monitor_;
  KickStorage();  // a socket operation may process commands that made replies readable
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
  Reassess(peer, "attached");
}

void Coordinator::DetachPeer(size_t peer) {
  Peer& p = *peers_[peer];
  if (p.attached) {
    KickStorage();
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
  Reassess(peer, "disconnected");
}

size_t Coordinator::PeerOfRoutingId(const zmq::message_t& id) const {
  const auto* b = static_cast<const unsigned char*>(id.data());
  if (id.size() != kRoutingIdSize || b[0] != 'p') return kNoPeer;
  // Any generation: a late reply over a connection since replaced is still that agent's.
  const size_t peer = GetBig32(b + 1);
  return peer < peers_.size() ? peer : kNoPeer;
}


bool Coordinator::SendToPeer(size_t peer, const std::string& body) {
  Peer& p = *peers_[peer];
  if (BacklogFull(p)) {
    ++stats_.backlog_refusals;
    if (p.up) {
      const std::string why = std::to_string(p.unanswered) +
                              " requests unanswered (--max-peer-backlog); " +
                              std::to_string(stats_.backlog_refusals.value()) + " sends refused so far";
      Suspect(peer, why.c_str());
    }
    return false;
  }
  if (p.attached && p.direct && !p.direct->connecting()) {
    if (p.direct->Queue(body)) {  // written at the end of the loop pass
      CountRequest(p);
      return true;
    }
    FailDirect(peer, "direct send queue full", "send queue full");
    return false;
  }
  if (!p.attached || !p.connected) {
    Reassess(peer, "not connected (send refused)");
    return false;
  }
  void* s = storage_.handle();
  KickStorage();
  if (zmq_send(s, p.routing_id.data(), p.routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
    // EHOSTUNREACH: its connection is gone (ROUTER_MANDATORY); EAGAIN: its queue is full.
    Suspect(peer, zmq_errno() == EAGAIN ? "send queue full" : "not connected (send refused)");
    return false;
  }
  // The routing frame was accepted, so ZeroMQ accepts the rest of the message.
  zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
  zmq_send(s, body.data(), body.size(), ZMQ_DONTWAIT);
  CountRequest(p);
  return true;
}


// ---------------------------------------------------------------------------------------------
// Direct transport (DIRECT TRANSPORT above)

void Coordinator::ConnectDirect(size_t peer, int64_t now) {
  Peer& p = *peers_[peer];
  // The direct transport is plain TCP: with link security on every request goes over the
  // CURVE ROUTER instead, whatever port a view advertises (docs/security.md).
  if (net::LinkSecurityActive()) return;
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
  reactor_.RemoveFd(p.direct->fd());  // before its fd is closed (at the end of the pass)
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
  Suspect(peer, down_why);
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
    Status s = p.direct_events == 0
                   ? reactor_.AddFd(p.direct->fd(), events,
                                    [this, i](uint32_t ev) { OnDirectEvents(i, ev); })
                   : reactor_.SetFdEvents(p.direct->fd(), events);
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


bool Coordinator::DrainMonitor(int budget) {
  void* s = storage_monitor_.handle();
  if (s == nullptr) return false;
  // Read until EAGAIN (or the budget): only then does the fd signal the next event.
  for (int n = 0; n < budget; ++n) {
    zmq::message_t event;
    if (zmq_msg_recv(event.handle(), s, ZMQ_DONTWAIT) < 0) return false;
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
      Reassess(peer, "connected");
    } else if (id == ZMQ_EVENT_DISCONNECTED) {
      const bool was_connected = p.connected;
      p.connected = false;
      Reassess(peer, "connection dropped");
      // What is queued for the dropped connection would reach the agent whenever it is back,
      // maybe long after its requests ended: a new connection starts with an empty queue.
      const int64_t now = Now();
      if (was_connected && now - p.attached_ms >= kReattachMinMs) {
        DetachPeer(peer);
        AttachPeer(peer);
      }
    }
  }
  return true;  // the budget: more may wait
}

bool Coordinator::DrainPeers(int budget) {
  void* s = storage_.handle();
  for (int n = 0; n < budget; ++n) {
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
    // A gossip agent's hint reply says how much room its hint store has left (one too old to
    // say leaves the room unknown: taken as room, its refusals still send hints elsewhere).
    if (hint_room.has_value()) {
      peers_[peer]->hint_room = *hint_room;
      peers_[peer]->hint_room_ms = Now();
    }
    HandleStorageReply(peer, *reply);
  }
  return true;  // the budget: more may wait
}


}  // namespace ringkv::coordinator
