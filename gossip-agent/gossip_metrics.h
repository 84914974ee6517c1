// GossipMetrics: the gossip agent's metrics registry (docs/metrics.md). The agent's figures
// live on its reactor thread; Publish (called from that thread every second and whenever the
// stats op runs) copies them into a snapshot that the registry renders from any thread.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/registry.h"
#include "common/protocol/gossip_protocol.h"

namespace ringkv::gossip {

class GossipMetrics {
 public:
  explicit GossipMetrics(const std::string& node);

  const metrics::Registry& registry() const { return registry_; }
  // stats: the `stats` op's counters and levels (keys as that op names them); view: the
  // members as this agent sees them now. A key the figure table (gossip_metrics.cc) does not
  // declare is exposed too, as a gauge named after it: a counter added to the stats op shows
  // up at once (declare it in the table to give it its type and help).
  void Publish(const std::vector<std::pair<std::string, uint64_t>>& stats,
               const gossip_protocol::ViewPush& view);

 private:
  struct Member {
    std::string id, state;
    bool up = false;
    double phi = 0;
  };
  std::vector<metrics::Sample> StatsSamples(const std::string& key) const;

  void Register(const std::string& key, metrics::Type type, const std::string& help);

  metrics::Registry registry_;
  std::set<std::string> registered_;  // stats keys with a metric; only Publish's thread adds
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, uint64_t>> stats_;  // by mu_
  std::vector<Member> members_;                          // by mu_
};

}  // namespace ringkv::gossip
