// The coordinator's figures: its registry (docs/metrics.md), the per-request accounting of
// answered requests (counter by op and code, latency, quorum failures) and the slow-request
// log. Runs on the reactor thread; the registry renders from any thread.
#include <algorithm>

#include "common/logging.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_state.h"

namespace ringkv::coordinator {

namespace {

// Index 0 is a request that did not parse; then ClientOp's order.
constexpr const char* kOpNames[6] = {"invalid", "put", "get", "delete", "ping", "status"};

}  // namespace

CoordinatorStats::CoordinatorStats(metrics::Registry& r)
    : requests(*r.AddCounter("client_messages_total",
                             "Client messages received, parsed or not.", "requests")),
      errors(*r.AddCounter("client_errors_total", "Error replies sent to clients.", "errors")),
      read_repairs(*r.AddCounter("read_repairs_total",
                                 "Replicas sent a newer state after a read found them stale.",
                                 "read_repairs")),
      replicas_marked_down(*r.AddCounter(
          "replicas_marked_down_total", "Agents that went from usable to not (any reason).",
          "replicas_marked_down")),
      suspicions(*r.AddCounter("suspicions_total",
                               "Local suspicions: missed deadlines, full backlogs, refused sends.",
                               "suspicions")),
      views(*r.AddCounter("views_total", "Views received from this node's gossip agent.",
                          "views")),
      hints_sent(*r.AddCounter("hints_sent_total",
                               "Writes left with a gossip agent for a replica that missed them.",
                               "hints_sent")),
      hints_refused(*r.AddCounter("hints_refused_total",
                                  "Hints refused or unanswered by their holder (then retried).",
                                  "hints_refused")),
      hints_unplaced(*r.AddCounter(
          "hints_unplaced_total", "Replicas left with neither the write nor a stored hint of it.",
          "hints_unplaced")),
      hint_room_refusals(*r.AddCounter("hint_room_refusals_total",
                                       "Writes refused unavailable: no room for their hints.",
                                       "hint_room_refusals")),
      backlog_refusals(*r.AddCounter(
          "backlog_refusals_total",
          "Sends refused: the agent had --max-peer-backlog requests unanswered.",
          "backlog_refusals")),
      quorum_failures(*r.AddCounter(
          "quorum_failures_total",
          "Data requests answered unavailable or timeout: the quorum was not reached.",
          "quorum_failures")),
      requests_by(r.AddCounterFamily("requests_total", "Client requests answered, by op and code.",
                                     {"op", "code"})),
      latency_by(r.AddHistogramFamily("request_duration_seconds",
                                      "Client request latency, arrival to reply, by op.",
                                      metrics::Unit::kMicroseconds, {"op"})),
      latency(r.AddHistogram("data_request_duration_seconds",
                             "Latency of every put, get and delete, arrival to reply.",
                             metrics::Unit::kMicroseconds)),
      siblings(r.AddHistogram("get_siblings", "Versions (siblings) a get reply carries.",
                              metrics::Unit::kNone)) {
  r.AddTopK("hot_key_requests",
            "Requests of the hottest keys (space-saving top-32; counts are upper bounds).",
            &hot_keys);
}

void Coordinator::CountReply(int op, std::optional<ErrorCode> code, int64_t start_us,
                             const ClientRequest* req) {
  const int oi = std::clamp(op + 1, 0, 5);
  const int ci = code ? std::clamp(static_cast<int>(*code) + 1, 1, 8) : 0;
  metrics::Counter*& counter = request_counters_[oi][ci];
  if (counter == nullptr) {
    counter = stats_.requests_by->With({kOpNames[oi], code ? ErrorCodeName(*code) : "ok"});
  }
  ++*counter;
  const int64_t elapsed = std::max<int64_t>(0, metrics::MonotonicMicros() - start_us);
  metrics::Histogram*& h = latency_by_op_[oi];
  if (h == nullptr) h = stats_.latency_by->With({kOpNames[oi]});
  h->Observe(static_cast<uint64_t>(elapsed));
  const bool data = oi >= 1 && oi <= 3;
  if (data) {
    stats_.latency->Observe(static_cast<uint64_t>(elapsed));
    if (code && (*code == ErrorCode::kUnavailable || *code == ErrorCode::kTimeout)) {
      ++stats_.quorum_failures;
    }
  }
  if (opts_.slow_request_ms > 0 && elapsed >= opts_.slow_request_ms * 1000) {
    RINGKV_LOG(kWarn) << "slow request id=" << (req ? req->id : std::string()) << " op="
                      << kOpNames[oi] << " key_bytes=" << (req ? req->key.size() : 0)
                      << " code=" << (code ? ErrorCodeName(*code) : "ok")
                      << " took_ms=" << elapsed / 1000 << " (--slow-request-ms "
                      << opts_.slow_request_ms << ")";
  }
}

void Coordinator::PublishGauges() {
  size_t up = 0;
  for (size_t i = 0; i < node_peer_.size(); ++i) up += Live(node_peer_[i]) ? 1 : 0;
  members_up_->Set(static_cast<double>(up));
  members_down_->Set(static_cast<double>(node_peer_.size() - up));
  ops_in_flight_->Set(static_cast<double>(ops_.size()));
}

}  // namespace ringkv::coordinator
