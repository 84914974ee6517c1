// ringkv-gossip-sim: the real gossip code (gossip-agent/gossiper.h: membership, detector,
// round) over a virtual clock and a simulated network, in one process, at 10 to 5,000 nodes.
// Messages are encoded and decoded as on the wire, lost with a probability and delayed; a
// fraction of nodes is starved (their rounds and their message handling run late). Prints, per
// cluster size: rounds and seconds until a new fact and a new node are known everywhere, until
// a paused node is convicted everywhere and taken up again after it resumes (p50/p99 over
// trials), bytes per node per round with views agreeing and while a fact spreads, and false
// convictions per node-hour. docs/gossip-protocol.md, "Simulation".
//
// Memory: every node keeps a full table (N^2 slots of 24 bytes, ~600 MB at 5,000 nodes); every
// node runs its failure detector (it watches only its few monitored subjects and the nodes it
// is checking, so that costs O(1) per node).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "gossip-agent/gossiper.h"

namespace ringkv::gossip {
namespace {

struct SimOptions {
  std::vector<int> sizes = {10, 100, 1000, 5000};
  double loss = 0.01;          // probability a message is lost
  int delay_min_ms = 1;        // one-way delay, uniform
  int delay_max_ms = 20;
  double starved = 0.02;       // fraction of nodes starved
  int starve_max_ms = 2000;    // a starved node's round and message handling run up to this late
  int trials = 20;
  bool verbose = false;        // progress on stderr
  int subjects = GossiperOptions{}.subjects;
  int sparse = static_cast<int>(MembershipOptions{}.sparse_heartbeats);  // 0: every heartbeat
  int fanout = 3;
  uint64_t seed = 1;
  double steady_scale = 1.0;   // multiplies the steady-state durations
  DetectorOptions detector;    // --threshold, --min-std-ms, --pause-ms override the defaults
};

enum class Ev : uint8_t { kRound, kDeliver, kTick };

struct Event {
  int64_t t;
  uint64_t seq;
  Ev kind;
  int node;        // round, deliver: the node
  int64_t sched;   // round: the scheduled time
  size_t payload;  // deliver: index in the payload slab
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct Result {
  int n = 0;
  int observers = 0;
  double fact_s = -1, join_s = -1, join_full_s = -1;
  // Per trial: seconds from the pause until the first / median / last (every live node that
  // is not starved) node convicted it; until every one took it up again after the resume.
  std::vector<double> convict_first, convict_median, convict_all, up_all;
  double bytes_agree = 0, bytes_churn = 0, bytes_agree_digest = 0;
  double false_live_per_hour = 0, false_starved_per_hour = 0;
  double observed_hours = 0;
  uint64_t false_live = 0, false_starved = 0;
  double sim_s = 0, wall_s = 0;
};

class Sim {
 public:
  Sim(int n, const SimOptions& o) : n_(n), o_(o), rng_(o.seed * 7919 + n) {}

