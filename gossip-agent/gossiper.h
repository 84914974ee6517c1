// One gossip agent's gossip, without sockets or clock: the membership table, the failure
// detector and the round's peer choice put together behind the three events a transport has
// (a round is due, a message arrived, time passed). The ringkv-gossip reactor will own one and
// move its bytes over ZeroMQ; the simulator (bench/gossip_sim.cc) runs thousands of them over a
// virtual clock and network. Replies go to the message's sender by node id; mapping an id to
// an endpoint (NodeEntry::gossip_endpoint) is the transport's business.
//
// Thread-safety: none; one thread owns a Gossiper.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
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
  // Run a failure detector. Off only in the simulator, on most of its nodes, to fit 5,000
  // tables in memory (docs/gossip-protocol.md, "Simulation"); then every peer counts as live.
  bool detect = true;
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
  std::vector<PhiDetector::Transition> Evaluate(int64_t now_ms);

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
  };
  const Counters& counters() const { return counters_; }

 private:
  PeerStatus StatusAt(size_t index) const;
  void Apply(const std::vector<PhiDetector::Transition>& t);

  const GossiperOptions options_;
  Membership membership_;
  PhiDetector detector_;
  std::mt19937_64 rng_;
  std::vector<std::string> down_;
  int64_t now_ms_ = 0;  // the time of the event being handled, for the heartbeat callback
  Counters counters_;
};

}  // namespace ringkv::gossip
