// The failure detector of one gossip agent: a phi-accrual detector per watched peer (Hayashibara
// et al.; as Cassandra and Akka), fed by the arrivals of the peer's own messages, with a
// verification stage (SWIM's probe) and made robust as HashiCorp's Lifeguard made SWIM robust:
//  - suspicion, then conviction: phi at the threshold only suspects a peer (TakeSuspects: the
//    caller probes it); it is convicted when nothing arrives from it for verify_ms. Verify()
//    suspects a peer whatever its phi (someone else convicted it: check it yourself);
//  - local health: the agent tells the detector when its own rounds run late; a starved agent
//    raises its timeouts (elapsed times are divided by 1 + local health, verifications wait
//    1 + local health times longer) and does not count the time it was not running against
//    anyone, instead of convicting its peers; a peer's own announced health lengthens its
//    verification too (a starved peer answers late);
//  - refutation: a convicted peer that shows a newer heartbeat is cleared at once;
//  - flap damping: each recovery adds a penalty that decays with a half-life; past a threshold
//    the peer is held down until the penalty decays, so the hold grows with the flapping.
// "Down" is this agent's local judgement: it is never gossiped as a fact about another node.
// Which peers are watched, and what counts as an arrival, is the Gossiper's business
// (gossiper.h: its monitored subjects, judged by phi; the nodes it checks, by verification).
//
// Time is passed in (milliseconds of any monotonic clock, virtual in the simulator). Pure: no
// clock, no I/O. Thread-safety: none; the gossip agent's reactor thread owns it.
//
// DEFAULTS (docs/gossip-protocol.md, "Failure detector"): arrivals are a subject's answers to
// this agent's round SYN, one a round with a few ms of jitter, so the spread hits its floor
// (100 ms) and no pause needs tolerating: phi 8 (normal distribution, as Akka; Cassandra's
// exponential one reaches 8 only ~18 s after the last heartbeat) comes 1 s + 5.2 sigma ~ 1.5 s
// after the last answer; the probes then get verify_ms (400 ms) to be answered. A lost answer
// (1-2% of rounds) is a suspicion that the next probe clears, never a conviction. In the
// simulation (ringkv-gossip-sim) a paused node is convicted everywhere ~2-2.4 s (p50) and
// within ~3 s (p99) after the pause at 10-5,000 nodes, with 1% loss and 2% starved nodes.
// Before (relayed heartbeats, tolerated pause 1 s, floor 200 ms) it took 3.5-8.6 s.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace ringkv::gossip {

struct DetectorOptions {
  double threshold = 8.0;            // phi at and above which a peer is suspected
  size_t window = 100;               // inter-arrival samples kept per peer
  double min_std_dev_ms = 100.0;     // floor on the estimated spread (regular arrivals)
  double acceptable_pause_ms = 0.0;  // added to the mean (arrivals are direct: no hops to miss)
  double first_interval_ms = 1000.0; // the estimate before any sample: one gossip round
  // An arrival this soon after the previous one moves the last arrival but adds no sample: in
  // a small cluster a peer's own SYNs come on top of the answers to ours, at random phases,
  // and their spread would make phi slow for nothing.
  double merge_ms = 500.0;
  // A suspected peer (phi at the threshold, or Verify) is convicted when nothing arrives from
  // it for verify_ms (times 1 + local health) after the suspicion: the caller probes it in the
  // meantime (TakeSuspects). 0: convicted as soon as phi reaches the threshold.
  double verify_ms = 400.0;
  // A peer watched before this many real inter-arrival samples (restored from the ring store,
  // or just joined) is convicted only after bootstrap_timeout_ms of silence: its heartbeats
  // may still be on their way through the cluster.
  size_t min_samples = 3;
  double bootstrap_timeout_ms = 10000.0;
  // Local health (Lifeguard): a round that starts more than late_fraction of an interval
  // after its time raises the score by one per late_fraction of an interval it is late
  // beyond the first (at least one), up to max_local_health; an on-time round lowers it by
  // one. Elapsed times are divided by 1 + score; verifications wait 1 + score times longer.
  double late_fraction = 0.5;
  int max_local_health = 8;
  double health_memory_ms = 30000.0;
  // Flap damping (as BGP route-flap damping): penalty per recovery, decaying with the
  // half-life; at flap_suppress the peer is held down until the penalty decays to flap_reuse.
  // Five recoveries within about a minute are flapping; three partitions healed within 40 s
  // (the fault suite's short profile) are not, and holding a node down for a minute after them
  // made every r=all and w=all `unavailable` for that minute.
  double flap_penalty = 1.0;
  double flap_suppress = 5.0;
  double flap_reuse = 2.5;
  double flap_half_life_ms = 30000.0;
  double flap_max_penalty = 16.0;    // caps the hold at half_life * log2(16 / 2.5) ~ 2.7 half-lives
};

