// The coordinator: one thread running one net::Reactor (common/net/reactor.h) with every
// socket registered: the client endpoint, one ROUTER connected to every storage and gossip
// agent, the direct connections to storage agents, and a DEALER to its own node's gossip agent
// (the view); its timers (request deadlines, the peers' tick, the ring reload until the first
// view) and the stop signals are the reactor's too. Every client request becomes a state machine
// (an Op) keyed by an internal id that travels to storage agents as `rid`; many are in flight at
// once and each waits at most until its own deadline. DESIGN: docs/coordinator.md (request
// paths, sockets, liveness, quorum rules).
//
// Thread-safety: a Coordinator is used by one thread only (the one calling Run), except
// RequestStop, which any thread may call.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/metrics/registry.h"
#include "common/net/frame_conn.h"
#include "common/net/reactor.h"
#include "common/protocol/storage_protocol.h"
#include "common/ring/ring.h"
#include "common/status.h"
#include "common/version/key_state.h"
#include "coordinator/client_endpoint.h"
#include "coordinator/client_request.h"
#include "coordinator/coordinator_options.h"
#include "coordinator/gossip_feed.h"
#include "coordinator/ring_source.h"

namespace ringkv::coordinator {

// Counters, all since start, kept in the coordinator's metrics registry (docs/metrics.md);
// safe to read from any thread. The `status` reply carries them as `stats` (docs/coordinator.md)
// under the keys they had before the registry.
struct CoordinatorStats {
  explicit CoordinatorStats(metrics::Registry& r);
  metrics::Counter& requests;
  metrics::Counter& errors;
  metrics::Counter& read_repairs;
  metrics::Counter& replicas_marked_down;  // agents that went from usable to not (any reason)
  metrics::Counter& suspicions;  // local suspicions: missed deadlines, full backlogs, refused sends
  metrics::Counter& views;       // views received from this node's gossip agent
  metrics::Counter& hints_sent;  // writes left with a gossip agent for a replica that missed them
  metrics::Counter& hints_refused;   // hints refused or unanswered by their holder (then retried)
  metrics::Counter& hints_unplaced;  // replicas left with neither the write nor a stored hint
  metrics::Counter& hint_room_refusals;  // writes refused `unavailable`: no room for their hints
  metrics::Counter& backlog_refusals;  // sends refused: the agent had --max-peer-backlog unanswered
  metrics::Counter& quorum_failures;   // data requests answered unavailable or timeout
  metrics::Family<metrics::Counter>* requests_by;       // {op, code}
  metrics::Family<metrics::Histogram>* latency_by;      // {op}, microseconds
  metrics::Histogram* latency;                          // every data op, for the stats' p99
  metrics::Histogram* siblings;                         // live values per get reply
  metrics::TopK hot_keys{32};
};

class Coordinator {
 public:
  // `ctx` must outlive the Coordinator.
  Coordinator(zmq::context_t& ctx, CoordinatorOptions options, std::unique_ptr<RingSource> ring);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Loads the ring, connects to the storage agents, binds the client endpoint and registers
  // every handler and timer with the reactor.
  Status Start();
  // SIGTERM and SIGINT, read from the reactor's signalfd, drain and then stop Run (they must be
  // blocked in every thread already: net::Reactor::BlockStopSignals). See BeginDrain.
  Status WatchStopSignals();
  // Serves until RequestStop or a watched stop signal. Errors: epoll failed.
  Status Run();
  // Safe from any thread.
  void RequestStop() { reactor_.Stop(); }

  const CoordinatorStats& stats() const { return stats_; }
  // For the metrics endpoint; its figures are safe to render from any thread.
  const metrics::Registry& registry() const { return registry_; }

 private:
  struct Peer;
  struct Op;
  struct Slot;

  enum Phase : uint8_t { kRead = 0, kUpdate = 1, kSync = 2, kRepair = 3 };

