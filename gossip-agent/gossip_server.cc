// The gossip agent's serving loop (see gossip_server.h).
//
// One thread, one Reactor: the listening ROUTER (exchange messages from peers, told from the
// requests by their first key "t"; requests by "op"), the PeerLinks ROUTER (replies to our
// SYNs), the two local-health DEALERs, and timers for the round, the detector, the view
// pushes, the ring.db saves and the hint deliverer.
//
// Clock: the Gossiper and its detector get milliseconds since this agent started (net::NowMs()
// minus the start), so that the members restored from ring.db before the first round are
// stamped with "now" (the Gossiper's clock reads 0 until its first event) and get their full
// bootstrap time before anyone is convicted.
#include "gossip-agent/gossip_server.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <set>

#include "common/logging.h"
#include "common/metrics/http/http_exporter.h"
#include "common/net/reactor.h"
#include "common/net/systemd_notify.h"
#include "common/net/zmq_util.h"
#include "common/ring/ring_store.h"
#include "gossip-agent/aae_replica_zmq.h"
#include "gossip-agent/gossip_metrics.h"
#include "gossip-agent/gossip_service.h"
#include "gossip-agent/gossiper.h"
#include "gossip-agent/hint_store.h"
#include "gossip-agent/local_health.h"
#include "gossip-agent/member_store.h"
#include "gossip-agent/peer_links.h"
#include "gossip-agent/view_watchers.h"