class PhiDetector {
 public:
  explicit PhiDetector(DetectorOptions options = {});

  // A newer heartbeat of `id` arrived at `now_ms` (a first one starts watching `id`, as up).
  // `new_generation`: the node restarted (its intervals start afresh). A convicted peer not
  // held by flap damping is cleared at once (refutation).
  void Heartbeat(const std::string& id, int64_t now_ms, bool new_generation = false);
  // Stops watching `id` (removed from the cluster).
  void Forget(const std::string& id);
  // Judges `id` by phi from now on (watching it, as up, if it was not: no arrival yet, so the
  // bootstrap timeout applies).
  void Watch(const std::string& id, int64_t now_ms);
  // Stops judging `id` by phi; forgotten at once when up and not suspected, else kept (its
  // conviction, its verification and its flap penalty stay) until it is up and settled.
  void Unwatch(const std::string& id);
  // Suspects `id` now whatever its phi (someone else convicted it): watched if it was not,
  // without phi; convicted unless an arrival comes within verify_ms. No effect on a peer
  // already down or already suspected.
  void Verify(const std::string& id, int64_t now_ms);
  // The peer's own local health, as it announced it (a starved peer answers late): its
  // verification waits verify_ms * (1 + local health here + its health) (capped at 8 each).
  void SetPeerHealth(const std::string& id, uint64_t health);
  uint64_t PeerHealth(const std::string& id) const;
  bool IsSuspected(const std::string& id) const;
  // Peers whose phi reached the threshold since the last call (the caller probes them).
  std::vector<std::string> TakeSuspects();

  // Phi of `id` now, local health applied; 0 for a peer not watched.
  double Phi(const std::string& id, int64_t now_ms) const;
  bool IsUp(const std::string& id) const;  // false for a peer not watched
  bool IsWatched(const std::string& id) const { return peers_.count(id) != 0; }
  // Milliseconds since the last heartbeat of `id` (-1 when not watched).
  int64_t SinceLastMs(const std::string& id, int64_t now_ms) const;

  struct Transition {
    std::string id;
    bool up = false;
    bool operator==(const Transition&) const = default;
  };
  // Convicts the peers whose phi reached the threshold and lets held peers with fresh
  // heartbeats up once their hold ends; returns every change since the last call (including
  // the recoveries Heartbeat made), in the order they happened.
  std::vector<Transition> Evaluate(int64_t now_ms);

  // The gossip round meant for `scheduled_ms` started at `started_ms`. A late round raises the
  // local health score and shifts every peer's last arrival by the lateness: time this agent
  // was not running is no evidence against anyone.
  void RoundRan(int64_t scheduled_ms, int64_t started_ms, int64_t interval_ms);
  int local_health() const { return local_health_; }
  // What this agent announces to its peers (`lh`): its highest score of the last
  // health_memory_ms, decaying by one per health_memory_ms / max_local_health, so a node that
  // was starved a moment ago still gets the patience it needs when its next answer is late.
  int announced_health(int64_t now_ms) const;

  struct Counters {
    uint64_t suspicions = 0;   // phi reached the threshold (Verify not counted)
    uint64_t refuted = 0;      // suspicions cleared by an arrival in time
    uint64_t convictions = 0;
    uint64_t recoveries = 0;
    uint64_t held = 0;  // recoveries refused by flap damping
    uint64_t late_rounds = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Peer {
    std::vector<float> samples;  // ring buffer of inter-arrival ms
    size_t next = 0;
    size_t real = 0;             // samples from arrivals (not the seed estimate)
    double sum = 0, sum_sq = 0;
    int64_t last_ms = 0;
    bool up = true;
    double penalty = 0;
    int64_t penalty_ms = 0;
    int64_t held_until_ms = 0;
    bool judged = true;         // by phi (a subject); else only by verification
    int64_t suspect_ms = -1;    // suspected since (-1: not suspected)
    int health = 0;             // the peer's own local health, as last announced
  };
  void Seed(Peer* p) const;
  void AddSample(Peer* p, double ms) const;
  double PhiOf(const Peer& p, int64_t now_ms) const;
  double DecayedPenalty(const Peer& p, int64_t now_ms) const;
  void Recover(const std::string& id, Peer* p, int64_t now_ms);

  const DetectorOptions options_;
  std::unordered_map<std::string, Peer> peers_;
  std::vector<Transition> pending_;
  std::vector<std::string> suspects_;
  int local_health_ = 0;
  int peak_health_ = 0;       // the highest score lately, and when it was reached
  int64_t peak_ms_ = 0;
  Counters counters_;
};

}  // namespace ringkv::gossip
