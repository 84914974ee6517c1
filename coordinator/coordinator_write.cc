// The coordinator's write path, as riak_kv's put FSM: put and delete are an update on one
// replica (this node's when it is one: it makes the new version's dot), then a sync of the new
// state to every other replica; W acknowledgements answer the client. A replica that is down or
// fails gets the write by hint (coordinator_hints.cc); another replica coordinates when the
// first refuses.
#include <algorithm>
#include <optional>

#include "common/logging.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace sp = storage_protocol;

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


}  // namespace ringkv::coordinator
