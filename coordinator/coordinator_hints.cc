// Hinted handoff, the coordinator's side (docs/hinted-handoff.md): for a preference-list replica
// that misses a write, the key's new state goes to a gossip agent that keeps it and hands it off
// when the replica is back. The holder is a stand-in outside the preference list in the missed
// replica's data center when one is up (its acknowledgement counts toward W under `eventual`:
// Dynamo's sloppy quorum), else a preference-list node's own gossip agent (never counted: that
// node is already counted as a replica; the hint only makes the missed replica converge).
#include <algorithm>

#include "common/logging.h"
#include "common/msgpack_util.h"
#include "common/net/zmq_util.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace sp = storage_protocol;

namespace {

constexpr std::string_view kHintOp = "hint";

std::string EncodeHint(uint64_t rid, const std::string& target, const std::string& key,
                       const std::string& state) {
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(5);
  mp::PackStr(p, "op");
  mp::PackStr(p, kHintOp);
  mp::PackStr(p, "rid");
  p.pack_uint64(rid);
  mp::PackStr(p, "target");
  mp::PackStr(p, target);
  mp::PackStr(p, "key");
  mp::PackBin(p, key);
  mp::PackStr(p, "state");
  mp::PackBin(p, state);
  return std::string(buf.data(), buf.size());
}

}  // namespace

Result<sp::Reply> DecodeGossipReply(std::string_view body) {
  auto decoded = mp::Decode(body);
  if (!decoded.ok()) return decoded.status();
  auto map = mp::MapView::Of(decoded->root());
  if (!map.ok()) return map.status();
  sp::Reply r;
  auto rid = map->Uint("rid");
  auto ok = map->Bool("ok");
  if (!rid.ok()) return rid.status();
  if (!ok.ok()) return ok.status();
  if (!ok->has_value()) return Status::InvalidArgument("gossip reply without 'ok'");
  r.rid = rid->value_or(0);
  r.ok = **ok;
  if (!r.ok) {
    if (const msgpack::object* e = map->Find("error")) {
      auto err = mp::MapView::Of(*e);
      if (err.ok()) {
        auto code = err->Str("code");
        auto message = err->Str("message");
        if (code.ok() && code->has_value()) r.code = **code;
        if (message.ok() && message->has_value()) r.message = **message;
      }
    }
    if (r.code.empty()) r.code = "internal";
  }
  return r;
}

// The nearest node clockwise from the key that is not a replica of it, is in the missed
// replica's data center, has its gossip agent up, and is not in `taken`; kNoPeer when none.
size_t Coordinator::PickStandIn(const Op& op, int replica, const std::vector<size_t>& taken) const {
  const int dc = op.slots[replica].dc;
  const NodeInfo* base = ring_.nodes().data();
  for (const NodeInfo* n : ring_.WalkFrom(op.token)) {
    const size_t idx = static_cast<size_t>(n - base);
    if (node_dc_[idx] != dc) continue;
    const size_t gossip = node_gossip_[idx];
    if (gossip == kNoPeer || !Live(gossip)) continue;
    bool replica_node = false;
    for (int i = 0; i < op.replicas; ++i) replica_node |= op.slots[i].peer == node_peer_[idx];
    if (replica_node) continue;
    if (std::find(taken.begin(), taken.end(), gossip) != taken.end()) continue;
    return gossip;
  }
  return kNoPeer;
}

void Coordinator::CountStandIns(const Op& op, int* live, std::vector<int>* live_dc) const {
  std::vector<size_t> taken;
  for (int i = 0; i < op.replicas; ++i) {
    if (Live(op.slots[i].peer)) continue;
    const size_t s = PickStandIn(op, i, taken);
    if (s == kNoPeer) continue;
    taken.push_back(s);
    ++*live;
    ++(*live_dc)[op.slots[i].dc];
  }
}

void Coordinator::SendHint(Op& op, int replica, bool may_count) {
  if (op.new_state.empty()) return;
  const std::string& target = peers_[op.slots[replica].peer]->node_id;
  if (op.slots.size() >= static_cast<size_t>(kMaxSlots)) {
    ++stats_.hints_unplaced;
    RINGKV_LOG(kWarn) << "no hint slot left for " << target << ": it misses a write until "
                      << "read repair";
    return;
  }
  // Stand-ins already holding a counted hint of this request are not asked twice.
  std::vector<size_t> taken;
  for (size_t i = static_cast<size_t>(op.replicas); i < op.slots.size(); ++i) {
    if (op.slots[i].counts) taken.push_back(op.slots[i].peer);
  }
  size_t holder = PickStandIn(op, replica, taken);
  bool counts = holder != kNoPeer && op.sloppy && may_count && !op.replied;
  if (holder == kNoPeer) {
    // A replica node's own gossip agent: this node's first, then the others'.
    const NodeInfo* me = ring_.Find(opts_.node_id);
    std::vector<size_t> candidates;
    if (me != nullptr && me->id != target) {
      candidates.push_back(node_gossip_[static_cast<size_t>(me - ring_.nodes().data())]);
    }
    for (int i = 0; i < op.replicas; ++i) {
      if (i == replica) continue;
      for (size_t n = 0; n < ring_.nodes().size(); ++n) {
        if (node_peer_[n] == op.slots[i].peer) candidates.push_back(node_gossip_[n]);
      }
    }
    for (size_t c : candidates) {
      if (c != kNoPeer && Live(c)) {
        holder = c;
        break;
      }
    }
  }
  if (holder == kNoPeer) {
    ++stats_.hints_unplaced;
    RINGKV_LOG(kDebug) << "no gossip agent up to hold a hint for " << target;
    return;
  }
  Slot h;
  h.peer = holder;
  h.dc = op.slots[replica].dc;
  h.hint_for = replica;
  h.counts = counts;
  const int index = static_cast<int>(op.slots.size());
  op.slots.push_back(h);
  if (SendToPeer(holder, EncodeHint(Rid(op, index), target, op.req.key, op.new_state))) {
    op.slots[index].st = Slot::kSent;
    op.slots[index].sent_ms = net::NowMs();
    ++op.outstanding;
    ++stats_.hints_sent;
  } else {
    op.slots[index].st = Slot::kFailed;
    ++stats_.hints_unplaced;
  }
}

void Coordinator::OnHintReply(Op& op, int slot, sp::Reply& reply) {
  Slot& h = op.slots[slot];
  if (!reply.ok) {
    h.st = Slot::kFailed;
    ++stats_.hints_unplaced;
    RINGKV_LOG(kWarn) << "gossip agent of " << peers_[h.peer]->node_id << " refused a hint: "
                      << reply.code << ": " << reply.message;
  } else {
    h.st = Slot::kAcked;
    if (h.counts && !op.replied) {
      ++op.acks;
      ++op.acks_dc[h.dc];
    }
  }
  AfterWrite(op);
}

}  // namespace ringkv::coordinator
