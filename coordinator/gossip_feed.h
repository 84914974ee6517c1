// What the coordinator learns from its own node's gossip agent: the view it pushes in answer to
// `watch` (docs/gossip-protocol.md, "Views for coordinators"), turned into the ring the
// coordinator routes by and, for every node, whether its storage agent and its gossip agent may
// be used. Pure: no sockets and no clock of its own (the reactor passes bytes and times in), so
// every decision is tested without processes (gossip_feed_test.cc).
//
// Decisions (the agreed interface, point 4): a node's storage agent is usable iff the newest
// view says the node is `up`, its storage agent is up and its state is not `removed`; its gossip
// agent (a hint holder) iff the node is `up`. Local suspicion (a missed deadline, a full
// backlog) is the coordinator's own and is added on top (coordinator_peers.cc). The ring is the
// view's members that are not removed, with their tokens and states; a view whose facts did not
// change leaves the ring alone. Until a first view arrives nothing is decided here: the
// coordinator keeps its ring from ring.db and assumes every node up.
//
// Thread-safety: none; the coordinator's reactor thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/protocol/gossip_protocol.h"
#include "common/ring/ring.h"
#include "common/status.h"

namespace ringkv::coordinator {

// One node as the newest view shows it.
struct NodeVerdict {
  std::string id;
  bool storage_usable = false;       // up, its storage agent up, not removed
  bool gossip_usable = false;        // up: its gossip agent may hold hints
  uint32_t storage_direct_port = 0;  // its storage agent's direct transport (0: none)
  uint64_t storage_incarnation = 0;
  // Its storage agent is another incarnation than in the previous view (it restarted): any
  // local suspicion of it ends.
  bool new_incarnation = false;
};

// What one view changes.
struct ViewChange {
  // False when the view is the one applied last (same version and members): nothing to do.
  bool changed = false;
  // Set when the membership, tokens, states or endpoints changed: the nodes of the new ring
  // (removed nodes left out), to be built with the current replication.
  std::optional<std::vector<NodeInfo>> ring_nodes;
  std::vector<NodeVerdict> nodes;  // every member of the view, in id order
};

// A view member as the ring's NodeInfo (no tokens and no vnodes: the ring's default count).
NodeInfo NodeInfoOf(const gossip_protocol::NodeEntry& e);

class GossipFeed {
 public:
  // How often `watch` is sent (the agent drops a watcher not heard from for 10 s).
  static constexpr int64_t kWatchIntervalMs = 2000;

  // `self`: this node's id; a view from another node's gossip agent is refused.
  explicit GossipFeed(std::string self);

  // One message from the gossip agent (a reply body). A view: what it changes. An error reply
  // (an agent that does not know `watch`) or anything malformed: an error status, and the last
  // view stays in force.
  Result<ViewChange> OnMessage(std::string_view body, int64_t now_ms);
  Result<ViewChange> OnView(gossip_protocol::ViewPush view, int64_t now_ms);

  // The watch schedule: due at once, then every kWatchIntervalMs.
  bool WatchDue(int64_t now_ms) const { return now_ms >= next_watch_ms_; }
  void WatchSent(int64_t now_ms) { next_watch_ms_ = now_ms + kWatchIntervalMs; }
  int64_t next_watch_ms() const { return next_watch_ms_; }

  bool have_view() const { return have_view_; }
  // REQUIRES: have_view().
  const gossip_protocol::ViewPush& view() const { return view_; }
  // Milliseconds since the last view arrived; -1 before any.
  int64_t view_age_ms(int64_t now_ms) const { return have_view_ ? now_ms - view_ms_ : -1; }
  uint64_t views_received() const { return views_received_; }

 private:
  const std::string self_;
  bool have_view_ = false;
  gossip_protocol::ViewPush view_;
  int64_t view_ms_ = 0;
  int64_t next_watch_ms_ = 0;
  uint64_t views_received_ = 0;
};

}  // namespace ringkv::coordinator