  Result Run() {
    auto wall0 = std::chrono::steady_clock::now();
    wall0_ = wall0;
    Build();
    const double k = o_.steady_scale;
    const int64_t warm = WarmMs();
    // Bounded wall time: a simulated second costs O(N) messages, a join O(N^2) table updates.
    const int64_t steady = static_cast<int64_t>(k * (n_ <= 10 ? 600000 : n_ <= 100 ? 300000 : n_ <= 1000 ? 120000 : 30000));
    Result r;
    r.n = n_;
    r.observers = Size();

    Progress("built");
    RunUntil(warm);
    Progress("warm");
    // Views agree: bytes per node per round.
    uint64_t b0 = SentBytes();
    RunUntil(warm + steady);
    r.bytes_agree = double(SentBytes() - b0) / (double(Live()) * double(steady) / 1000.0);
    // What the same rounds would cost with full digests (Cassandra's SYN), for comparison.
    r.bytes_agree_digest = DigestSynBytes();
    Progress("steady");

    // A new fact: a node's storage agent goes down.
    int x = RandomNode(/*avoid_starved=*/true);
    int64_t t0 = now_;
    uint64_t c0 = SentBytes();
    nodes_[x]->membership().SetSelfHealth({false, 2}, {true, 1});
    gp::NodeEntry fact = nodes_[x]->membership().Self();
    r.fact_s = Until(t0, 30000, [&] {
      for (int i = 0; i < Size(); ++i) {
        if (!alive_[i]) continue;
        const gp::NodeEntry* f = nodes_[i]->membership().FactsOf(fact.id);
        if (f == nullptr || f->storage.up) return false;
      }
      return true;
    });
    r.bytes_churn = double(SentBytes() - c0) / (double(Live()) * std::max(1.0, double(now_ - t0) / 1000.0));

    // A new node that knows only the seeds joins.
    int j = AddNode();
    int64_t t1 = now_;
    const std::string jid = nodes_[j]->membership().self_id();
    r.join_s = Until(t1, 30000, [&] {
      for (int i = 0; i < Size(); ++i) {
        if (alive_[i] && !nodes_[i]->membership().FactsOf(jid)) return false;
      }
      return true;
    });
    r.join_full_s = Until(t1, 30000, [&] { return nodes_[j]->membership().size() == size_t(Size()); });
    RunUntil(now_ + 5000);
    Progress("fact and join");

    // Trials: a node is paused (SIGSTOP: silent, messages to it lost), convicted everywhere,
    // then resumed (SIGCONT) and taken up everywhere. A different node each time (flap
    // damping would hold a node that goes down three times within minutes).
    std::vector<int> used;
    for (int trial = 0; trial < o_.trials; ++trial) {
      int d = RandomNode(/*avoid_starved=*/true);
      for (int tries = 0; tries < 1000 && (d < 3 || d == j ||
                                           std::find(used.begin(), used.end(), d) != used.end());
           ++tries) {
        d = RandomNode(true);
      }
      used.push_back(d);
      alive_[d] = false;
      dead_id_ = nodes_[d]->membership().self_id();
      std::fill(conviction_ms_.begin(), conviction_ms_.end(), -1);
      int64_t t2 = now_;
      double all = Until(t2, 30000, [&] {
        // Starved nodes raise their timeouts (local health) by design: not waited for.
        for (int i = 0; i < Size(); ++i) {
          if (alive_[i] && !starved_[i] && nodes_[i]->IsUp(dead_id_)) return false;
        }
        return true;
      });
      r.convict_all.push_back(all < 0 ? 99 : all);
      if (all < 0 && std::getenv("SIMDEBUG")) {
        for (int i = 0; i < Size(); ++i) {
          if (alive_[i] && !starved_[i] && nodes_[i]->IsUp(dead_id_)) {
            const auto& det = nodes_[i]->detector();
            int downs = 0;
            for (int q = 0; q < Size(); ++q) downs += alive_[q] && !nodes_[q]->IsUp(nodes_[i]->membership().self_id());
            std::fprintf(stderr, "DBG node %d recv %llu sent %llu judged down by %d starved %d size %zu vh %llx vs %llx\n", i, (unsigned long long)nodes_[i]->counters().received_messages, (unsigned long long)nodes_[i]->counters().sent_messages, downs, int(starved_[i]), nodes_[i]->membership().size(), (unsigned long long)nodes_[i]->membership().ViewHash(), (unsigned long long)nodes_[0]->membership().ViewHash());
            std::fprintf(stderr, "DBG trial %d dead %s: node %d watched %d suspected %d up %d conv_ms %lld subj %d\n",
                         trial, dead_id_.c_str(), i, det.IsWatched(dead_id_), det.IsSuspected(dead_id_),
                         det.IsUp(dead_id_), (long long)conviction_ms_[i],
                         int(std::count(nodes_[i]->subjects().begin(), nodes_[i]->subjects().end(), dead_id_)));
          }
        }
      }
      std::vector<double> each;
      for (int i = 0; i < Size(); ++i) {
        if (alive_[i] && !starved_[i] && conviction_ms_[i] >= 0) {
          each.push_back(double(conviction_ms_[i] - t2) / 1000.0);
        }
      }
      std::sort(each.begin(), each.end());
      if (!each.empty()) {
        r.convict_first.push_back(each.front());
        r.convict_median.push_back(each[each.size() / 2]);
      }
      RunUntil(now_ + 500);
      // SIGCONT: the overdue round runs at once (late: its detector credits the pause).
      alive_[d] = true;
      int64_t t3 = now_;
      Push({now_, 0, Ev::kRound, d, next_sched_[d], 0});
      double up = Until(t3, 30000, [&] {
        for (int i = 0; i < Size(); ++i) {
          if (alive_[i] && !starved_[i] && i != d && !nodes_[i]->IsUp(dead_id_)) return false;
        }
        return true;
      });
      r.up_all.push_back(up < 0 ? 99 : up);
      if (up < 0 && std::getenv("SIMDEBUG")) {
        for (int i = 0; i < Size(); ++i) {
          if (alive_[i] && !starved_[i] && i != d && !nodes_[i]->IsUp(dead_id_)) {
            const auto& det = nodes_[i]->detector();
            std::fprintf(stderr, "DBGUP trial %d victim %s: node %d watched %d suspected %d up %d held %llu recov %llu conv %llu probes %llu\n",
                         trial, dead_id_.c_str(), i, det.IsWatched(dead_id_), det.IsSuspected(dead_id_),
                         det.IsUp(dead_id_), (unsigned long long)det.counters().held,
                         (unsigned long long)det.counters().recoveries, (unsigned long long)det.counters().convictions,
                         (unsigned long long)nodes_[i]->counters().probes);
          }
        }
      }
      dead_id_.clear();
      Progress("trial");
      // Rumours die out; in small clusters, where victims repeat, flap penalties decay too.
      RunUntil(now_ + (n_ <= 50 ? 30000 : 3000));
      if (used.size() + 4 >= size_t(Size())) used.clear();
    }

    r.false_live = false_live_;
    r.false_starved = false_starved_;
    r.observed_hours = observed_ms_ / 3600000.0;
    r.false_live_per_hour = r.observed_hours > 0 ? false_live_ / r.observed_hours : 0;
    r.false_starved_per_hour = r.observed_hours > 0 ? false_starved_ / r.observed_hours : 0;
    r.sim_s = now_ / 1000.0;
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    return r;
  }

