// The coordinator's side of its gossip agent's views: a DEALER to this node's own gossip agent
// (the endpoint comes from the ring, i.e. the cluster config), `watch` every 2 s, and each view
// applied (docs/gossip-protocol.md, "The view"; the decisions are gossip_feed.h's).
//
// DESIGN. The view is the one source of the ring and of liveness verdicts once it comes: the ring
// follows its members (ApplyRing, the same path a ring.db change takes; ring.db is no longer
// polled), a node's storage agent is usable only while the view says so, and the direct port of
// each storage agent comes from it. Until a first view (the agent is down or restarting) the
// coordinator keeps the last view's verdicts, or at start the ring from ring.db with every node
// assumed up; an agent that answers `watch` with an error (one older than views) leaves it so
// for good, with local suspicion as the only liveness signal beside connections. The DEALER
// queues at most a few watches while the agent is away (they are only worth the newest), and
// nothing here waits for the agent: a view is read whenever it arrives.
#include <algorithm>

#include "common/logging.h"
#include "common/msgpack_util.h"
#include "common/net/zmq_util.h"
#include "common/protocol/gossip_protocol.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace gp = gossip_protocol;

namespace {

std::string EncodeWatch(uint64_t rid) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(3);
  mp::PackStr(p, "v");
  p.pack_uint64(1);
  mp::PackStr(p, "op");
  mp::PackStr(p, gp::kOpWatch);
  mp::PackStr(p, "rid");
  p.pack_uint64(rid);
  return std::string(buf.data(), buf.size());
}

}  // namespace

Status Coordinator::StartGossipFeed() {
  const NodeInfo* me = ring_.Find(opts_.node_id);
  if (me == nullptr || me->gossip_endpoint.empty()) {
    RINGKV_LOG(kWarn) << "node " << opts_.node_id << " has no gossip= endpoint: no views, the "
                      << "ring comes from " << ring_source_->Describe()
                      << " and liveness from connections and requests only";
    return Status::OK();
  }
  net::SocketOptions po;
  po.send_hwm = 2;  // watches queued while the agent is away: one is as good as many
  po.recv_hwm = 1000;
  po.reconnect_ivl_ms = 100;
  po.reconnect_ivl_max_ms = 1000;
  po.max_msg_size = static_cast<int64_t>(gp::kMaxMessageBytes);
  auto sock = net::MakeSocket(ctx_, zmq::socket_type::dealer, po);
  if (!sock.ok()) return sock.status();
  gossip_feed_ = std::move(*sock);
  RINGKV_RETURN_IF_ERROR(net::Connect(gossip_feed_, me->gossip_endpoint));
  gossip_feed_endpoint_ = me->gossip_endpoint;
  feed_ = std::make_unique<GossipFeed>(opts_.node_id);
  RINGKV_RETURN_IF_ERROR(
      reactor_.AddZmq(gossip_feed_, [this](int budget) { return DrainGossipFeed(budget); }));
  WatchGossip(Now());
  return Status::OK();
}

void Coordinator::WatchGossip(int64_t now) {
  if (!feed_ || !feed_->WatchDue(now)) return;
  feed_->WatchSent(now);
  const std::string body = EncodeWatch(++watch_rid_);
  void* s = gossip_feed_.handle();
  // [empty][body], as a REQ would send it; EAGAIN (the agent away, a watch already queued) is
  // fine: the next one goes in 2 s.
  if (zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0) {
    zmq_send(s, body.data(), body.size(), ZMQ_DONTWAIT);
  }
  reactor_.Kick(gossip_feed_);  // a send may process commands that made views readable
}

bool Coordinator::DrainGossipFeed(int budget) {
  if (!feed_) return false;
  void* s = gossip_feed_.handle();
  for (int n = 0; n < budget; ++n) {
    zmq::message_t body;  // the last frame ([empty][body], or [body])
    if (zmq_msg_recv(body.handle(), s, ZMQ_DONTWAIT) < 0) return false;
    while (body.more()) {
      if (zmq_msg_recv(body.handle(), s, 0) < 0) break;
    }
    const std::string_view bytes(static_cast<const char*>(body.data()), body.size());
    const bool first = !feed_->have_view();
    auto change = feed_->OnMessage(bytes, Now());
    if (!change.ok()) {
      auto reply = gp::DecodeReply(bytes);
      if (reply.ok() && !reply->ok) {
        if (!feed_refused_) {
          RINGKV_LOG(kWarn) << "gossip agent " << gossip_feed_endpoint_ << " answered watch with "
                            << reply->code << ": " << reply->message
                            << "; without views every node counts as up, judged by "
                               "connections and requests only";
        }
        feed_refused_ = true;
      } else if (bad_views_++ % 100 == 0) {
        RINGKV_LOG(kWarn) << "gossip agent " << gossip_feed_endpoint_
                          << " sent an unusable view (" << bad_views_
                          << " so far), keeping the last one: " << change.status().ToString();
      }
      continue;
    }
    ++stats_.views;
    feed_refused_ = false;
    if (first) {
      RINGKV_LOG(kInfo) << "first view from gossip agent " << gossip_feed_endpoint_ << ": "
                        << feed_->view().members.size() << " members, version "
                        << feed_->view().view_version;
    }
    if (change->changed) ApplyView(std::move(*change));
  }
  return true;  // the budget: more may wait
}

