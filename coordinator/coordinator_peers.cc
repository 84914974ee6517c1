// The coordinator's peer table and liveness: one Peer per storage agent and per gossip agent
// (hint holder) of the ring, kept in step with the ring (ApplyRing), and whether each is up.
//
// LIVENESS. An agent is up from its first answer to a ping and down when a ping goes
// unanswered, its connection drops, a send to it is refused, it misses a request deadline
// (OnDeadline) or its backlog is full (below).
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
#include <string>

#include "common/logging.h"
#include "common/protocol/storage_protocol.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace sp = storage_protocol;

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


}  // namespace ringkv::coordinator
