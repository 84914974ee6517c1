// The coordinator's per-peer and per-request state (Peer, Slot, Op) and the few constants and
// helpers its files share (coordinator.cc and the coordinator_*.cc beside it). Internal to
// coordinator/.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/net/frame_conn.h"
#include "common/net/zmq_util.h"
#include "common/token.h"
#include "coordinator/coordinator.h"

namespace ringkv::coordinator {

inline constexpr int kMaxSlots = 32;  // slots per request: replicas + hint holders (5 rid bits)
inline constexpr size_t kNoPeer = ~size_t{0};

inline int64_t Now() { return net::NowMs(); }

// A storage agent's error, as a message for the client (its code is never passed through).
inline std::string StorageError(const std::string& node, const storage_protocol::Reply& r) {
  return "storage agent of " + node + ": " + r.code + ": " + r.message;
}

struct Coordinator::Peer {
  enum Kind : uint8_t { kStorage, kGossip };
  Kind kind = kStorage;     // a node's storage agent, or its gossip agent (hint holder)
  std::string node_id;
  std::string endpoint;
  std::string routing_id;   // storage_'s id for the current connection (AttachPeer)
  uint32_t generation = 0;  // connects so far: a new connection never reuses a live id
  bool attached = false;    // connected on storage_ (false once removed from the ring)
  bool connected = false;   // the current connection completed its handshake
  int64_t attached_ms = 0;
  bool in_ring = true;
  // Liveness (DESIGN in coordinator_peers.cc): usable iff in the ring, connected, usable by the
  // newest gossip view and not suspected locally. `up` caches that verdict (Reassess).
  bool up = false;
  bool view_up = true;           // the newest view's verdict; true before any view
  int64_t suspect_until_ms = 0;  // a local suspicion ends then at the latest (0: none)
  uint64_t incarnation = 0;      // storage agents: its incarnation in the newest view
  // Requests sent on its current connections and not answered yet. Past
  // --max-peer-backlog nothing more is sent to it once it has stopped answering (SendToPeer).
  uint32_t unanswered = 0;
  // Since when it has had requests unanswered with no answer at all (valid while unanswered > 0).
  int64_t waiting_since_ms = 0;
  // The agent's direct transport (storage agents only): once connected, every message to the
  // agent goes over it instead of storage_ (DESIGN in coordinator_link.cc).
  std::unique_ptr<net::FrameConn> direct;
  uint32_t direct_events = 0;      // what the reactor watches it for (0: not registered)
  uint32_t direct_port = 0;        // from the newest gossip view (0: none known)
  int64_t direct_retry_ms = 0;     // no new direct connect before this
  int64_t direct_backoff_ms = 0;   // grows while connects fail
  // Gossip agents only: bytes its hint store can still take, as its last hint reply said (`busy`:
  // none), less what this coordinator sent it since; unknown (the maximum) before any reply
  // and again --suspect-ms after the last figure (docs/hinted-handoff.md, "Room for hints").
  uint64_t hint_room = ~uint64_t{0};
  int64_t hint_room_ms = 0;        // when that figure was learned
};

struct Coordinator::Slot {
  enum State : uint8_t { kIdle, kSent, kAcked, kFailed };
  size_t peer = 0;
  int dc = 0;
  bool local = false;      // this node's own storage agent
  State st = kIdle;
  bool tried_update = false;
  int64_t sent_ms = 0;
  std::string state;       // read phase: the replica's encoded state ("" when absent)
  State read_st = kIdle;   // its read's outcome, kept through the write phase of a delete
                           //   without ctx (a late answer is still merged and repaired)
  // Hint slots (after the replicas): a gossip agent holding the write for replica `hint_for`.
  int hint_for = -1;
  bool counts = false;     // its acknowledgement counts toward W (sloppy quorum)
};

struct Coordinator::Op {
  uint64_t id = 0;
  ClientOp kind = ClientOp::kGet;
  ClientRequest req;
  ClientRoute route;
  int64_t deadline = 0;
  uint64_t wall_deadline = 0;  // the same, on the deadline clock of the storage protocol (`dl`)
  bool replied = false;
  bool acked = false;       // the reply was ok
  int64_t start_us = 0;     // when the request arrived (metrics::MonotonicMicros), for latency
  std::optional<ErrorCode> error;  // the code of the error reply, for the metrics
  Phase phase = kRead;
  std::vector<Slot> slots;  // [0, replicas): the preference list; then hint holders
  int replicas = 0;
  Token token = 0;
  bool sloppy = false;      // consistency eventual: stand-ins' hints count toward W
  QuorumNeed need_r, need_w;
  int acks = 0;             // toward the quorum: replicas, and under eventual counted hints
  int hinted = 0;           // of acks: stand-ins' hints (the reply's `acks` leaves them out)
  std::vector<int> acks_dc;
  int outstanding = 0;
  // Read phase.
  version::KeyState merged;
  bool have_first = false;
  bool all_same = true;
  std::string first_raw;
  // Write phase.
  version::CausalContext write_ctx;  // what the update covers
  std::string new_state;             // the coordinating replica's state after the update
  std::string reply_ctx;
  bool maybe_written = false;        // some replica may hold the write
  bool hint_grace = false;           // past the deadline, waiting only for hints to be stored
  std::string last_error;            // the last storage error, for messages
};

}  // namespace ringkv::coordinator

namespace ringkv::coordinator {

// A gossip agent's reply ({v, ok, rid, error:{code, message}}) in the storage reply's shape, so
// that replies from both kinds of agents take one path through the reactor.
// *hint_room (may be null) gets the reply's `hint_room` when it has one (an ok hint reply's).
Result<storage_protocol::Reply> DecodeGossipReply(std::string_view body,
                                                  std::optional<uint64_t>* hint_room);

}  // namespace ringkv::coordinator