namespace ringkv::gossip {

namespace {

// The seed id a seed given by endpoint gets in the Gossiper (which knows seeds by id): its
// messages go over a PeerLinks connection of that name.
constexpr std::string_view kSeedPrefix = "seed:";
// The hint deliverer opens and closes its DEALERs as targets come and go and keeps its own
// zmq_poll (registering sockets that close under it with the reactor would need its help); the
// reactor runs it every kHintBusyMs while syncs are in flight, else when its next work is due
// (a rescan of the store at least every 500 ms).
constexpr int64_t kHintBusyMs = 5;

// Receives one whole multipart message without waiting; false when none is queued. Frames past
// kMaxFrames are read and dropped (so the socket stays in step) and flagged in *truncated.
bool RecvMessage(zmq::socket_t& s, std::vector<std::string>* frames, bool* truncated) {
  frames->clear();
  *truncated = false;
  zmq::message_t msg;
  if (!s.recv(msg, zmq::recv_flags::dontwait)) return false;
  frames->emplace_back(msg.to_string());
  while (msg.more()) {
    // The rest of a multipart message is already queued: this never waits.
    if (!s.recv(msg, zmq::recv_flags::none)) break;
    if (frames->size() < kMaxFrames) {
      frames->emplace_back(msg.to_string());
    } else {
      *truncated = true;
    }
  }
  return true;
}

// Bad input is logged for the first few and then every 1000th, so a flood cannot fill the log;
// the counters (stats) keep the full count.
bool LogThis(uint64_t count) { return count <= 10 || count % 1000 == 0; }

int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Agent {
 public:
  Agent(const GossipOptions& opts, zmq::context_t& ctx, RingStore* store, HintStore* hints,
        RepairStore* repairs, uint64_t generation)
      : opts_(opts),
        ctx_(ctx),
        store_(store),
        t0_(net::NowMs()),
        gossiper_(SelfEntry(opts, generation), MakeGossiperOptions(opts),
                  std::random_device{}()),
        saver_(store, opts.cluster.replication),
        links_(ctx),
        health_(ctx, opts.cluster.self().storage_endpoint, opts.cluster.self().client_endpoint,
                {opts.health_timeout_ms > 0 ? opts.health_timeout_ms
                                            : std::max<int64_t>(2000, 2 * opts.interval_ms)}),
        deliverer_(ctx, hints, [this](const std::string& id) { return StorageEndpoint(id); },
                   opts.delivery),
        service_(opts.cluster.node_id, store, hints, &deliverer_),
        hints_(hints),
        metrics_(opts.cluster.node_id),
        // The repair thread reads the ring from ring.db (RingStore is thread-safe), which this
        // agent writes from its membership, and talks to storage agents over its own sockets.
        repair_(
            opts.cluster.node_id, repairs,
            [store]() -> Result<Ring> {
              auto snap = store->Load();
              if (!snap.ok()) return snap.status();
              return snap->BuildRing();
            },
            [this](const NodeInfo& n) -> std::unique_ptr<AaeReplica> {
              ZmqReplicaOptions o;
              o.timeout_ms = opts_.repair_timeout_ms;
              return std::make_unique<ZmqAaeReplica>(ctx_, n.id, n.storage_endpoint, o,
                                                     repair_.stop_flag());
            },
            opts.repair) {}
  ~Agent() { repair_.Stop(); }

  Status Run();

 private:
  static gp::NodeEntry SelfEntry(const GossipOptions& o, uint64_t generation) {
    gp::NodeEntry e = EntryFromConfig(o.cluster.self());
    e.heartbeat = {generation, 0};
    return e;
  }
  static GossiperOptions MakeGossiperOptions(const GossipOptions& o);
  int64_t Now() const { return net::NowMs() - t0_; }
  std::string StorageEndpoint(const std::string& id) const {
    const gp::NodeEntry* e = gossiper_.membership().FactsOf(id);
    return e ? e->storage_endpoint : "";
  }

  Status Restore();
  void OnChange(const gp::NodeEntry& e);
  void ViewChanged() {
    ++view_version_;
    watchers_.Changed();
    SchedulePush();
  }
  bool OnListen(int budget);
  void FlushHints();
  void LogIfSlow(const RequestSummary& req, int64_t took_us);
  bool OnLinks(int budget);
  void HandleListen(const std::vector<std::string>& frames, bool truncated);
  void SendRouted(zmq::socket_t& s, const std::vector<std::string>& route, bool delimiter,
                  const std::string& body);
  void RoundDue();
  void Evaluate();
  void FlushOutgoing();  // probes and rumour pushes (Gossiper::TakeOutgoing)
  void ApplyHealth(int64_t now);
  void SchedulePush();
  void Push();
  void Save(bool force);
  void HintTick();
  std::vector<std::pair<std::string, uint64_t>> Stats() const;
  void PublishMetrics();  // Stats() and the view into metrics_, from the reactor thread

  const GossipOptions& opts_;
  zmq::context_t& ctx_;
  RingStore* const store_;
  const int64_t t0_;
  Gossiper gossiper_;
  MemberSaver saver_;
  PeerLinks links_;
  LocalHealth health_;
  HintDeliverer deliverer_;
  GossipService service_;
  HintStore* const hints_;
  GossipMetrics metrics_;
  std::unique_ptr<metrics::HttpExporter> exporter_;
  RepairScheduler repair_;
  ViewWatchers watchers_;
  net::Reactor reactor_;
  zmq::socket_t router_;
  std::vector<std::string> forget_;  // config-only members no longer configured
  uint64_t view_version_ = 1;
  int64_t next_round_ms_ = 0;
  bool push_scheduled_ = false;
  // The route of the request being handled (for `watch`).
  const std::vector<std::string>* current_route_ = nullptr;
  bool current_delimiter_ = false;
  uint64_t transitions_ = 0;
  uint64_t reply_drops_ = 0;
  uint64_t save_errors_ = 0;
  std::vector<std::string> frames_;
  struct Route {
    std::vector<std::string> frames;
    bool delimiter = false;
    int64_t read_us = 0;  // when the request was read (metrics::MonotonicMicros)
  };
  std::vector<Route> hint_routes_;  // of the hints queued in this pass, in queue order
  uint64_t hint_groups_ = 0;        // group commits of the hint store, and the hints in them
  uint64_t hint_group_hints_ = 0;
};

GossiperOptions Agent::MakeGossiperOptions(const GossipOptions& o) {
  GossiperOptions g;
  g.interval_ms = o.interval_ms;
  g.detector.threshold = o.phi_threshold;
  // The detector's defaults are in units of a 1 s round (phi_detector.h): scale them with the
  // interval so a shorter round (tests) convicts proportionally sooner.
  const double k = static_cast<double>(o.interval_ms) / 1000.0;
  g.detector.min_std_dev_ms *= k;
  g.detector.acceptable_pause_ms *= k;
  g.detector.first_interval_ms *= k;
  g.detector.bootstrap_timeout_ms *= k;
  g.detector.verify_ms *= k;
  g.detector.merge_ms *= k;
  g.probe_spacing_ms = static_cast<int64_t>(static_cast<double>(g.probe_spacing_ms) * k);
  g.rumour_ms_per_decade = static_cast<int64_t>(static_cast<double>(g.rumour_ms_per_decade) * k);
  std::set<std::string> ids;
  for (const NodeInfo& n : o.cluster.nodes) ids.insert(n.id);
  if (o.seeds.empty()) {
    g.seeds.assign(ids.begin(), ids.end());
  } else {
    for (const std::string& s : o.seeds) {
      g.seeds.push_back(s.find("://") != std::string::npos ? std::string(kSeedPrefix) + s : s);
    }
  }
  return g;
}

// The membership resumes from ring.db, then the configuration adds what it lacks. Entries of
// generation 0 were only ever known from a configuration: they are dropped and the current
// configuration's taken instead (so a node taken out of the config, never heard of, goes).
Status Agent::Restore() {
  Membership& m = gossiper_.membership();
  auto stored = store_->LoadMembers();
  if (!stored.ok()) return stored.status();
  size_t restored = 0;
  for (const gp::NodeEntry& e : *stored) {
    if (e.id == m.self_id()) continue;  // this node's entry comes from its config and generation
    if (e.heartbeat.generation == 0) {
      forget_.push_back(e.id);
      continue;
    }
    if (m.MergeEntry(e) != Membership::Merge::kIgnored) ++restored;
  }
  for (const NodeInfo& n : opts_.cluster.nodes) {
    if (n.id == m.self_id()) continue;
    m.MergeEntry(EntryFromConfig(n));
    forget_.erase(std::remove(forget_.begin(), forget_.end(), n.id), forget_.end());
  }
  RINGKV_LOG(kInfo) << "membership: " << restored << " members resumed from " << store_->path()
                    << ", " << m.size() << " known with the configuration; generation "
                    << m.Self().heartbeat.generation;
  return Status::OK();
}

void Agent::OnChange(const gp::NodeEntry& e) {
  if (e.id != gossiper_.membership().self_id()) links_.Connect(e.id, e.gossip_endpoint);
  saver_.FactsChanged(Now());
  ViewChanged();
}

void Agent::SendRouted(zmq::socket_t& s, const std::vector<std::string>& route, bool delimiter,
                       const std::string& body) {
  try {
    for (const std::string& r : route) {
      if (!s.send(zmq::buffer(r), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        ++reply_drops_;
        return;
      }
    }
    if (delimiter) s.send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    s.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    // A peer that vanished mid-reply costs only its reply.
    ++reply_drops_;
  }
  reactor_.Kick(s);
}

// Envelope: the routing frames up to the first empty frame (REQ peers and DEALERs that send
// [empty][body]), or just the identity when there is no empty frame (a DEALER or a peer's
// ROUTER sending [body]); the reply goes back in the same shape.
void Agent::HandleListen(const std::vector<std::string>& frames, bool truncated) {
  size_t delim = 0;
  for (size_t i = 1; i < frames.size(); ++i) {
    if (frames[i].empty()) {
      delim = i;
      break;
    }
  }
  const size_t route_end = delim ? delim : 1;
  const size_t body_begin = delim ? delim + 1 : 1;
  const size_t body_frames = frames.size() - body_begin;
  const std::vector<std::string> route(frames.begin(), frames.begin() + route_end);
  std::string reply;
  if (truncated || body_frames != 1) {
    reply = GossipService::ErrorReply(
        kErrBadRequest, "expected exactly one body frame after the envelope, got " +
                            (truncated ? "more than " + std::to_string(kMaxFrames)
                                       : std::to_string(body_frames)));
    SendRouted(router_, route, delim != 0, reply);
    return;
  }
  const std::string& body = frames[body_begin];
  if (gp::IsExchangeMessage(body)) {
    auto r = gossiper_.Receive(body, Now());
    if (!r.ok()) {
      // Counted by the Gossiper (rejected_messages); no reply: a peer's bug or an attack.
      if (LogThis(gossiper_.counters().rejected_messages)) {
        RINGKV_LOG(kWarn) << "gossip message rejected (" << gossiper_.counters().rejected_messages
                          << " so far): " << r.status().ToString();
      }
      return;
    }
    if (*r) SendRouted(router_, route, delim != 0, (*r)->bytes);
    FlushOutgoing();
    return;
  }
  const int64_t start_us = metrics::MonotonicMicros();
  if (service_.QueueHint(body)) {  // answered by FlushHints, once stored with its group
    hint_routes_.push_back({route, delim != 0, start_us});
    return;
  }
  current_route_ = &route;
  current_delimiter_ = delim != 0;
  if (opts_.metrics_options.slow_request_ms <= 0) {
    reply = service_.Handle(body);
  } else {
    RequestSummary req;
    reply = service_.Handle(body, &req);
    LogIfSlow(req, metrics::MonotonicMicros() - start_us);
  }
  current_route_ = nullptr;
  SendRouted(router_, route, delim != 0, reply);
}

// The slow-request log, in the coordinator's and storage agent's format (docs/metrics.md).
void Agent::LogIfSlow(const RequestSummary& req, int64_t took_us) {
  const int64_t slow_ms = opts_.metrics_options.slow_request_ms;
  if (slow_ms <= 0 || took_us < slow_ms * 1000) return;
  RINGKV_LOG(kWarn) << "slow request" << (req.rid.empty() ? "" : " rid=" + req.rid)
                    << (req.id.empty() ? "" : " id=" + req.id) << " op=" << req.op
                    << " code=" << req.code << " took_ms=" << took_us / 1000
                    << " (--slow-request-ms " << slow_ms << ")";
}

bool Agent::OnListen(int budget) {
  bool truncated = false;
  bool more = true;
  for (int i = 0; i < budget && more; ++i) {
    more = RecvMessage(router_, &frames_, &truncated);
    if (more) HandleListen(frames_, truncated);
  }
  FlushHints();
  return more;
}

// The hint requests of one pass are stored in one transaction, then answered (group commit:
// while one group's fsync runs, the next group queues up in the socket).
void Agent::FlushHints() {
  if (hint_routes_.empty()) return;
  const bool log_slow = opts_.metrics_options.slow_request_ms > 0;
  std::vector<RequestSummary> summaries;
  const std::vector<std::string> replies = service_.FlushHints(log_slow ? &summaries : nullptr);
  const int64_t now_us = metrics::MonotonicMicros();
  for (size_t i = 0; i < hint_routes_.size() && i < replies.size(); ++i) {
    SendRouted(router_, hint_routes_[i].frames, hint_routes_[i].delimiter, replies[i]);
    // A hint's time runs from its read to its reply: its wait for the group counts.
    if (i < summaries.size()) LogIfSlow(summaries[i], now_us - hint_routes_[i].read_us);
  }
  ++hint_groups_;
  hint_group_hints_ += hint_routes_.size();
  hint_routes_.clear();
}

// Replies to our SYNs: [peer id][body]. The exchange goes on over the same connection.
bool Agent::OnLinks(int budget) {
  bool truncated = false;
  for (int i = 0; i < budget; ++i) {
    if (!RecvMessage(links_.socket(), &frames_, &truncated)) return false;
    if (truncated || frames_.size() != 2) continue;
    auto r = gossiper_.Receive(frames_[1], Now());
    if (!r.ok()) {
      if (LogThis(gossiper_.counters().rejected_messages)) {
        RINGKV_LOG(kWarn) << "gossip reply rejected: " << r.status().ToString();
      }
      continue;
    }
    if (*r) {
      links_.Send(frames_[0], (*r)->bytes);
      reactor_.Kick(links_.socket());
    }
    FlushOutgoing();
  }
  return true;
}

void Agent::FlushOutgoing() {
  std::vector<Outgoing> out = gossiper_.TakeOutgoing();
  if (out.empty()) return;
  for (const Outgoing& o : out) links_.Send(o.to, o.bytes);
  reactor_.Kick(links_.socket());
}

void Agent::ApplyHealth(int64_t now) {
  Membership& m = gossiper_.membership();
  m.SetSelfHealth(health_.storage(now), health_.coordinator(now));
  if (health_.storage(now).up) m.SetSelfDirectPort(health_.storage_direct_port());
}

void Agent::RoundDue() {
  const int64_t now = Now();
  ApplyHealth(now);  // replies to the last round's pings, or their absence
  health_.Ping(now);
  reactor_.Kick(health_.storage_socket());
  reactor_.Kick(health_.coordinator_socket());
  for (const Outgoing& o : gossiper_.Round(next_round_ms_, now)) links_.Send(o.to, o.bytes);
  reactor_.Kick(links_.socket());
  // The next round keeps the schedule; rounds missed while the agent was not running are
  // skipped (the detector has been told how late this one was).
  next_round_ms_ += opts_.interval_ms;
  if (next_round_ms_ <= now) next_round_ms_ = now + opts_.interval_ms;
  reactor_.AddTimer(next_round_ms_ - now, [this] { RoundDue(); });
}

void Agent::Evaluate() {
  const int64_t now = Now();
  // A round overdue by half an interval: this agent was not running (SIGSTOP, a starved
  // host). That round runs in this same pass and tells the detector how late it is (which
  // credits the lateness to every peer); judging before it would convict everyone for time
  // this agent did not run.
  if (now - next_round_ms_ > opts_.interval_ms / 2) return;
  for (const auto& t : gossiper_.Evaluate(now)) {
    ++transitions_;
    RINGKV_LOG(kInfo) << "node " << t.id << " is " << (t.up ? "up" : "down");
    ViewChanged();
  }
  FlushOutgoing();
}

void Agent::SchedulePush() {
  if (push_scheduled_ || watchers_.empty()) return;
  push_scheduled_ = true;
  reactor_.AddTimer(std::max<int64_t>(0, watchers_.NextPushMs() - Now()), [this] {
    push_scheduled_ = false;
    Push();
  });
}

void Agent::Push() {
  const int64_t now = Now();
  if (watchers_.PushDue(now)) {
    std::string bytes;
    uint64_t rid = ~uint64_t{0};
    const gp::ViewPush view = BuildView(gossiper_, now, view_version_);
    for (const auto& w : watchers_.watchers()) {
      if (bytes.empty() || w.rid != rid) {
        bytes = gp::EncodeView(view, w.rid);
        rid = w.rid;
      }
      SendRouted(router_, w.route, w.delimiter, bytes);
    }
    watchers_.Pushed(now);
  }
  SchedulePush();
}

void Agent::Save(bool force) {
  const int64_t now = Now();
  auto r = saver_.MaybeSave(gossiper_.membership(), now, force, forget_);
  if (!r.ok()) {
    if (LogThis(++save_errors_)) {
      RINGKV_LOG(kError) << "saving the membership: " << r.status().ToString();
    }
    return;
  }
  forget_.clear();
  if (*r) {
    auto v = store_->Version();
    RINGKV_LOG(kInfo) << "ring " << store_->path() << " now at version " << (v.ok() ? *v : 0);
  }
}

void Agent::HintTick() {
  std::vector<zmq::pollitem_t> items = deliverer_.PollItems();
  if (!items.empty()) {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(0));
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].revents & ZMQ_POLLIN) deliverer_.OnReadable(i, net::NowMs());
    }
  }
  const int64_t now = net::NowMs();
  deliverer_.Tick(now);
  const int64_t delay = deliverer_.PollItems().empty()
                            ? std::clamp<int64_t>(deliverer_.NextWakeMs(now) - now, kHintBusyMs, 500)
                            : kHintBusyMs;
  reactor_.AddTimer(delay, [this] { HintTick(); });
}

