// The coordinator's read path, as riak_kv's get FSM: a get asks every live replica of the key,
// merges their states (siblings kept) and answers once R have; the replicas that answered with
// an older or missing state are then sent the merged one (read repair). A delete without ctx
// runs this read first and deletes exactly what it saw (coordinator_write.cc).
#include <optional>

#include "common/logging.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace sp = storage_protocol;

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
      stats_.siblings->Observe(op.merged.VersionCount());
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
  // A deletion is not copied to a replica that answered with nothing: to a reader both mean
  // "not found", and a replica that dropped the tombstone once its grace and a complete repair
  // allowed would get it back with a new write time, so the replicas would hand it to each other
  // forever and never drop it (docs/anti-entropy.md, "Tombstones"). The anti-entropy exchange
  // follows the same rule.
  const bool only_tombstones = op.merged.OnlyTombstones();
  for (int i = 0; i < static_cast<int>(op.slots.size()); ++i) {
    Slot& s = op.slots[i];
    if (s.read_st != Slot::kAcked || s.state == merged) continue;
    if (only_tombstones && s.state.empty()) continue;
    req.rid = Rid(op, i);  // answers are ignored: the op is finished by then
    if (SendToPeer(s.peer, sp::EncodeRequest(req))) ++stats_.read_repairs;
  }
}


}  // namespace ringkv::coordinator