 private:
  void Progress(const char* what) {
    if (!o_.verbose) return;
    uint64_t heard = 0, probes = 0, refuted = 0, suspicions = 0, convictions = 0, late = 0;
    for (const auto& g : nodes_) {
      heard += g->counters().suspicions_heard;
      probes += g->counters().probes;
      refuted += g->counters().refutations;
      suspicions += g->detector().counters().suspicions;
      convictions += g->detector().counters().convictions;
      late += g->detector().counters().late_rounds;
    }
    std::fprintf(stderr, "# %d nodes: %s at %.1f s simulated, %.1f s wall, %llu messages; suspicions %llu "
                 "(by phi), heard %llu, probes %llu, refutations %llu, convictions %llu, late rounds %llu\n",
                 n_, what, now_ / 1000.0,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0_).count(),
                 (unsigned long long)messages_, (unsigned long long)suspicions, (unsigned long long)heard,
                 (unsigned long long)probes, (unsigned long long)refuted, (unsigned long long)convictions,
                 (unsigned long long)late);
  }
  int Size() const { return static_cast<int>(nodes_.size()); }
  int Live() const { return static_cast<int>(std::count(alive_.begin(), alive_.end(), true)); }
  static std::string Id(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "n%05d", i);
    return b;
  }

  gp::NodeEntry Entry(int i) const {
    gp::NodeEntry e;
    e.id = Id(i);
    e.dc = "dc1";
    e.rack = "rack" + std::to_string(i % 3);
    std::string host = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    e.client_endpoint = "tcp://" + host + ":7400";
    e.storage_endpoint = "tcp://" + host + ":7401";
    e.gossip_endpoint = "tcp://" + host + ":7402";
    e.vnodes = 256;
    e.heartbeat = {1, 1};
    e.storage = {true, 1};
    e.coordinator = {true, 1};
    return e;
  }

  int AddNode() {
    int i = Size();
    GossiperOptions go;
    go.round.fanout = o_.fanout;
    go.detector = o_.detector;
    go.subjects = o_.subjects;
    go.track_heartbeat_age = false;  // O(N) per node: 25 M entries at 5,000 nodes
    go.membership.sparse_heartbeats = static_cast<size_t>(o_.sparse);
    go.seeds = {Id(0), Id(1), Id(2)};
    nodes_.push_back(std::make_unique<Gossiper>(Entry(i), go, rng_()));
    alive_.push_back(true);
    starved_.push_back(i >= 3 && Uniform() < o_.starved);
    conviction_ms_.push_back(-1);
    next_sched_.push_back(0);
    int64_t phase = std::uniform_int_distribution<int64_t>(0, 999)(rng_);
    Push({now_ + phase, 0, Ev::kRound, i, now_ + phase, 0});
    return i;
  }