std::vector<std::pair<std::string, uint64_t>> Agent::Stats() const {
  const auto& gc = gossiper_.counters();
  const auto& mc = gossiper_.membership().counters();
  const auto& dc = gossiper_.detector().counters();
  const RepairCounters repair_counters = repair_.counters();
  return {{"rounds", gc.rounds},
          {"sent_messages", gc.sent_messages},
          {"sent_bytes", gc.sent_bytes},
          {"received_messages", gc.received_messages},
          {"received_bytes", gc.received_bytes},
          {"rejected_messages", gc.rejected_messages},
          {"bad_requests", service_.bad_requests()},
          {"send_failures", links_.send_failures()},
          {"reply_drops", reply_drops_},
          {"members", gossiper_.membership().size()},
          {"down", gossiper_.down().size()},
          {"generation", gossiper_.membership().Self().heartbeat.generation},
          {"view_version", view_version_},
          {"hash_matched", mc.hash_matched},
          {"hash_mismatched", mc.hash_mismatched},
          {"entries_merged", mc.entries_merged},
          {"self_refuted", mc.self_refuted},
          {"members_refused", mc.members_refused},
          {"convictions", dc.convictions},
          {"recoveries", dc.recoveries},
          {"late_rounds", dc.late_rounds},
          {"local_health", static_cast<uint64_t>(gossiper_.detector().local_health())},
          {"transitions", transitions_},
          {"saves", saver_.saves()},
          {"watchers", watchers_.watchers().size()},
          {"hints_pending", hints_ ? hints_->count() : 0},
          {"hints_pending_bytes", hints_ ? hints_->bytes() : 0},
          {"hints_delivered", deliverer_.stats().delivered},
          {"hint_delivery_failures", deliverer_.stats().failures},
          {"hints_expired", deliverer_.stats().expired},
          {"hint_groups", hint_groups_},
          {"hints_grouped", hint_group_hints_},
          {"repair_exchanges", repair_counters.exchanges},
          {"repair_ranges_complete", repair_counters.ranges_complete},
          {"repair_ranges_incomplete", repair_counters.ranges_incomplete},
          {"repair_keys_sent", repair_counters.keys_sent},
          {"repair_bytes", repair_counters.bytes},
          {"repair_jobs_complete", repair_counters.jobs_complete},
          {"repair_jobs_incomplete", repair_counters.jobs_incomplete}};
}

