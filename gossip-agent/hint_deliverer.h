// HintDeliverer: hands the hints of the HintStore to their target nodes' storage agents with
// the storage protocol's `sync` op (a merge: idempotent, so a hint delivered twice is harmless)
// and removes each hint once the target acknowledged it.
//
// Pacing is by the receiver: per target at most kWindow syncs are in flight and the next one
// goes only when a reply came back, so a slow or busy storage agent slows delivery instead of
// being flooded; a `busy` reply or a timeout backs off (doubling, capped). A target that does not
// answer within the timeout has its DEALER closed and reopened (Lazy Pirate) before the retry.
// Single-threaded: owned and driven by the gossip agent's reactor thread, which polls the
// sockets returned by PollItems() and calls OnReadable/Tick.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gossip-agent/hint_store.h"

namespace ringkv::gossip {

struct HintDeliveryOptions {
  int window = 64;                 // syncs in flight per target
  int timeout_ms = 2000;           // no reply for this long: the target is considered down
  int backoff_min_ms = 250;        // first retry delay after a failure
  int backoff_max_ms = 10000;      // retry delay cap
  int rescan_ms = 500;             // how often the store is asked for targets with hints
  // Hints first stored longer ago than this (wall clock) are dropped, not delivered: anti-entropy
  // repairs what they carried. Must stay below the storage agents' tombstone grace
  // (docs/hinted-handoff.md, "Hint window"). 0: hints never expire.
  int64_t max_age_ms = 3 * 3600 * 1000;
};

struct HintDeliveryStats {
  uint64_t delivered = 0;  // hints acknowledged by their target and removed
  uint64_t failures = 0;   // timeouts and error replies
  uint64_t expired = 0;    // hints dropped undelivered, older than max_age_ms
};

class HintDeliverer {
 public:
  // Maps a node id to its storage agent's endpoint ("" when the node is unknown).
  using EndpointOf = std::function<std::string(const std::string& node_id)>;

  HintDeliverer(zmq::context_t& ctx, HintStore* store, EndpointOf endpoint_of,
                HintDeliveryOptions options = {});
  ~HintDeliverer();

  // Sends what the windows allow, expires timed-out targets, rescans the store. Call it on
  // every reactor wake-up.
  void Tick(int64_t now_ms);
  // The sockets to poll for replies, in a stable order until the next Tick.
  std::vector<zmq::pollitem_t> PollItems();
  // Reads every reply queued on PollItems()[index].
  void OnReadable(size_t index, int64_t now_ms);
  // When the reactor should wake up at the latest for delivery work.
  int64_t NextWakeMs(int64_t now_ms) const;

  const HintDeliveryStats& stats() const { return stats_; }

 private:
  struct Target;
  Target& TargetFor(const std::string& node);
  void Fill(Target& t, int64_t now_ms);
  void Fail(Target& t, int64_t now_ms, const std::string& why);
  void Expire();

  zmq::context_t& ctx_;
  HintStore* const store_;
  const EndpointOf endpoint_of_;
  const HintDeliveryOptions opts_;
  std::map<std::string, std::unique_ptr<Target>> targets_;
  std::vector<Target*> polled_;  // PollItems() order
  int64_t next_rescan_ms_ = 0;
  uint64_t next_rid_ = 1;
  HintDeliveryStats stats_;
};

}  // namespace ringkv::gossip