  void Build() {
    for (int i = 0; i < n_; ++i) AddNode();
    // Every table starts with every node (as restored from ring.db): one shared Facts each.
    std::vector<std::shared_ptr<const Facts>> facts;
    for (int i = 0; i < n_; ++i) facts.push_back(MakeFacts(Entry(i)));
    for (int i = 0; i < n_; ++i) {
      for (int j = 0; j < n_; ++j) {
        if (i != j) nodes_[i]->membership().MergeFacts(facts[j], 1);
      }
    }
    Push({100, 0, Ev::kTick, -1, 0, 0});
  }

  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  int RandomNode(bool avoid_starved) {
    int i = 0;
    for (int tries = 0; tries < 100000; ++tries) {
      i = std::uniform_int_distribution<int>(0, Size() - 1)(rng_);
      if (alive_[i] && !(avoid_starved && starved_[i])) return i;
    }
    return i;
  }

  void Push(Event e) {
    e.seq = seq_++;
    q_.push(e);
  }

  size_t Store(std::string bytes) {
    if (!free_.empty()) {
      size_t i = free_.back();
      free_.pop_back();
      slab_[i] = std::move(bytes);
      return i;
    }
    slab_.push_back(std::move(bytes));
    return slab_.size() - 1;
  }

  int64_t StarveDelay(int node) {
    if (!starved_[node]) return 0;
    return std::uniform_int_distribution<int64_t>(0, o_.starve_max_ms)(rng_);
  }

  void Send(Outgoing&& o) {
    ++messages_;
    if (Uniform() < o_.loss) return;
    int to = std::atoi(o.to.c_str() + 1);
    if (to < 0 || to >= Size()) return;
    int64_t delay = std::uniform_int_distribution<int64_t>(o_.delay_min_ms, o_.delay_max_ms)(rng_);
    delay += StarveDelay(to);  // a starved receiver handles it late
    Push({now_ + delay, 0, Ev::kDeliver, to, 0, Store(std::move(o.bytes))});
  }

  void Handle(const Event& e) {
    now_ = e.t;
    switch (e.kind) {
      case Ev::kRound: {
        int i = e.node;
        if (!alive_[i]) return;
        int64_t next_sched = e.sched + 1000;
        next_sched_[i] = next_sched;
        for (auto& o : nodes_[i]->Round(e.sched, now_)) Send(std::move(o));
        // The next round runs at its time, or late for a starved node, never before this one.
        int64_t at = std::max(next_sched + StarveDelay(i), now_ + 1);
        Push({at, 0, Ev::kRound, i, next_sched, 0});
        return;
      }
      case Ev::kDeliver: {
        std::string bytes = std::move(slab_[e.payload]);
        free_.push_back(e.payload);
        if (!alive_[e.node]) return;
        auto r = nodes_[e.node]->Receive(bytes, now_);
        if (!r.ok()) {
          std::fprintf(stderr, "rejected: %s\n", r.status().ToString().c_str());
          return;
        }
        if (*r) Send(std::move(**r));
        for (auto& o : nodes_[e.node]->TakeOutgoing()) Send(std::move(o));
        return;
      }
      case Ev::kTick: {
        // Every tick, every live node runs its detector.
        for (int i = 0; i < Size(); ++i) {
          if (!alive_[i]) continue;
          if (now_ >= WarmMs()) observed_ms_ += TickMs();
          for (const auto& tr : nodes_[i]->Evaluate(now_)) {
            if (tr.up) continue;
            if (tr.id == dead_id_) {
              if (conviction_ms_[i] < 0) conviction_ms_[i] = now_;
              continue;
            }
            int target = std::atoi(tr.id.c_str() + 1);
            if (std::getenv("SIMDEBUG")) {
              std::fprintf(stderr, "DBGFALSE t=%lld obs %d (starved %d lh %d) convicted %s (starved %d, its lh here %llu, subject %d)\n",
                         (long long)now_, i, int(starved_[i]), nodes_[i]->detector().local_health(), tr.id.c_str(),
                         int((target < Size() && starved_[target])), (unsigned long long)nodes_[i]->detector().PeerHealth(tr.id),
                         int(std::count(nodes_[i]->subjects().begin(), nodes_[i]->subjects().end(), tr.id)));
              if (target < Size()) std::fprintf(stderr, "DBGFALSE   target lh %d announced %d late rounds %llu rounds %llu\n", nodes_[target]->detector().local_health(), nodes_[target]->detector().announced_health(now_), (unsigned long long)nodes_[target]->detector().counters().late_rounds, (unsigned long long)nodes_[target]->counters().rounds);
            }
            if (now_ < WarmMs()) {
              ++false_warm_;
            } else if (target >= 0 && target < Size() && alive_[target]) {
              if (starved_[target]) ++false_starved_; else ++false_live_;
            }
          }
          for (auto& o : nodes_[i]->TakeOutgoing()) Send(std::move(o));
        }
        Push({now_ + TickMs(), 0, Ev::kTick, -1, 0, 0});
        return;
      }
    }
  }