void Agent::PublishMetrics() {
  metrics_.Publish(Stats(), BuildView(gossiper_, Now(), view_version_));
}

Status Agent::Run() {
  RINGKV_RETURN_IF_ERROR(reactor_.status());
  RINGKV_RETURN_IF_ERROR(links_.status());
  Membership& m = gossiper_.membership();
  RINGKV_RETURN_IF_ERROR(Restore());
  m.set_on_change([this](const gp::NodeEntry& e) { OnChange(e); });
  for (const std::string& id : m.Ids()) {
    if (id != m.self_id()) links_.Connect(id, m.FactsOf(id)->gossip_endpoint);
  }
  for (const std::string& s : opts_.seeds) {
    if (s.find("://") != std::string::npos) links_.Connect(std::string(kSeedPrefix) + s, s);
  }
  Save(/*force=*/true);  // the ring rows and members as they start (a version only on change)

  service_.set_hooks(
      {[this](uint64_t rid) { return gp::EncodeView(BuildView(gossiper_, Now(), view_version_), rid); },
       [this](uint64_t rid) {
         if (current_route_ != nullptr) {
           watchers_.Watch(*current_route_, current_delimiter_, rid, Now());
           SchedulePush();
         }
       },
       [this] {
         PublishMetrics();
         return Stats();
       },
       [this](const gp::RepairStartRequest& r) { return repair_.Request(r); },
       [this](uint64_t req) { return repair_.Jobs(req); }});
  if (!opts_.metrics_options.listen.empty()) {
    PublishMetrics();
    exporter_ = std::make_unique<metrics::HttpExporter>(
        [this] { return metrics_.registry().RenderPrometheus(); });
    RINGKV_RETURN_IF_ERROR(exporter_->Start(opts_.metrics_options.listen));
    RINGKV_LOG(kInfo) << "metrics at http://" << opts_.metrics_options.listen << "/metrics";
    reactor_.AddTimer(1000, [this] { PublishMetrics(); }, 1000);
  }

  auto router = net::MakeSocket(ctx_, zmq::socket_type::router,
                                {.send_hwm = 1000, .recv_hwm = 1000, .max_msg_size = kMaxFrameBytes});
  if (!router.ok()) return router.status();
  router_ = std::move(*router);
  RINGKV_RETURN_IF_ERROR(net::Bind(router_, opts_.listen));
  RINGKV_LOG(kInfo) << "node " << opts_.cluster.node_id << " serving on " << opts_.listen
                    << " (gossip every " << opts_.interval_ms << " ms, " << m.size()
                    << " members)";

  RINGKV_RETURN_IF_ERROR(reactor_.WatchStopSignals([this](int signo) {
    RINGKV_LOG(kInfo) << "stopping on " << (signo == SIGINT ? "SIGINT" : "SIGTERM");
    net::NotifyStopping("stopping (saving the heartbeats)");
    reactor_.Stop();
  }));
  RINGKV_RETURN_IF_ERROR(reactor_.AddZmq(router_, [this](int b) { return OnListen(b); }));
  RINGKV_RETURN_IF_ERROR(reactor_.AddZmq(links_.socket(), [this](int b) { return OnLinks(b); }));
  // A health answer goes into this node's entry at once, not at the next round: a storage agent
  // that just started is usable by the coordinators within a push (100 ms), not two rounds.
  RINGKV_RETURN_IF_ERROR(reactor_.AddZmq(health_.storage_socket(), [this](int b) {
    const bool more = health_.OnStorageReadable(Now(), b);
    ApplyHealth(Now());
    return more;
  }));
  RINGKV_RETURN_IF_ERROR(reactor_.AddZmq(health_.coordinator_socket(), [this](int b) {
    const bool more = health_.OnCoordinatorReadable(Now(), b);
    ApplyHealth(Now());
    return more;
  }));
  // While one of its agents is not up, the gossip agent asks again every fifth of a round (a
  // ping sent before the agent listened is not queued: ZMQ_IMMEDIATE), so a (re)started agent
  // is seen within ~200 ms; and a timeout is published when it happens, not at the next round.
  const int64_t recheck_ms = std::clamp<int64_t>(opts_.interval_ms / 5, 20, 200);
  reactor_.AddTimer(recheck_ms, [this] {
    const int64_t now = Now();
    ApplyHealth(now);
    if (!health_.storage(now).up || !health_.coordinator(now).up) {
      health_.Ping(now);
      reactor_.Kick(health_.storage_socket());
      reactor_.Kick(health_.coordinator_socket());
    }
  }, recheck_ms);

  // The first round at once: the restored view is complete before it.
  next_round_ms_ = Now();
  reactor_.AddTimer(0, [this] { RoundDue(); });
  const int64_t eval_ms = std::clamp<int64_t>(opts_.interval_ms / 10, 10, 100);
  reactor_.AddTimer(eval_ms, [this] { Evaluate(); }, eval_ms);
  reactor_.AddTimer(kMinPushGapMs, [this] { Save(false); }, kMinPushGapMs);
  reactor_.AddTimer(0, [this] { HintTick(); });
  net::ArmWatchdog(reactor_);
  // Ready from the loop's first pass: requests queued on the bound ROUTER are answered by then.
  reactor_.AddTimer(0, [this] {
    net::NotifyReady("serving on " + opts_.listen + " (node " + opts_.cluster.node_id + ", " +
                     std::to_string(gossiper_.membership().size()) + " members)");
  });
  repair_.Start();

  Status s = reactor_.Run();
  repair_.Stop();
  Save(/*force=*/true);  // the heartbeats as they stop
  return s;
}

}  // namespace

