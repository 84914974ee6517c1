// The coordinators that watch this gossip agent's view ({op:"watch"}, docs/gossip-protocol.md,
// "The view"), and the view itself built from the Gossiper. A watcher is remembered by its
// routing id (at most kMaxWatchers; one not heard from for kWatcherTtlMs is dropped); the agent
// pushes the view to every watcher on each change, coalesced to one per kMinPushGapMs, and at
// least every kMaxPushGapMs. Pure: no sockets, time passed in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/protocol/gossip_protocol.h"
#include "gossip-agent/gossiper.h"

namespace ringkv::gossip {

inline constexpr size_t kMaxWatchers = 16;
inline constexpr int64_t kWatcherTtlMs = 10000;
inline constexpr int64_t kMinPushGapMs = 100;
inline constexpr int64_t kMaxPushGapMs = 1000;

// Every member in id order with this agent's judgement of it at `now_ms`.
gp::ViewPush BuildView(const Gossiper& g, int64_t now_ms, uint64_t view_version);

class ViewWatchers {
 public:
  struct Watcher {
    std::vector<std::string> route;  // routing frames
    bool delimiter = false;          // it sends [empty][body]: replies keep that shape
    uint64_t rid = 0;                // of its last watch: pushes carry it
    int64_t heard_ms = 0;
  };

  // A watch arrived (new or renewed). False when the table is full (the caller answers it
  // once with the view anyway, and it is not pushed to).
  bool Watch(std::vector<std::string> route, bool delimiter, uint64_t rid, int64_t now_ms);
  // The view changed at `now_ms`.
  void Changed() { changed_ = true; }
  // Drops watchers not heard from for kWatcherTtlMs; true when a push is due now (a change
  // at least kMinPushGapMs after the last push, or kMaxPushGapMs without one). The caller then
  // sends to every watcher and calls Pushed.
  bool PushDue(int64_t now_ms);
  void Pushed(int64_t now_ms);
  // When PushDue may next be true (for a timer); only meaningful with watchers.
  int64_t NextPushMs() const;

  const std::vector<Watcher>& watchers() const { return watchers_; }
  bool empty() const { return watchers_.empty(); }

 private:
  std::vector<Watcher> watchers_;
  bool changed_ = false;
  int64_t last_push_ms_ = -kMaxPushGapMs;
};

}  // namespace ringkv::gossip
