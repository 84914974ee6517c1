// Membership <-> ring.db (see member_store.h).
#include "gossip-agent/member_store.h"

#include <algorithm>

#include "common/logging.h"

namespace ringkv::gossip {

namespace {

// Id, placement and endpoints, which NodeInfo and NodeEntry name alike.
template <class From, class To>
void CopyPlacement(const From& f, To* t) {
  t->id = f.id;
  t->dc = f.dc;
  t->rack = f.rack;
  t->client_endpoint = f.client_endpoint;
  t->storage_endpoint = f.storage_endpoint;
  t->gossip_endpoint = f.gossip_endpoint;
}

}  // namespace

gp::NodeEntry EntryFromConfig(const NodeInfo& n) {
  gp::NodeEntry e;
  CopyPlacement(n, &e);
  e.vnodes = n.vnodes;
  e.tokens = n.tokens;
  switch (n.state) {
    case NodeState::kJoining: e.state = gp::MemberState::kJoining; break;
    case NodeState::kLeaving: e.state = gp::MemberState::kLeaving; break;
    default: e.state = gp::MemberState::kNormal; break;
  }
  return e;
}

std::optional<NodeInfo> RingNodeOf(const gp::NodeEntry& e) {
  NodeInfo n;
  switch (e.state) {
    case gp::MemberState::kJoining: n.state = NodeState::kJoining; break;
    case gp::MemberState::kLeaving: n.state = NodeState::kLeaving; break;
    case gp::MemberState::kNormal: n.state = NodeState::kNormal; break;
    default: return std::nullopt;  // removed (down never is a fact)
  }
  CopyPlacement(e, &n);
  n.tokens = e.tokens;
  n.vnodes = e.tokens.empty() ? e.vnodes : static_cast<uint32_t>(e.tokens.size());
  if (n.vnodes == 0) return std::nullopt;  // owns no token: not a ring member
  return n;
}

void MemberSaver::FactsChanged(int64_t now_ms) {
  if (!facts_dirty_) facts_due_ms_ = now_ms + options_.facts_delay_ms;
  facts_dirty_ = true;
}

int64_t MemberSaver::NextDueMs() const {
  const int64_t beats = last_save_ms_ < 0 ? 0 : last_save_ms_ + options_.heartbeat_every_ms;
  return facts_dirty_ ? std::min(facts_due_ms_, beats) : beats;
}

Result<bool> MemberSaver::MaybeSave(const Membership& m, int64_t now_ms, bool force,
                                    const std::vector<std::string>& forget) {
  if (!force && now_ms < NextDueMs()) return false;
  MembershipSave save;
  save.forget = forget;
  save.members.reserve(m.size());
  m.ForEach([&](const gp::NodeEntry& facts, gp::Heartbeat hb) {
    gp::NodeEntry e = facts;
    e.heartbeat = hb;
    save.members.push_back(std::move(e));
  });
  save.generation = m.Self().heartbeat.generation;
  if (facts_dirty_) {
    save.write_ring = true;
    save.replication = replication_;
    for (const gp::NodeEntry& e : save.members) {
      if (auto n = RingNodeOf(e)) save.ring.push_back(std::move(*n));
    }
  }
  auto r = store_->SaveMembership(save);
  if (!r.ok() && save.write_ring && r.status().code() == Status::Code::kInvalidArgument) {
    // The membership does not make a ring (say, a replicated DC lost its last node): keep the
    // last ring coordinators can use, and still save the members.
    RINGKV_LOG(kWarn) << "membership makes no ring, ring rows kept: " << r.status().ToString();
    save.write_ring = false;
    r = store_->SaveMembership(save);
  }
  if (!r.ok()) return r.status();
  facts_dirty_ = false;
  last_save_ms_ = now_ms;
  ++saves_;
  return *r;
}

}  // namespace ringkv::gossip