Status RunGossipAgent(const GossipOptions& opts, zmq::context_t& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(opts.data_dir, ec);
  if (ec) return Status::IOError("create data dir " + opts.data_dir + ": " + ec.message());
  auto store = RingStore::Open(opts.data_dir + "/ring.db");
  if (!store.ok()) return store.status();
  auto generation = (*store)->NextGeneration(static_cast<uint64_t>(WallSeconds()));
  if (!generation.ok()) return generation.status();
  auto hints = HintStore::Open(opts.data_dir + "/hints.db", opts.hint_max_bytes);
  if (!hints.ok()) return hints.status();
  if ((*hints)->count() > 0) {
    RINGKV_LOG(kInfo) << (*hints)->count() << " hints pending (" << (*hints)->bytes()
                      << " bytes)";
  }
  auto repairs = RepairStore::Open(opts.data_dir + "/repair.db");
  if (!repairs.ok()) return repairs.status();
  try {
    auto agent = std::make_unique<Agent>(opts, ctx, store->get(), hints->get(), repairs->get(),
                                         *generation);
    Status s = agent->Run();
    if (!s.ok()) return s;
  } catch (const zmq::error_t& e) {
    return Status::IOError(std::string("zeromq: ") + e.what());
  }
  RINGKV_LOG(kInfo) << "stopped";
  return Status::OK();
}

}  // namespace ringkv::gossip