  void RunUntil(int64_t t) {
    while (!q_.empty() && q_.top().t <= t) {
      Event e = q_.top();
      q_.pop();
      Handle(e);
    }
    now_ = t;
  }

  // Runs in 100 ms steps until `done` (checked each step) or `limit_ms` after `t0`; returns
  // the seconds from `t0`, or -1.
  template <typename F>
  double Until(int64_t t0, int64_t limit_ms, F done) {
    for (int64_t t = now_; t <= t0 + limit_ms; t += 100) {
      RunUntil(t);
      if (done()) return double(now_ - t0) / 1000.0;
    }
    return -1;
  }

  uint64_t SentBytes() const {
    uint64_t s = 0;
    for (const auto& g : nodes_) s += g->counters().sent_bytes;
    return s;
  }

  // Bytes of a SYN with the full digest list of node 0 and its ACK, times the fanout: what a
  // node would send per round without the view hash.
  double DigestSynBytes() const {
    gp::Message m;
    m.kind = gp::Kind::kSyn;
    m.from = Id(0);
    m.has_digests = true;
    m.digests = nodes_[0]->membership().Digests();
    return double(gp::Encode(m).size()) * o_.fanout;
  }

  // Detectors learn the rhythm (and the bootstrap of restored peers ends); not counted. Shorter
  // above 1,000 nodes, where a simulated second costs most.
  int64_t WarmMs() const { return n_ <= 1000 ? 15000 : 10000; }
  // How often every node runs its detector (as the agent should: gossiper.h).
  int64_t TickMs() const { return 100; }
  const int n_;
  const SimOptions o_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Gossiper>> nodes_;
  std::vector<bool> alive_, starved_;
  std::vector<int64_t> conviction_ms_, next_sched_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> q_;
  std::vector<std::string> slab_;
  std::vector<size_t> free_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  std::string dead_id_;
  uint64_t false_live_ = 0, false_starved_ = 0, false_warm_ = 0;
  int64_t observed_ms_ = 0;
  std::chrono::steady_clock::time_point wall0_;
  uint64_t messages_ = 0;

