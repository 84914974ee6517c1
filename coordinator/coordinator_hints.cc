// Hinted handoff, the coordinator's side (docs/hinted-handoff.md): for a preference-list replica
// that misses a write, the key's new state goes to a gossip agent that keeps it and hands it off
// when the replica is back. The holder is a stand-in outside the preference list in the missed
// replica's data center when one is up (its acknowledgement counts toward W under `eventual`:
// Dynamo's sloppy quorum), else a preference-list node's own gossip agent (never counted: that
// node is already counted as a replica; the hint only makes the missed replica converge).
// A write is refused up front when a replica known down has no holder with room for its hint; a
// hint refused after that is retried on the next holder, and a replica left with neither the
// write nor a hint is counted (hints_unplaced) and logged.
#include <algorithm>
#include <optional>

#include "common/logging.h"
#include "common/msgpack_util.h"
#include "common/net/zmq_util.h"
#include "common/protocol/gossip_protocol.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace sp = storage_protocol;

namespace {

// Before the update runs, a hint's size is the key plus the new state, which is unknown: the
// value plus this much for its causal context, dot and encoding (a state with siblings is
// larger; its hint may then be refused and goes to the next holder).
constexpr uint64_t kHintStateSlack = 1024;

uint64_t HintNeedBefore(const ClientRequest& req) {
  return req.key.size() + req.value.size() + kHintStateSlack;
}

}  // namespace

Result<sp::Reply> DecodeGossipReply(std::string_view body, std::optional<uint64_t>* hint_room) {
  auto g = gossip_protocol::DecodeReply(body);
  if (!g.ok()) return g.status();
  sp::Reply r;
  r.rid = g->rid;
  r.ok = g->ok;
  r.code = std::move(g->code);
  r.message = std::move(g->message);
  if (hint_room != nullptr && g->has_hint_room) *hint_room = g->hint_room;
  return r;
}

std::vector<size_t> Coordinator::HintHolders(const Op& op, int replica, size_t* stand_ins) const {
  std::vector<size_t> out;
  const int dc = op.slots[replica].dc;
  const NodeInfo* base = ring_.nodes().data();
  // Stand-ins: the nodes clockwise from the key that are not replicas of it, in the missed
  // replica's data center.
  for (const NodeInfo* n : ring_.WalkFrom(op.token)) {
    const size_t idx = static_cast<size_t>(n - base);
    if (node_dc_[idx] != dc || node_gossip_[idx] == kNoPeer) continue;
    bool replica_node = false;
    for (int i = 0; i < op.replicas; ++i) replica_node |= op.slots[i].peer == node_peer_[idx];
    if (!replica_node) out.push_back(node_gossip_[idx]);
  }
  *stand_ins = out.size();
  // A replica node's own gossip agent: this node's first, then the other replicas' nodes'.
  const std::string& target = peers_[op.slots[replica].peer]->node_id;
  if (const NodeInfo* me = ring_.Find(opts_.node_id); me != nullptr && me->id != target) {
    const size_t g = node_gossip_[static_cast<size_t>(me - base)];
    if (g != kNoPeer) out.push_back(g);
  }
  for (int i = 0; i < op.replicas; ++i) {
    if (i == replica) continue;
    for (size_t n = 0; n < ring_.nodes().size(); ++n) {
      if (node_peer_[n] == op.slots[i].peer && node_gossip_[n] != kNoPeer) {
        out.push_back(node_gossip_[n]);
      }
    }
  }
  return out;
}

bool Coordinator::HintRoom(size_t gossip, uint64_t need) const {
  return gossip != kNoPeer && Live(gossip) && peers_[gossip]->hint_room >= need;
}

// The first stand-in for `replica` that is up, has room for `need` bytes and is not in `taken`;
// kNoPeer when none.
size_t Coordinator::PickStandIn(const Op& op, int replica, const std::vector<size_t>& taken,
                                uint64_t need) const {
  size_t stand_ins = 0;
  const std::vector<size_t> holders = HintHolders(op, replica, &stand_ins);
  for (size_t k = 0; k < stand_ins; ++k) {
    const size_t g = holders[k];
    if (HintRoom(g, need) && std::find(taken.begin(), taken.end(), g) == taken.end()) return g;
  }
  return kNoPeer;
}

void Coordinator::CountStandIns(const Op& op, int* live, std::vector<int>* live_dc) const {
  std::vector<size_t> taken;
  for (int i = 0; i < op.replicas; ++i) {
    if (Live(op.slots[i].peer)) continue;
    const size_t s = PickStandIn(op, i, taken, HintNeedBefore(op.req));
    if (s == kNoPeer) continue;
    taken.push_back(s);
    ++*live;
    ++(*live_dc)[op.slots[i].dc];
  }
}

