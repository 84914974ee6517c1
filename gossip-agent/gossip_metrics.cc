// The gossip agent's registry, rendered from a snapshot the reactor publishes (see
// gossip_metrics.h).
#include "gossip-agent/gossip_metrics.h"

#include <algorithm>
#include <map>

namespace ringkv::gossip {

namespace {

using metrics::Type;

struct Figure {
  const char* key;  // in the stats op
  Type type;
  const char* help;
};

// Every figure of the stats op, with its type and meaning. A counter's metric name is its key
// plus _total; a gauge's is its key.
constexpr Figure kFigures[] = {
    {"rounds", Type::kCounter, "Gossip rounds run."},
    {"sent_messages", Type::kCounter, "Gossip messages sent."},
    {"sent_bytes", Type::kCounter, "Gossip bytes sent."},
    {"received_messages", Type::kCounter, "Gossip messages received."},
    {"received_bytes", Type::kCounter, "Gossip bytes received."},
    {"rejected_messages", Type::kCounter, "Gossip messages rejected (malformed, wrong cluster)."},
    {"bad_requests", Type::kCounter, "Malformed requests on the agent's socket."},
    {"send_failures", Type::kCounter, "Sends to peers that failed."},
    {"reply_drops", Type::kCounter, "Replies dropped (the requester was gone)."},
    {"members", Type::kGauge, "Members in this agent's view."},
    {"down", Type::kGauge, "Members this agent's detector holds down."},
    {"generation", Type::kGauge, "This agent's generation (grows with every restart)."},
    {"view_version", Type::kGauge, "Version of the view pushed to coordinators."},
    {"hash_matched", Type::kCounter, "Digest exchanges whose hashes matched."},
    {"hash_mismatched", Type::kCounter, "Digest exchanges whose hashes differed."},
    {"entries_merged", Type::kCounter, "Member entries merged from peers."},
    {"self_refuted", Type::kCounter, "Rumours about this node refuted."},
    {"members_refused", Type::kCounter, "Member entries refused."},
    {"convictions", Type::kCounter, "Members the detector convicted (judged down)."},
    {"recoveries", Type::kCounter, "Members the detector saw come back."},
    {"late_rounds", Type::kCounter, "Rounds that ran late (this agent was slow)."},
    {"local_health", Type::kGauge, "Local health score (0 healthy; higher: this agent lags)."},
    {"transitions", Type::kCounter, "Up/down transitions published."},
    {"saves", Type::kCounter, "Membership saves to ring.db."},
    {"watchers", Type::kGauge, "Coordinators watching the view."},
    {"hints_pending", Type::kGauge, "Hints held for delivery (hinted handoff)."},
    {"hints_pending_bytes", Type::kGauge, "Bytes of the hints held."},
    {"hints_delivered", Type::kCounter, "Hints acknowledged by their target and removed."},
    {"hint_delivery_failures", Type::kCounter, "Hint deliveries that timed out or failed."},
    {"hints_expired", Type::kCounter, "Hints dropped undelivered, older than --hint-window."},
    {"hint_groups", Type::kCounter, "Transactions that stored hints (one fsync each)."},
    {"hints_grouped", Type::kCounter, "Hint requests stored by those transactions."},
    {"repair_exchanges", Type::kCounter, "Anti-entropy exchanges run (one range each)."},
    {"repair_ranges_complete", Type::kCounter, "Ranges compared completely on every replica."},
    {"repair_ranges_incomplete", Type::kCounter, "Ranges left incomplete (a replica missing)."},
    {"repair_keys_sent", Type::kCounter, "Key states sent to replicas by anti-entropy."},
    {"repair_bytes", Type::kCounter, "Bytes anti-entropy exchanged with storage agents."},
    {"repair_jobs_complete", Type::kCounter, "Repair jobs that compared every range."},
    {"repair_jobs_incomplete", Type::kCounter, "Repair jobs that ended with a range incomplete."},
};

}  // namespace

GossipMetrics::GossipMetrics(const std::string& node)
    : registry_("ringkv_gossip", {{"node", node}}) {
  for (const Figure& f : kFigures) Register(f.key, f.type, f.help);
  registry_.AddCallback("members_by_state", "Members in the view by ring state and up/down.",
                        Type::kGauge, {"state", "up"}, [this] {
                          std::map<std::pair<std::string, std::string>, double> n;
                          std::lock_guard<std::mutex> lock(mu_);
                          for (const Member& m : members_) n[{m.state, m.up ? "1" : "0"}] += 1;
                          std::vector<metrics::Sample> out;
                          for (const auto& [k, v] : n) out.push_back({{k.first, k.second}, v});
                          return out;
                        });
  registry_.AddCallback("member_phi", "The failure detector's phi for each member (0: itself).",
                        Type::kGauge, {"member"}, [this] {
                          std::vector<metrics::Sample> out;
                          std::lock_guard<std::mutex> lock(mu_);
                          for (const Member& m : members_) out.push_back({{m.id}, m.phi});
                          return out;
                        });
  registry_.AddCallback("member_up", "1 when this agent judges the member up.", Type::kGauge,
                        {"member"}, [this] {
                          std::vector<metrics::Sample> out;
                          std::lock_guard<std::mutex> lock(mu_);
                          for (const Member& m : members_)
                            out.push_back({{m.id}, m.up ? 1.0 : 0.0});
                          return out;
                        });
}

void GossipMetrics::Register(const std::string& key, Type type, const std::string& help) {
  registered_.insert(key);
  const std::string name = type == Type::kCounter ? key + "_total" : key;
  registry_.AddCallback(name, help, type, {}, [this, key] { return StatsSamples(key); });
}

std::vector<metrics::Sample> GossipMetrics::StatsSamples(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [k, v] : stats_) {
    if (k == key) return {metrics::Sample{{}, static_cast<double>(v)}};
  }
  return {};
}

void GossipMetrics::Publish(const std::vector<std::pair<std::string, uint64_t>>& stats,
                            const gossip_protocol::ViewPush& view) {
  for (const auto& [key, value] : stats) {
    if (registered_.count(key) != 0) continue;
    const bool valid_name = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (valid_name) {
      Register(key, Type::kGauge, "The gossip stats op's " + key + " (type not declared).");
    } else {
      registered_.insert(key);  // not a valid metric name: the stats op still reports it
    }
  }
  std::vector<Member> members;
  members.reserve(view.members.size());
  for (const auto& m : view.members) {
    members.push_back(
        Member{m.entry.id, gossip_protocol::MemberStateName(m.entry.state), m.up, m.phi});
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = stats;
  members_ = std::move(members);
}

}  // namespace ringkv::gossip
