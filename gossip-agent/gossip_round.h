// One gossip round's choice of peers: a few random live peers, plus now and then a node
// believed down (so a node that comes back is heard of even if it knows nobody) and a seed (so
// partitions heal and a new node's state reaches the cluster's seeds). Pure: the randomness
// comes from the caller's generator and the peers from callbacks over the membership order, so
// a 5,000-node table is never copied to pick three peers.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace ringkv::gossip {

struct RoundOptions {
  // Live peers per round. With push-pull, 3 peers make a fact known everywhere in about
  // log3(N) + 1 rounds (docs/gossip-protocol.md, "Simulation").
  int fanout = 3;
};

enum class PeerStatus : uint8_t { kSelf, kLive, kDown, kRemoved };

// The membership as the round sees it: `size` peers addressed by index 0..size-1.
struct PeerView {
  size_t size = 0;
  std::function<const std::string&(size_t)> id;
  std::function<PeerStatus(size_t)> status;
};

// The targets of one round, distinct, never this node:
//  - up to `fanout` random live peers (rejection sampling over the view, then a scan when the
//    live peers are few);
//  - with probability |down| / (|live| + 1), one peer of `down` (Cassandra's rule);
//  - when no target is a seed, with probability |seeds| / (|live| + |down|), or always when no
//    live peer was found, one seed.
std::vector<std::string> PickTargets(const PeerView& view, const std::vector<std::string>& down,
                                     const std::vector<std::string>& seeds,
                                     const std::string& self, const RoundOptions& options,
                                     std::mt19937_64& rng);

}  // namespace ringkv::gossip