void Coordinator::ApplyView(ViewChange change) {
  if (change.ring_nodes) {
    std::vector<NodeInfo> nodes = std::move(*change.ring_nodes);
    if (nodes != ring_.nodes()) {
      auto ring = Ring::Build(std::move(nodes), ring_.replication());
      Status s = ring.ok() ? ApplyRing(std::move(*ring)) : ring.status();
      if (!s.ok()) {
        RINGKV_LOG(kError) << "ring from the gossip view refused, keeping the last one: "
                           << s.ToString();
      } else {
        RINGKV_LOG(kInfo) << "ring from the gossip view: " << ring_.nodes().size()
                          << " nodes, N=" << ring_.N();
      }
    }
  }
  const NodeInfo* base = ring_.nodes().data();
  for (const NodeVerdict& v : change.nodes) {
    const NodeInfo* n = ring_.Find(v.id);
    if (n == nullptr) continue;  // removed (or the view's ring was refused)
    const size_t idx = static_cast<size_t>(n - base);
    if (const size_t g = node_gossip_[idx]; g != kNoPeer) {
      peers_[g]->view_up = v.gossip_usable;
      Reassess(g, v.gossip_usable ? "up in the gossip view" : "down in the gossip view");
    }
    const size_t peer = node_peer_[idx];
    Peer& p = *peers_[peer];
    if (p.direct_port != v.storage_direct_port) {
      if (p.direct) DropDirect(peer, "the gossip view names another direct port");
      p.direct_port = v.storage_direct_port;
      p.direct_backoff_ms = 0;
      p.direct_retry_ms = 0;  // connect at once (TickPeers)
    }
    p.view_up = v.storage_usable;
    p.incarnation = v.storage_incarnation;
    if (v.new_incarnation) EndSuspicion(peer, "a new incarnation in the gossip view");
    Reassess(peer, v.storage_usable ? "up in the gossip view" : "down in the gossip view");
  }
}

bool Coordinator::ReadyToServe() const {
  // The first view (unless the agent cannot send one), then a connection to every storage
  // agent that the view (or, without one, the ring) counts as up.
  if (feed_ && !feed_->have_view() && !feed_refused_) return false;
  return std::all_of(peers_.begin(), peers_.end(), [](const std::unique_ptr<Peer>& p) {
    return !p->in_ring || p->kind == Peer::kGossip || p->up || !p->view_up;
  });
}

void Coordinator::FillGossipStatus(StatusReply* s) const {
  if (!feed_) return;
  const int64_t now = Now();
  GossipStatus g;
  g.endpoint = gossip_feed_endpoint_;
  g.view = feed_->have_view();
  g.view_age_ms = feed_->view_age_ms(now);
  g.views = feed_->views_received();
  if (g.view) g.view_version = feed_->view().view_version;
  s->gossip = g;
  if (!g.view) return;
  for (MemberStatus& m : s->members) {
    const auto& members = feed_->view().members;
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const gp::MemberView& v) { return v.entry.id == m.node; });
    if (it == members.end()) continue;
    MemberGossip mg;
    mg.up = it->up;
    mg.state = gp::MemberStateName(it->entry.state);
    mg.storage_up = it->entry.storage.up;
    mg.storage_incarnation = it->entry.storage.incarnation;
    mg.coordinator_up = it->entry.coordinator.up;
    mg.coordinator_incarnation = it->entry.coordinator.incarnation;
    mg.generation = it->entry.heartbeat.generation;
    // The age as the view said it, plus the view's own age.
    mg.heartbeat_age_ms = it->heartbeat_age_ms < 0 ? -1 : it->heartbeat_age_ms + g.view_age_ms;
    mg.phi = it->phi;
    m.gossip = mg;
  }
}

}  // namespace ringkv::coordinator