// The protocol's "no room for the hints the write would need, known before any replica was
// asked": every replica known down needs a holder that is up and has room for its hint (one
// holder may take several, if its room covers them all).
bool Coordinator::RoomForHints(const Op& op) const {
  const uint64_t need = HintNeedBefore(op.req);
  std::vector<std::pair<size_t, uint64_t>> reserved;  // holder, bytes this check gave it
  for (int i = 0; i < op.replicas; ++i) {
    if (Live(op.slots[i].peer)) continue;
    size_t stand_ins = 0;
    bool placed = false;
    for (size_t g : HintHolders(op, i, &stand_ins)) {
      auto it = std::find_if(reserved.begin(), reserved.end(),
                             [g](const auto& r) { return r.first == g; });
      const uint64_t before = it == reserved.end() ? 0 : it->second;
      if (!HintRoom(g, before + need)) continue;
      if (it == reserved.end()) {
        reserved.emplace_back(g, need);
      } else {
        it->second += need;
      }
      placed = true;
      break;
    }
    if (!placed) return false;
  }
  return true;
}

void Coordinator::SendHint(Op& op, int replica, bool may_count) {
  if (op.new_state.empty()) return;
  const std::string& target = peers_[op.slots[replica].peer]->node_id;
  const uint64_t need = op.req.key.size() + op.new_state.size();
  // Not asked again: holders already tried for this replica, stand-ins holding a counted hint.
  std::vector<size_t> taken;
  for (size_t i = static_cast<size_t>(op.replicas); i < op.slots.size(); ++i) {
    if (op.slots[i].hint_for == replica || op.slots[i].counts) taken.push_back(op.slots[i].peer);
  }
  size_t stand_ins = 0;
  const std::vector<size_t> holders = HintHolders(op, replica, &stand_ins);
  for (size_t k = 0; k < holders.size(); ++k) {
    const size_t g = holders[k];
    if (!HintRoom(g, need) || std::find(taken.begin(), taken.end(), g) != taken.end()) continue;
    if (op.slots.size() >= static_cast<size_t>(kMaxSlots)) break;
    Slot h;
    h.peer = g;
    h.dc = op.slots[replica].dc;
    h.hint_for = replica;
    h.counts = k < stand_ins && op.sloppy && may_count && !op.replied;
    const int index = static_cast<int>(op.slots.size());
    op.slots.push_back(h);
    if (SendToPeer(g, gossip_protocol::EncodeHint({Rid(op, index), target, op.req.key, op.new_state}))) {
      op.slots[index].st = Slot::kSent;
      op.slots[index].sent_ms = net::NowMs();
      ++op.outstanding;
      ++stats_.hints_sent;
      peers_[g]->hint_room -= need;  // until its reply says how much is left
      return;
    }
    op.slots[index].st = Slot::kFailed;
    ++stats_.hints_refused;
    taken.push_back(g);
  }
  // Counted once the request ends (CountUnplacedHints), unless the replica answers after all.
  RINGKV_LOG(kWarn) << "no holder left for a hint for " << target << " (" << need
                    << " bytes): no other gossip agent up with room";
}

void Coordinator::OnHintReply(Op& op, int slot, sp::Reply& reply) {
  Slot& h = op.slots[slot];
  if (!reply.ok) {
    h.st = Slot::kFailed;
    ++stats_.hints_refused;
    if (reply.code == gossip_protocol::kErrBusy) {  // no room, until --suspect-ms has passed
      peers_[h.peer]->hint_room = 0;
      peers_[h.peer]->hint_room_ms = net::NowMs();
    }
    RINGKV_LOG(kWarn) << "gossip agent of " << peers_[h.peer]->node_id << " refused a hint: "
                      << reply.code << ": " << reply.message << "; trying another holder";
    const int replica = h.hint_for;  // h dangles once SendHint adds a slot
    SendHint(op, replica, /*may_count=*/true);
  } else {
    h.st = Slot::kAcked;
    if (h.counts && !op.replied) {
      ++op.acks;
      ++op.hinted;
      ++op.acks_dc[h.dc];
    }
  }
  AfterWrite(op);
}

void Coordinator::CountUnplacedHints(const Op& op) {
  if (op.new_state.empty()) return;  // nothing was written
  std::string missed;
  int count = 0;
  for (int i = 0; i < op.replicas; ++i) {
    if (op.slots[i].st == Slot::kAcked) continue;
    bool hinted = false;
    for (size_t j = static_cast<size_t>(op.replicas); j < op.slots.size(); ++j) {
      hinted |= op.slots[j].hint_for == i && op.slots[j].st == Slot::kAcked;
    }
    if (hinted) continue;
    ++count;
    missed += (missed.empty() ? "" : ", ") + peers_[op.slots[i].peer]->node_id;
  }
  if (count == 0) return;
  stats_.hints_unplaced += static_cast<uint64_t>(count);
  RINGKV_LOG(kWarn) << "a write" << (op.acked ? " acknowledged" : "")
                    << " reached neither " << missed << " nor a stored hint for "
                    << (count == 1 ? "it" : "them")
                    << ": only read repair brings it there (hints_unplaced)";
}

}  // namespace ringkv::coordinator
