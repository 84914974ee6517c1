// One gossip agent's gossip, without sockets or clock: the membership table, the failure
// detector and the round's peer choice put together behind the events a transport has (a round
// is due, a message arrived, time passed). The ringkv-gossip reactor owns one and moves its
// bytes over ZeroMQ; the simulator (bench/gossip_sim.cc) runs thousands of them over a virtual
// clock and network. Replies go to the message's sender by node id; mapping an id to an
// endpoint (NodeEntry::gossip_endpoint) is the transport's business.
//
// FAILURE DETECTION (docs/gossip-protocol.md, "Failure detector"). Gossip messages are O(1) in
// N (a rotating subset of heartbeats), so no agent hears every peer's heartbeat every round.
// Instead:
//  - Each agent monitors `subjects` peers: the next ones after itself on a ring of id hashes
//    (so every node has that many monitors). Its round's SYN goes to them as well as to the
//    random gossip peers; their ACKs, which carry their own heartbeat ("me"), feed a
//    phi-accrual detector per subject with regular, direct arrivals.
//  - When a subject's phi reaches the threshold it is suspected and probed directly (a few
//    SYNs, spaced); when nothing comes from it for verify_ms it is convicted here, and a
//    suspicion rumour [id, heartbeat] is pushed at once to a few random peers and piggybacked
//    on later messages.
//  - An agent that gets a suspicion forwards it once, then checks for itself: it probes the
//    node and convicts it only if the node does not answer within verify_ms. So a conviction
//    never rests on what a third node claims, only on the absence of the node's own fresh
//    heartbeats (a forged suspicion of a live node costs a probe), and a paused process is
//    convicted like a dead one.
//  - A convicted node that shows a fresh heartbeat of its own (it talks to someone, or answers
//    a probe) is up again at once there (flap damping permitting), and an alive rumour spreads
//    the news the same way; receivers take it up and then check it with a probe of their own.
//  - Lifeguard's local health: an agent whose rounds run late raises its own timeouts.
// Only `me` (the sender's own heartbeat) counts as evidence: a heartbeat relayed by a third
// node can be seconds old, and counting it would delay convictions.
//
// Thread-safety: none; one thread owns a Gossiper.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/protocol/gossip_protocol.h"
#include "common/status.h"
#include "gossip-agent/gossip_round.h"
#include "gossip-agent/membership.h"
#include "gossip-agent/phi_detector.h"

namespace ringkv::gossip {

struct GossiperOptions {
  int64_t interval_ms = 1000;  // one round per second, as Cassandra
  RoundOptions round;
  DetectorOptions detector;
  MembershipOptions membership;
  std::vector<std::string> seeds;  // node ids; the caller maps them to endpoints
  // Run a failure detector; without one every peer counts as live.
  bool detect = true;
  // Peers this agent monitors (probes every round, judges by phi): every node has as many
  // monitors. With 3, the first probe after a death comes within ~0.8 s (p99).
  int subjects = 3;
  // A suspected node is probed this many times, this far apart (one lost message is no
  // evidence), within DetectorOptions::verify_ms.
  int probes = 3;
  int64_t probe_spacing_ms = 100;
  // A new rumour goes at once to this many random peers, then rides on every message this
  // agent sends for rumour_ms_per_decade * (1 + ceil(log10(N + 1))) (3 s at 100 nodes, 5 s at
  // 5,000): a few rounds, so that an agent that talks to few peers hears it too.
  int rumour_fanout = 3;
  int64_t rumour_ms_per_decade = 1000;
  // A node held down here is probed every this many ms (plus up to as much again, at random):
  // its return is noticed even if no rumour of it reaches this agent.
  int64_t down_probe_ms = 2000;
  // Remember when each member's heartbeat last advanced (HeartbeatAgeMs: `ringkv status`, the
  // view's age). O(N) per agent; off in the simulator's 5,000 tables.
  bool track_heartbeat_age = true;
  size_t max_rumours_per_message = 8;
};

struct Outgoing {
  std::string to;     // node id
  std::string bytes;  // one encoded gossip_protocol::Message
};

class Gossiper {
 public:
  Gossiper(gp::NodeEntry self, GossiperOptions options, uint64_t random_seed);

  Membership& membership() { return membership_; }
  const Membership& membership() const { return membership_; }
  const PhiDetector& detector() const { return detector_; }

