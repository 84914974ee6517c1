// WriteBatcher (see write_batcher.h).
#include "storage-agent/write_batcher.h"

#include "common/logging.h"
#include "common/protocol/storage_protocol.h"

namespace ringkv::storage {

namespace sp = storage_protocol;

namespace {

// The batch is committed once it holds this many writes or bytes (and at the end of every pass).
constexpr size_t kMaxBatchWrites = 64;
constexpr size_t kMaxBatchBytes = 1u << 20;
constexpr int64_t kSlowCommitMs = 25;
constexpr int64_t kSlowCommitPauseMs = 500;

}  // namespace

WriteBatcher::WriteBatcher(ReplicaStore* store, net::Reactor* reactor, ServerCounters* counters,
                           Reply reply, std::function<void()> before_commit)
    : store_(store),
      reactor_(reactor),
      counters_(counters),
      reply_(std::move(reply)),
      before_commit_(std::move(before_commit)) {}

WriteBatcher::~WriteBatcher() {
  if (unpause_timer_) reactor_->CancelTimer(unpause_timer_);
}

void WriteBatcher::Defer(net::Frames route, uint64_t rid, bool durable_ack, std::string body) {
  deferred_.push_back(DeferredReply{std::move(route), rid, durable_ack, std::move(body)});
  if (batch_.size() >= kMaxBatchWrites || batch_.bytes() >= kMaxBatchBytes) Commit();
}

void WriteBatcher::Commit() {
  // Early update replies leave before the fsync: the coordinator forwards their states to the
  // other replicas while this one waits for its disk.
  before_commit_();
  const int64_t start = net::NowMs();
  Status cs = store_->CommitBatch(&batch_);
  if (const int64_t now = net::NowMs(); now - start > kSlowCommitMs) {
    if (!paused_) {
      RINGKV_LOG(kInfo) << "frontend write batch took " << now - start
                        << " ms: writes go to the workers for " << kSlowCommitPauseMs << " ms";
    }
    paused_ = true;
    if (unpause_timer_) reactor_->CancelTimer(unpause_timer_);
    unpause_timer_ = reactor_->AddTimer(kSlowCommitPauseMs, [this] {
      paused_ = false;
      unpause_timer_ = 0;
    });
  }
  if (!deferred_.empty()) ++counters_->write_batches;
  for (DeferredReply& d : deferred_) {
    if (cs.ok()) {
      reply_(d.route, d.body);
    } else {
      ++counters_->errors;
      sp::Reply failed = sp::ErrorReply(d.rid, sp::ErrorCodeOf(cs), cs.message());
      if (d.durable_ack) failed.durable = true;
      reply_(d.route, sp::EncodeReply(failed));
    }
  }
  if (!cs.ok()) {
    RINGKV_LOG(kError) << "frontend write batch: " << cs.ToString();
  }
  deferred_.clear();
}

}  // namespace ringkv::storage