  // Ring and peers.
  Status ApplyRing(Ring ring);
  void PollRing();  // the ring poll timer: ring.db, until the first view
  size_t PeerFor(const NodeInfo& node);
  size_t GossipPeerFor(const NodeInfo& node);
  bool Live(size_t peer) const;
  // Local suspicion (coordinator_peers.cc): no requests until it answers anything, a view shows
  // a new incarnation, or --suspect-ms has passed.
  void Suspect(size_t peer, const char* why);
  void EndSuspicion(size_t peer, const char* why);
  // Recomputes Peer::up from its inputs and logs a change.
  void Reassess(size_t peer, const char* why);
  // Every kTickMs: suspicions past --suspect-ms, stale hint room, direct connects, the watch.
  void TickPeers(int64_t now);
  // The reactor's timers and its end-of-pass hook (coordinator.cc).
  void StartTimers();
  void StartServing();  // the client endpoint reads from now on
  // A graceful stop (a stop signal): accept nothing more (ClientEndpoint::StopAccepting), finish
  // every request accepted, flush their replies, then stop Run; at most --drain-timeout-ms.
  void BeginDrain(const char* why);
  void EndDrainIfDone();  // end of every pass while draining
  void OnTick();
  void EndOfPass();
  // Arms the deadline timer for the earliest pending deadline (none when it is armed for it).
  void ArmDeadlineTimer();
  void OnDeadlineTimer();
  void AttachPeer(size_t peer);
  void DetachPeer(size_t peer);
  size_t PeerOfRoutingId(const zmq::message_t& id) const;
  // Direct transport (frame_conn.h) to storage agents.
  void ConnectDirect(size_t peer, int64_t now);
  void DropDirect(size_t peer, const std::string& why);
  // DropDirect, then the agent is down (its connection failed).
  void FailDirect(size_t peer, const std::string& why,
                  const char* down_why = "direct connection dropped");
  void DelayNextDirect(Peer& p, int64_t now);  // backoff before the next direct connect
  void OnDirectEvents(size_t peer, uint32_t events);
  void FlushDirect();
  // Registers each direct connection with the reactor, or changes what it is watched for (a
  // system call only when that changes).
  void WatchDirects();
  // False when the message could not be queued at once (the agent is suspected when it was
  // connected). Each counts toward the agent's backlog (Peer::unanswered) and is refused, the
  // agent suspected, while that backlog is full.
  bool SendToPeer(size_t peer, const std::string& body);
  // A reply to one of the agent's unanswered requests arrived (or can no longer arrive).
  void CountAnswer(size_t peer);
  void CountRequest(Peer& p);
  // --max-peer-backlog requests unanswered and nothing answered for kBacklogStallMs, or
  // kBacklogHardFactor times that many unanswered.
  bool BacklogFull(const Peer& p) const;
  static constexpr int64_t kBacklogStallMs = 500;
  static constexpr uint64_t kBacklogHardFactor = 16;

  // The gossip feed (coordinator_view.cc): `watch` to this node's gossip agent, its views.
  Status StartGossipFeed();
  void WatchGossip(int64_t now);
  bool DrainGossipFeed(int budget);
  void ApplyView(ViewChange change);
  bool ReadyToServe() const;  // the start-up wait is over (or may end early)
  void FillGossipStatus(StatusReply* s) const;  // `status`: gossip's view of each member

  // Client side (the transport is client_endpoint.h).
  void HandleClientMessage(ClientRoute route, std::vector<std::string_view>& frames,
                           bool truncated);
  void SendReply(const ClientRoute& route, const std::string& body) { client_->Send(route, body); }
  void Reply(Op& op, const std::string& body);
  void ReplyError(Op& op, ErrorCode code, const std::string& message);
  std::string StatusBody(const std::string& id) const;

  // Requests.
  void StartDataOp(std::unique_ptr<Op> op);
  void StartRead(Op& op);
  void StartUpdate(Op& op, const std::string& ctx_bytes);
  bool SendUpdateTo(Op& op, int slot);
  // The ZeroMQ handlers (reactor.h's rule: read until EAGAIN or `budget` messages; true when
  // the budget stopped it, more may wait).
  bool DrainPeers(int budget);
  bool DrainMonitor(int budget);
  // After every send or other operation on storage_ (reactor.h, rule 2).
  void KickStorage() { reactor_.Kick(storage_); }
  void HandleStorageReply(size_t peer, storage_protocol::Reply& reply);
  void OnReadReply(Op& op, int slot, storage_protocol::Reply& reply);
  void OnUpdateReply(Op& op, int slot, storage_protocol::Reply& reply);
  void OnSyncReply(Op& op, int slot, storage_protocol::Reply& reply);
  // Hinted handoff (coordinator_hints.cc, docs/hinted-handoff.md).
  // Gossip agents that may hold a hint for `replica`, best first: stand-ins outside the
  // preference list (the first *stand_ins), then preference-list nodes' own agents.
  std::vector<size_t> HintHolders(const Op& op, int replica, size_t* stand_ins) const;
  bool HintRoom(size_t gossip, uint64_t need) const;  // up, and room for `need` bytes
  size_t PickStandIn(const Op& op, int replica, const std::vector<size_t>& taken,
                     uint64_t need) const;
  void CountStandIns(const Op& op, int* live, std::vector<int>* live_dc) const;
  bool RoomForHints(const Op& op) const;
  void SendHint(Op& op, int replica, bool may_count);
  void OnHintReply(Op& op, int slot, storage_protocol::Reply& reply);
  void CountUnplacedHints(const Op& op);
  // The read phase's merge of one replica's answer; false when it failed.
  bool MergeReadReply(Op& op, int slot, storage_protocol::Reply& reply);
  void AfterRead(Op& op);
  void AfterWrite(Op& op);
  void ReadRepair(Op& op);
  void OnDeadline(Op& op, int64_t now);
  void Finish(Op& op);
  uint64_t Rid(const Op& op, int slot) const;

