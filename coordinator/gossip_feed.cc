// The coordinator's reading of its gossip agent's views (gossip_feed.h).
#include "coordinator/gossip_feed.h"

#include <algorithm>
#include <utility>

namespace ringkv::coordinator {

namespace gp = gossip_protocol;

namespace {

NodeState RingStateOf(gp::MemberState s) {
  switch (s) {
    case gp::MemberState::kJoining: return NodeState::kJoining;
    case gp::MemberState::kLeaving: return NodeState::kLeaving;
    case gp::MemberState::kDown: return NodeState::kDown;  // never on the wire (gossip_protocol.h)
    default: return NodeState::kNormal;
  }
}

std::vector<NodeInfo> RingNodesOf(const gp::ViewPush& v) {
  std::vector<NodeInfo> out;
  for (const gp::MemberView& m : v.members) {
    if (m.entry.state != gp::MemberState::kRemoved) out.push_back(NodeInfoOf(m.entry));
  }
  return out;
}

NodeVerdict VerdictOf(const gp::MemberView& m) {
  NodeVerdict v;
  v.id = m.entry.id;
  const bool present = m.entry.state != gp::MemberState::kRemoved;
  // Unchecked: the gossip agent has had no answer from this storage agent yet and is within its
  // first health timeout (it started before the storage agent). Unknown is not down: connection
  // events and local suspicion judge it meanwhile, as before any view. Past that timeout the
  // gossip agent says kIncarnationNeverAnswered, which is down.
  const bool storage_unknown =
      !m.entry.storage.up && m.entry.storage.incarnation == gp::kIncarnationUnchecked;
  v.storage_usable = m.up && present && (m.entry.storage.up || storage_unknown);
  v.gossip_usable = m.up && present;
  v.storage_direct_port = m.entry.storage_direct_port;
  v.storage_incarnation = m.entry.storage.incarnation;
  return v;
}

}  // namespace

NodeInfo NodeInfoOf(const gp::NodeEntry& e) {
  NodeInfo n;
  n.id = e.id;
  n.dc = e.dc;
  n.rack = e.rack;
  n.client_endpoint = e.client_endpoint;
  n.storage_endpoint = e.storage_endpoint;
  n.gossip_endpoint = e.gossip_endpoint;
  if (e.vnodes != 0) n.vnodes = e.vnodes;
  n.tokens = e.tokens;
  n.state = RingStateOf(e.state);
  return n;
}

GossipFeed::GossipFeed(std::string self) : self_(std::move(self)) {}

Result<ViewChange> GossipFeed::OnMessage(std::string_view body, int64_t now_ms) {
  auto view = gp::DecodeView(body);
  if (!view.ok()) return view.status();
  return OnView(std::move(*view), now_ms);
}

Result<ViewChange> GossipFeed::OnView(gp::ViewPush view, int64_t now_ms) {
  if (view.self != self_) {
    return Status::InvalidArgument("a view from the gossip agent of node '" + view.self +
                                   "', not of this node ('" + self_ + "'): check its endpoint");
  }
  ViewChange change;
  const bool first = !have_view_;
  // The same facts (every entry but its heartbeat version) and judgements: nothing to apply.
  // Heartbeats, phi and ages still replace the stored view (they are shown by `status`).
  bool same = !first && view.members.size() == view_.members.size();
  for (size_t i = 0; same && i < view.members.size(); ++i) {
    const gp::MemberView& a = view.members[i];
    const gp::MemberView& b = view_.members[i];
    same = a.up == b.up && a.entry.SameFacts(b.entry);
  }
  if (!same) {
    change.changed = true;
    std::vector<NodeInfo> nodes = RingNodesOf(view);
    if (first || nodes != RingNodesOf(view_)) change.ring_nodes = std::move(nodes);
    for (const gp::MemberView& m : view.members) {
      NodeVerdict v = VerdictOf(m);
      if (!first) {
        auto old = std::lower_bound(
            view_.members.begin(), view_.members.end(), m.entry.id,
            [](const gp::MemberView& x, const std::string& id) { return x.entry.id < id; });
        v.new_incarnation = old != view_.members.end() && old->entry.id == m.entry.id &&
                            old->entry.storage.incarnation != m.entry.storage.incarnation;
      }
      change.nodes.push_back(std::move(v));
    }
  }
  view_ = std::move(view);
  have_view_ = true;
  view_ms_ = now_ms;
  ++views_received_;
  return change;
}

}  // namespace ringkv::coordinator