  // The round meant for `scheduled_ms` runs at `now_ms`: this node's heartbeat goes up, the
  // detector learns how late the round is, and the SYN goes to the round's targets.
  std::vector<Outgoing> Round(int64_t scheduled_ms, int64_t now_ms);
  // A message arrived at `now_ms`: merged, and answered (to its sender) when the exchange goes
  // on. InvalidArgument for bytes that are not a valid message; the table is then untouched.
  Result<std::optional<Outgoing>> Receive(std::string_view bytes, int64_t now_ms);
  // Runs the detector: convictions and recoveries since the last call (also kept in down()).
  // Call it every ~100 ms: suspicions, probes and verifications run on it.
  std::vector<PhiDetector::Transition> Evaluate(int64_t now_ms);
  // Messages the agent sends outside a round or a reply: probes of suspected nodes, and new
  // rumours pushed at once. Call after Receive and Evaluate; whatever is left goes out with
  // the next Round.
  std::vector<Outgoing> TakeOutgoing();
  // The peers this agent monitors (see the top of this file).
  const std::vector<std::string>& subjects() const { return subjects_; }
  // Milliseconds since `id`'s heartbeat last advanced here (its own message or a relayed
  // heartbeat); 0 for this node, -1 when unknown. detector().SinceLastMs only knows the peers
  // the detector watches (subjects, checks, nodes held down).
  int64_t HeartbeatAgeMs(const std::string& id, int64_t now_ms) const;

  // This agent's judgement: a watched peer the detector has not convicted, or (without a
  // detector) any member not removed. Never true for a removed node.
  bool IsUp(const std::string& id) const;
  const std::vector<std::string>& down() const { return down_; }

  struct Counters {
    uint64_t rounds = 0;
    uint64_t sent_messages = 0;
    uint64_t sent_bytes = 0;
    uint64_t received_messages = 0;
    uint64_t received_bytes = 0;
    uint64_t rejected_messages = 0;
    uint64_t probes = 0;             // direct probes of suspected nodes
    uint64_t suspicions_heard = 0;   // new suspicion rumours (each checked with a probe)
    uint64_t refutations = 0;        // suspicions of this node answered with a new heartbeat
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Rumour {
    bool suspect = false;  // else alive
    gp::Digest digest;
    uint64_t health = 0;   // suspect: its local health as last heard
    int64_t until_ms = 0;  // rides on every message this agent sends until then
  };
  struct Probing {
    int sent = 0;
    int64_t last_ms = 0;
  };

  PeerStatus StatusAt(size_t index) const;
  void Apply(const std::vector<PhiDetector::Transition>& t);
  bool Judges(const std::string& id) const;  // a member, not removed, not this node
  void UpdateSubjects(int64_t now_ms);
  // Evidence from `id` itself (a message's `me`, or an alive rumour when `relayed`).
  // `same_view`: the message's view hash is ours, so its heartbeat may enter the table.
  void Direct(const std::string& id, gp::Heartbeat hb, int64_t now_ms, bool relayed,
              bool same_view = false);
  void OnSuspect(const gp::Digest& d, uint64_t health, int64_t now_ms);
  void OnAlive(const gp::Digest& d, int64_t now_ms);
  void Probe(const std::string& id, int64_t now_ms);
  void AddRumour(bool suspect, gp::Digest d, uint64_t health, int64_t now_ms);
  // Own heartbeat, local health and up to max_rumours_per_message rumours (the newest).
  void Decorate(gp::Message* m);
  void Send(const std::string& to, const std::string& bytes, std::vector<Outgoing>* out);
  gp::Heartbeat KnownHeartbeat(const std::string& id) const;

  const GossiperOptions options_;
  Membership membership_;
  PhiDetector detector_;
  std::mt19937_64 rng_;
  std::vector<std::string> down_;
  uint64_t down_version_ = 0;
  std::vector<std::string> subjects_;
  uint64_t subjects_key_ = ~0ull;  // view_version + down_version when subjects_ was computed
  // Newest heartbeat heard from each watched peer itself (what "fresh" means).
  std::unordered_map<std::string, gp::Heartbeat> direct_;
  // The newest suspicion of each node acted on (checked and passed on, or refuted for this
  // node) and the newest alive rumour: the copies of one rumour that keep arriving are
  // handled once, and a suspicion older than an alive rumour is outdated.
  std::unordered_map<std::string, gp::Heartbeat> seen_suspect_, seen_alive_;
  std::unordered_map<std::string, Probing> probing_;
  std::unordered_map<std::string, int64_t> next_down_probe_ms_;
  std::vector<Rumour> rumours_;  // newest last
  std::vector<Outgoing> outbox_;
  std::unordered_map<std::string, int64_t> heard_ms_;  // track_heartbeat_age
  int64_t now_ms_ = 0;  // the time of the event being handled (rumours' ages, announced health)
  Counters counters_;
};

}  // namespace ringkv::gossip
