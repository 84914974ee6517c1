// ringkv-gossip-sim: the real gossip code (gossip-agent/gossiper.h: membership, detector,
// round) over a virtual clock and a simulated network, in one process, at 10 to 5,000 nodes.
// Messages are encoded and decoded as on the wire, lost with a probability and delayed; a
// fraction of nodes is starved (their rounds and their message handling run late). Prints, per
// cluster size: rounds and seconds until a new fact and a new node are known everywhere, until
// a dead node is convicted everywhere, bytes per node per round with views agreeing and while a
// fact spreads, and false convictions per node-hour. docs/gossip-protocol.md, "Simulation".
//
// Memory: every node keeps a full table (N^2 slots of 24 bytes); failure detectors, which keep
// a window of samples per peer, run on every node up to --all-detect-max nodes and on
// --observers random nodes above, where "everywhere" means "on every observer".
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
  int observers = 100;
  int all_detect_max = 200;
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
  double fact_s = -1, join_s = -1, join_full_s = -1, convict_max_s = -1, convict_med_s = -1;
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
    Build();
    const double k = o_.steady_scale;
    const int64_t warm = WarmMs();
    // Bounded wall time: the cost of a simulated second grows as N^2 (N nodes, N heartbeats).
    const int64_t steady = static_cast<int64_t>(k * (n_ <= 10 ? 600000 : n_ <= 100 ? 300000 : n_ <= 1000 ? 30000 : 3000));
    Result r;
    r.n = n_;
    r.observers = static_cast<int>(observer_ids_.size());

    RunUntil(warm);
    // Views agree: bytes per node per round.
    uint64_t b0 = SentBytes();
    RunUntil(warm + steady);
    r.bytes_agree = double(SentBytes() - b0) / (double(Live()) * double(steady) / 1000.0);
    // What the same rounds would cost with full digests (Cassandra's SYN), for comparison.
    r.bytes_agree_digest = DigestSynBytes();

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

    // Let the new node's detector learn the rhythm (min_samples) before a node dies (when it
    // has one: with sampled observers it has not).
    if (n_ <= o_.all_detect_max) RunUntil(now_ + 5000);
    // A node dies: SIGKILL, silent from now on.
    // Not a seed; with observers sampled, not an observer (when all detect, dead ones just
    // stop counting).
    int d = RandomNode(/*avoid_starved=*/true);
    bool sampled = observer_ids_.size() < size_t(Size());
    for (int tries = 0; tries < 1000 && (d < 3 || (sampled && is_observer_[d])); ++tries) {
      d = RandomNode(true);
    }
    alive_[d] = false;
    dead_id_ = nodes_[d]->membership().self_id();
    int64_t t2 = now_;
    std::vector<double> convicted;
    r.convict_max_s = Until(t2, 30000, [&] {
      size_t count = 0;
      // Starved observers raise their timeouts (local health) by design: counted apart.
      for (int i : observer_ids_) {
        if (!alive_[i] || starved_[i] || nodes_[i]->IsUp(dead_id_)) continue;
        ++count;
      }
      return count == LiveObservers();
    });
    for (int i : observer_ids_) {
      if (alive_[i] && !starved_[i] && conviction_ms_[i] >= 0) {
        convicted.push_back(double(conviction_ms_[i] - t2) / 1000.0);
      }
    }
    std::sort(convicted.begin(), convicted.end());
    if (!convicted.empty()) r.convict_med_s = convicted[convicted.size() / 2];

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
  int Size() const { return static_cast<int>(nodes_.size()); }
  int Live() const { return static_cast<int>(std::count(alive_.begin(), alive_.end(), true)); }
  size_t LiveObservers() const {  // live and not starved
    size_t c = 0;
    for (int i : observer_ids_) c += alive_[i] && !starved_[i];
    return c;
  }

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
    go.seeds = {Id(0), Id(1), Id(2)};
    // Build() chose the observers; a node that joins later detects when every node does.
    bool detect = i < static_cast<int>(is_observer_.size()) ? is_observer_[i] : (n_ <= o_.all_detect_max);
    go.detect = detect;
    nodes_.push_back(std::make_unique<Gossiper>(Entry(i), go, rng_()));
    alive_.push_back(true);
    starved_.push_back(i >= 3 && Uniform() < o_.starved);
    conviction_ms_.push_back(-1);
    if (static_cast<int>(is_observer_.size()) <= i) is_observer_.push_back(detect);
    if (detect && std::find(observer_ids_.begin(), observer_ids_.end(), i) == observer_ids_.end()) {
      observer_ids_.push_back(i);
    }
    int64_t phase = std::uniform_int_distribution<int64_t>(0, 999)(rng_);
    Push({now_ + phase, 0, Ev::kRound, i, now_ + phase, 0});
    return i;
  }

  void Build() {
    is_observer_.assign(n_, n_ <= o_.all_detect_max);
    if (n_ > o_.all_detect_max) {
      std::vector<int> all(n_);
      for (int i = 0; i < n_; ++i) all[i] = i;
      std::shuffle(all.begin(), all.end(), rng_);
      // Detectors dominate the cost at 5,000 nodes: at most 250,000 watched pairs.
      int observers = std::min(o_.observers, std::max(10, 250000 / n_));
      for (int k = 0; k < observers && k < n_; ++k) is_observer_[all[k]] = true;
    }
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
        return;
      }
      case Ev::kTick: {
        // Every tick, every live observer runs its detector.
        for (int i : observer_ids_) {
          if (!alive_[i]) continue;
          if (now_ >= WarmMs()) observed_ms_ += TickMs();
          for (const auto& tr : nodes_[i]->Evaluate(now_)) {
            if (tr.up) continue;
            if (tr.id == dead_id_) {
              if (conviction_ms_[i] < 0) conviction_ms_[i] = now_;
              continue;
            }
            int target = std::atoi(tr.id.c_str() + 1);
            if (now_ < WarmMs()) {
              ++false_warm_;
            } else if (target >= 0 && target < Size() && alive_[target]) {
              if (starved_[target]) ++false_starved_; else ++false_live_;
            }
          }
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
  // How often observers run their detectors: every 100 ms, 200 ms above 1,000 nodes (then
  // conviction times are 0.2 s coarse).
  int64_t TickMs() const { return n_ <= 1000 ? 100 : 200; }
  const int n_;
  const SimOptions o_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Gossiper>> nodes_;
  std::vector<bool> alive_, starved_, is_observer_;
  std::vector<int> observer_ids_;
  std::vector<int64_t> conviction_ms_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> q_;
  std::vector<std::string> slab_;
  std::vector<size_t> free_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  std::string dead_id_;
  uint64_t false_live_ = 0, false_starved_ = 0, false_warm_ = 0;
  int64_t observed_ms_ = 0;

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
               "       [--observers 100] [--steady-scale 1.0] [--seed 1] [--threshold 8] "
               "[--min-std-ms MS] [--pause-ms MS]\n");
  return 2;
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
    else if (a == "--observers") o.observers = std::atoi(v);
    else if (a == "--steady-scale") o.steady_scale = std::atof(v);
    else if (a == "--seed") o.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--threshold") o.detector.threshold = std::atof(v);
    else if (a == "--min-std-ms") o.detector.min_std_dev_ms = std::atof(v);
    else if (a == "--pause-ms") o.detector.acceptable_pause_ms = std::atof(v);
    else return Usage();
  }
  for (int n : o.sizes) {
    if (n < 4 || n > 10000) return Usage();
  }
  std::printf("# ringkv-gossip-sim: 1 s rounds, fanout %d, loss %.3f, delay %d-%d ms, %.1f%% starved "
              "(rounds and message handling up to %d ms late); phi threshold %.1f, min sigma %.0f ms, "
              "pause %.0f ms\n",
              o.fanout, o.loss, o.delay_min_ms, o.delay_max_ms, o.starved * 100, o.starve_max_ms,
              o.detector.threshold, o.detector.min_std_dev_ms, o.detector.acceptable_pause_ms);
  std::printf("# fact/join/convict: seconds until known (convicted) on every live node (observer); "
              "rounds = seconds at 1 round/s\n");
  std::printf("%6s %5s %6s %7s %6s %7s %8s %8s %10s %10s %10s %9s %9s %7s %7s\n", "nodes", "obs",
              "log3N", "fact_s", "join_s", "joinall", "conv_med", "conv_max", "B/nd/rd=",
              "B/nd/rd~", "digestB/rd", "falseLive", "falseStrv", "sim_s", "wall_s");
  for (int n : o.sizes) {
    Sim sim(n, o);
    Result r = sim.Run();
    std::printf("%6d %5d %6.2f %7.1f %6.1f %7.1f %8.1f %8.1f %10.0f %10.0f %10.0f %9.3f %9.3f %7.0f %7.1f\n",
                r.n, r.observers, std::log(double(r.n)) / std::log(3.0), r.fact_s, r.join_s,
                r.join_full_s, r.convict_med_s, r.convict_max_s, r.bytes_agree, r.bytes_churn,
                r.bytes_agree_digest, r.false_live_per_hour, r.false_starved_per_hour, r.sim_s,
                r.wall_s);
    std::printf("#   %d false convictions of live nodes, %d of starved nodes, over %.2f observer-hours "
                "after the %.0f s warm-up (%d convictions during it)\n",
                static_cast<int>(r.false_live), static_cast<int>(r.false_starved), r.observed_hours,
                sim.warm_ms() / 1000.0, static_cast<int>(sim.false_warm()));
    std::fflush(stdout);
  }
  std::printf("# B/nd/rd= : bytes sent per node per round with views agreeing (SYN+ACK with hash and "
              "varint heartbeats);\n# B/nd/rd~ : the same while the new fact spread; digestB/rd: a "
              "full-digest SYN x fanout (without the view hash), for comparison.\n"
              "# falseLive/falseStrv: convictions of live (non-starved / starved) nodes per "
              "observer node-hour.\n");
  return 0;
}

}  // namespace
}  // namespace ringkv::gossip

int main(int argc, char** argv) { return ringkv::gossip::Main(argc, argv); }
