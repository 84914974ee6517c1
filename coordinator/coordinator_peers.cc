// The coordinator's peer table and liveness: one Peer per storage agent and per gossip agent
// (hint holder) of the ring, kept in step with the ring (ApplyRing), and whether each is usable.
//
// LIVENESS. The coordinator sends no pings of its own: an agent is usable iff it is in the
// ring, its connection completed its handshake (the storage ROUTER's monitor,
// coordinator_link.cc), the newest view of this node's gossip agent says it is usable
// (gossip_feed.h; every node counts as up before any view, and while no view ever comes from
// an agent too old to send one) and this coordinator does not suspect it. A suspicion is local
// and immediate: an agent that let a request reach its deadline (OnDeadline), whose backlog is
// full (below) or that refused a send is suspected at once, and gets no requests until it
// answers anything, the view shows a new incarnation of it (it restarted), or --suspect-ms has
// passed (then it is tried again: a suspicion must not outlive the fault, since nothing else
// would end it). A dropped connection needs no suspicion: the agent is unusable until the
// connection is back.
//
// BACKLOG AND DEADLINES. An agent that stops answering without dropping its connection (paused,
// stuck on its disk) would otherwise get every request meant for it until a deadline marks it
// down, and apply them whenever it resumes. So each get, update and sync carries its op's
// deadline (`dl`, docs/storage-protocol.md, "Deadlines"): the agent drops what it reaches too
// late. And each agent's requests without an answer yet are counted (Peer::unanswered, a
// counter per send and per reply: nothing per request beyond that); at --max-peer-backlog, once
// it has answered nothing for kBacklogStallMs (a burst to an agent that answers — the hints of
// many writes sent at once to one gossip agent — is no backlog of an agent that stopped
// answering; kBacklogHardFactor times the bound stops even that), the agent is suspected, so
// new requests treat it as down at once (hints, `unavailable`) until the suspicion ends (its
// unanswered count then starts afresh: what it did not answer waits in its own bounded queue,
// or the replies were lost).
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
    Reassess(i, "left the ring");
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


void Coordinator::PollRing() {
  // Once the gossip agent has sent a view, the ring follows its views (coordinator_view.cc);
  // ring.db is the ring only until then (at start, or with an agent that sends none): this
  // timer goes.
  if (feed_ && feed_->have_view()) {
    reactor_.CancelTimer(ring_poll_timer_);
    ring_poll_timer_ = 0;
    return;
  }
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

void Coordinator::Reassess(size_t peer, const char* why) {
  Peer& p = *peers_[peer];
  const bool usable =
      p.in_ring && p.attached && p.connected && p.view_up && p.suspect_until_ms == 0;
  if (usable == p.up) return;
  p.up = usable;
  const char* kind = p.kind == Peer::kGossip ? "gossip" : "storage";
  if (usable) {
    RINGKV_LOG(kInfo) << kind << " agent of " << p.node_id << " (" << p.endpoint
                      << ") is up (" << why << ")";
  } else {
    ++stats_.replicas_marked_down;
    RINGKV_LOG(kWarn) << kind << " agent of " << p.node_id << " (" << p.endpoint
                      << ") marked down: " << why;
  }
}

void Coordinator::Suspect(size_t peer, const char* why) {
  Peer& p = *peers_[peer];
  if (p.suspect_until_ms == 0) ++stats_.suspicions;
  p.suspect_until_ms = Now() + opts_.suspect_ms;
  Reassess(peer, why);
}

void Coordinator::EndSuspicion(size_t peer, const char* why) {
  Peer& p = *peers_[peer];
  if (p.suspect_until_ms == 0) return;
  p.suspect_until_ms = 0;
  if (p.unanswered >= static_cast<uint32_t>(opts_.max_peer_backlog)) {
    // What it has not answered yet waits in its own bounded queue (--max-queue), or its replies
    // were lost: start counting afresh, or it would stay refused.
    RINGKV_LOG(kInfo) << (p.kind == Peer::kGossip ? "gossip" : "storage") << " agent of "
                      << p.node_id << ": suspicion ended with " << p.unanswered
                      << " requests unanswered: its backlog is counted afresh";
    p.unanswered = 0;
  }
  Reassess(peer, why);
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

void Coordinator::TickPeers(int64_t now) {
  for (size_t i = 0; i < peers_.size(); ++i) {
    Peer& p = *peers_[i];
    if (!p.in_ring) continue;
    if (p.suspect_until_ms != 0 && now >= p.suspect_until_ms) {
      EndSuspicion(i, "suspected for --suspect-ms: tried again");
    }
    if (p.kind == Peer::kGossip) {
      // A room figure is only as good as its age: --suspect-ms after it, the room is unknown
      // again (taken as room; the holder's next reply says how much, `busy` none).
      if (p.hint_room != ~uint64_t{0} && now - p.hint_room_ms >= opts_.suspect_ms) {
        p.hint_room = ~uint64_t{0};
      }
    } else if (p.direct_port != 0 && !p.direct && p.up) {
      ConnectDirect(i, now);  // waits out its backoff (DelayNextDirect)
    }
  }
  WatchGossip(now);
}

}  // namespace ringkv::coordinator