  zmq::context_t& ctx_;
  const CoordinatorOptions opts_;
  std::unique_ptr<RingSource> ring_source_;
  net::Reactor reactor_;           // the loop: every fd, socket, timer (before what registers)
  std::unique_ptr<ClientEndpoint> client_;
  bool serving_ = false;           // the client endpoint reads (the start-up wait is over)
  bool draining_ = false;          // BeginDrain ran: stop once ops_ is empty
  int64_t drain_start_ms_ = 0;
  size_t drain_ops_ = 0;           // requests in flight when the drain began
  Status fatal_;                   // why the loop stopped on its own (Run returns it)
  zmq::socket_t storage_;          // ROUTER connected to every storage agent of the ring
  zmq::socket_t storage_monitor_;  // PAIR receiving storage_'s handshake/disconnect events

  Ring ring_;
  bool have_ring_ = false;
  std::vector<size_t> node_peer_;     // ring_.nodes()[i] -> peers_ index
  std::vector<size_t> node_gossip_;   // ring_.nodes()[i] -> peers_ index of its gossip agent
  std::vector<int> node_dc_;          // ring_.nodes()[i] -> dcs_ index
  std::vector<std::string> dcs_;      // data centers of the ring
  int local_dc_ = -1;                 // this node's DC in dcs_
  std::string local_dc_name_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::unordered_map<std::string, size_t> peer_by_endpoint_;
  // Direct connections dropped during a loop pass; freed after it (a read may be under way).
  std::vector<std::unique_ptr<net::FrameConn>> dropped_directs_;
  uint64_t ring_poll_timer_ = 0;       // until the first view (0: cancelled)
  uint64_t deadline_timer_ = 0;        // armed for deadline_timer_due_ (0: none)
  int64_t deadline_timer_due_ = 0;

  std::unique_ptr<GossipFeed> feed_;  // null: this node has no gossip endpoint
  zmq::socket_t gossip_feed_;         // DEALER to this node's gossip agent
  std::string gossip_feed_endpoint_;
  bool feed_refused_ = false;         // the agent answered `watch` with an error (too old)
  uint64_t watch_rid_ = 0;
  uint64_t bad_views_ = 0;

  std::unordered_map<uint64_t, std::unique_ptr<Op>> ops_;
  uint64_t next_op_id_ = 1;
  // Deadlines: (deadline, op id), earliest first; stale entries are skipped.
  std::priority_queue<std::pair<int64_t, uint64_t>, std::vector<std::pair<int64_t, uint64_t>>,
                      std::greater<>> deadlines_;

  // Metrics (coordinator_metrics.cc). CountReply records one answered request: its counter by
  // op and code, its latency, a quorum failure, the slow-request log. op < 0: unparsed.
  void CountReply(int op, std::optional<ErrorCode> code, int64_t start_us,
                  const ClientRequest* req);
  void PublishGauges();  // the view's figures into gauges, from the reactor thread
  metrics::Registry registry_;
  CoordinatorStats stats_;
  metrics::Counter* request_counters_[6][9] = {};  // [op + 1][code + 1]: With() cached
  metrics::Histogram* latency_by_op_[6] = {};
  metrics::Gauge* members_up_ = nullptr;
  metrics::Gauge* members_down_ = nullptr;
  metrics::Gauge* ops_in_flight_ = nullptr;
};

}  // namespace ringkv::coordinator