 public:
  uint64_t false_warm() const { return false_warm_; }
  int64_t warm_ms() const { return WarmMs(); }
};

std::vector<int> ParseSizes(const char* s) {
  std::vector<int> out;
  std::string cur;
  for (const char* p = s;; ++p) {
    if (*p == ',' || *p == 0) {
      if (!cur.empty()) out.push_back(std::atoi(cur.c_str()));
      cur.clear();
      if (*p == 0) break;
    } else {
      cur.push_back(*p);
    }
  }
  return out;
}

int Usage() {
  std::fprintf(stderr,
               "usage: ringkv-gossip-sim [--sizes 10,100,1000,5000] [--loss 0.01] "
               "[--delay-ms MIN,MAX] [--starved 0.02] [--starve-max-ms 2000] [--fanout 3]\n"
               "       [--trials 20] [--subjects 3] [--sparse 4 (0: every heartbeat)] "
               "[--steady-scale 1.0] [--seed 1] [--verbose 1]\n"
               "       [--threshold 8] [--min-std-ms MS] [--pause-ms MS] [--verify-ms MS]\n");
  return 2;
}

// Nearest-rank percentile (p in 0..100) of `v`; -1 when empty.
double Pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

int Main(int argc, char** argv) {
  SimOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    const char* v = argv[++i];
    if (a == "--sizes") o.sizes = ParseSizes(v);
    else if (a == "--loss") o.loss = std::atof(v);
    else if (a == "--delay-ms") {
      auto d = ParseSizes(v);
      if (d.size() != 2 || d[0] < 0 || d[1] < d[0]) return Usage();
      o.delay_min_ms = d[0];
      o.delay_max_ms = d[1];
    } else if (a == "--starved") o.starved = std::atof(v);
    else if (a == "--starve-max-ms") o.starve_max_ms = std::atoi(v);
    else if (a == "--fanout") o.fanout = std::atoi(v);
    else if (a == "--trials") o.trials = std::atoi(v);
    else if (a == "--verbose") o.verbose = std::atoi(v) != 0;
    else if (a == "--subjects") o.subjects = std::atoi(v);
    else if (a == "--sparse") o.sparse = std::atoi(v);
    else if (a == "--steady-scale") o.steady_scale = std::atof(v);
    else if (a == "--seed") o.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--threshold") o.detector.threshold = std::atof(v);
    else if (a == "--min-std-ms") o.detector.min_std_dev_ms = std::atof(v);
    else if (a == "--pause-ms") o.detector.acceptable_pause_ms = std::atof(v);
    else if (a == "--verify-ms") o.detector.verify_ms = std::atof(v);
    else return Usage();
  }
  for (int n : o.sizes) {
    if (n < 4 || n > 10000) return Usage();
  }
  if (o.trials < 1 || o.trials > 1000 || o.subjects < 0 || o.sparse < 0) return Usage();
  std::printf("# ringkv-gossip-sim: 1 s rounds, fanout %d + %d monitored subjects, %d heartbeats per "
              "message (0: all), loss %.3f, delay %d-%d ms, %.1f%% starved (rounds and message "
              "handling up to %d ms late);\n# phi threshold %.1f, min sigma %.0f ms, pause %.0f ms, "
              "verify %.0f ms; %d pause/resume trials per size\n",
              o.fanout, o.subjects, o.sparse, o.loss, o.delay_min_ms, o.delay_max_ms, o.starved * 100,
              o.starve_max_ms, o.detector.threshold, o.detector.min_std_dev_ms,
              o.detector.acceptable_pause_ms, o.detector.verify_ms, o.trials);
  std::printf("# fact/join: seconds (= rounds) until every live node knows; conv: seconds from the "
              "pause until the first / median / every live non-starved node convicted it (p50 "
              "over trials; all: p50 p99 max); up: from the resume until every one takes it up\n");
  std::printf("%6s %5s %6s %6s %7s %5s %5s %5s %5s %5s %5s %5s %9s %9s %9s %9s %9s %6s %6s\n",
              "nodes", "log3N", "fact_s", "join_s", "joinall", "c1st", "cmed", "call", "c99",
              "cmax", "up50", "up99", "B/nd/rd=", "B/nd/rd~", "digestB", "falseLive", "falseStrv",
              "sim_s", "wall_s");
  for (int n : o.sizes) {
    Sim sim(n, o);
    Result r = sim.Run();
    std::printf("%6d %5.2f %6.1f %6.1f %7.1f %5.1f %5.1f %5.1f %5.1f %5.1f %5.1f %5.1f %9.0f %9.0f "
                "%9.0f %9.3f %9.3f %6.0f %6.1f\n",
                r.n, std::log(double(r.n)) / std::log(3.0), r.fact_s, r.join_s, r.join_full_s,
                Pct(r.convict_first, 50), Pct(r.convict_median, 50), Pct(r.convict_all, 50),
                Pct(r.convict_all, 99), Pct(r.convict_all, 100), Pct(r.up_all, 50),
                Pct(r.up_all, 99), r.bytes_agree, r.bytes_churn, r.bytes_agree_digest,
                r.false_live_per_hour, r.false_starved_per_hour, r.sim_s, r.wall_s);
    std::printf("#   %d false convictions of live nodes, %d of starved nodes, over %.2f node-hours "
                "after the %.0f s warm-up (%d convictions during it)\n",
                static_cast<int>(r.false_live), static_cast<int>(r.false_starved), r.observed_hours,
                sim.warm_ms() / 1000.0, static_cast<int>(sim.false_warm()));
    std::fflush(stdout);
  }
  std::printf("# B/nd/rd= : bytes sent per node per round with views agreeing; B/nd/rd~ : the same "
              "while the new fact spread;\n# digestB: a full-digest SYN x fanout (Cassandra's, "
              "without the view hash), for comparison.\n"
              "# falseLive/falseStrv: convictions of live (non-starved / starved) nodes per node-hour "
              "(every node judges; the paused node of a trial is not counted).\n");
  return 0;
}

}  // namespace
}  // namespace ringkv::gossip

int main(int argc, char** argv) { return ringkv::gossip::Main(argc, argv); }
