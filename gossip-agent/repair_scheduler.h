// RepairScheduler: the gossip agent's anti-entropy driver (docs/anti-entropy.md, "The driver").
// One thread of its own, with its own sockets (through the ReplicaFactory), so that exchanges,
// their timeouts and the throttle's sleeps never hold up the gossip reactor; the reactor only
// calls Request() and Status(), which take a mutex for a moment.
//
// Jobs are checkpointed in the RepairStore: the ranges planned at the start, each marked done
// when its exchange completed (compared on every replica and repair_mark'ed), with the counters.
// At start the active jobs are resumed. A job makes passes over its ranges not done; a pass
// that leaves some incomplete (a replica not ready, not answering) is retried after a doubling
// pause, and after max_attempts passes the job ends "incomplete" with the reason.
//
// Two kinds of jobs:
//   - manual (`ringkv repair`, repair_start): the ranges of the requested scope, all driven by
//     this agent; runs before any periodic job (a periodic pass in progress waits).
//   - periodic: every interval_ms, the ranges this node drives (first replica), so every range
//     of the ring is compared within the interval by exactly one driver.
// Every byte of every round trip goes through a token bucket of mbps.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/protocol/repair_protocol.h"
#include "common/ring/ring.h"
#include "gossip-agent/aae_exchange.h"
#include "gossip-agent/repair_plan.h"
#include "gossip-agent/repair_store.h"

namespace ringkv::gossip {

struct RepairOptions {
  int64_t interval_ms = 3600 * 1000;  // periodic pass; 0: no periodic repair
  double mbps = 50;                   // throttle, MB (10^6 bytes) per second; <= 0: unthrottled
  int max_attempts = 6;               // passes over a job's remaining ranges before giving up
  int64_t retry_min_ms = 1000;        // pause before the second pass, doubling
  int64_t retry_max_ms = 30000;
  uint32_t ranges_per_exchange = 256;
  size_t keep_finished = 16;          // finished jobs kept in repair.db and reported
  ExchangeOptions exchange;
};

struct RepairCounters {
  uint64_t exchanges = 0;
  uint64_t ranges_complete = 0;
  uint64_t ranges_incomplete = 0;
  uint64_t keys_sent = 0;
  uint64_t bytes = 0;
  uint64_t jobs_complete = 0;
  uint64_t jobs_incomplete = 0;
};

class RepairScheduler {
 public:
  using RingSource = std::function<Result<Ring>()>;
  // A client of one replica's storage agent; the scheduler's thread owns and uses it.
  using ReplicaFactory = std::function<std::unique_ptr<AaeReplica>(const NodeInfo& node)>;
  using Clock = std::function<int64_t()>;  // wall clock, ms

  RepairScheduler(std::string self, RepairStore* store, RingSource ring, ReplicaFactory make,
                  RepairOptions options, Clock clock = nullptr);
  ~RepairScheduler();
  RepairScheduler(const RepairScheduler&) = delete;
  RepairScheduler& operator=(const RepairScheduler&) = delete;

  // Starts the thread (which resumes the active jobs of the store).
  void Start();
  // Stops at the next round trip or sleep slice and joins. Idempotent.
  void Stop();

  // repair_start: queues the job unless one with this req exists; returns its status.
  std::vector<gossip_protocol::RepairJobStatus> Request(
      const gossip_protocol::RepairStartRequest& r);
  // repair_status: the job of `req` (empty when unknown), or all known jobs when req is 0.
  std::vector<gossip_protocol::RepairJobStatus> Jobs(uint64_t req) const;
  RepairCounters counters() const;

  // Set when stopping: clients made by the factory end their waits on it.
  const std::atomic<bool>* stop_flag() const { return &stop_; }
  // Test hook: wakes the thread (as a request does).
  void Wake();

 private:
  struct Summary {
    int64_t id = 0;  // 0 while queued
    gossip_protocol::RepairJobStatus status;
    int64_t retry_at_ms = 0;
    int64_t run_start_ms = 0;   // when this process started working on it
    uint64_t done_at_start = 0;
  };

  void Loop();
  void Resume();
  void TakeRequests();
  bool PickAndRun();
  void RunPass(RepairJob& job);
  bool Pace(uint64_t bytes);
  bool Sleep(int64_t ms);  // false when stopping
  bool ManualPending() const;
  Summary* Find(int64_t id);
  void Publish(const RepairJob& job, const std::string& state);

  const std::string self_;
  RepairStore* const store_;
  const RingSource ring_;
  const ReplicaFactory make_;
  const RepairOptions opts_;
  const Clock clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<gossip_protocol::RepairStartRequest> pending_;
  std::vector<Summary> jobs_;  // by creation; finished ones pruned to keep_finished
  RepairCounters counters_;
  bool wake_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Scheduler thread only.
  int64_t next_periodic_ms_ = 0;
  double bucket_next_ms_ = 0;  // when the bytes sent so far are paid for
};

}  // namespace ringkv::gossip
