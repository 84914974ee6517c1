// Watchers of the view and the view itself (see view_watchers.h).
#include "gossip-agent/view_watchers.h"

#include <algorithm>

namespace ringkv::gossip {

gp::ViewPush BuildView(const Gossiper& g, int64_t now_ms, uint64_t view_version) {
  gp::ViewPush v;
  const Membership& m = g.membership();
  v.self = m.self_id();
  v.view_version = view_version;
  v.members.reserve(m.size());
  m.ForEach([&](const gp::NodeEntry& facts, gp::Heartbeat hb) {
    gp::MemberView mv;
    mv.entry = facts;
    mv.entry.heartbeat = hb;
    const bool self = facts.id == v.self;
    mv.up = g.IsUp(facts.id);
    mv.phi = self ? 0.0 : g.detector().Phi(facts.id, now_ms);
    mv.heartbeat_age_ms = self ? 0 : g.HeartbeatAgeMs(facts.id, now_ms);
    v.members.push_back(std::move(mv));
  });
  return v;
}

bool ViewWatchers::Watch(std::vector<std::string> route, bool delimiter, uint64_t rid,
                         int64_t now_ms) {
  for (Watcher& w : watchers_) {
    if (w.route == route) {
      w.delimiter = delimiter;
      w.rid = rid;
      w.heard_ms = now_ms;
      return true;
    }
  }
  if (watchers_.size() >= kMaxWatchers) return false;
  watchers_.push_back({std::move(route), delimiter, rid, now_ms});
  return true;
}

bool ViewWatchers::PushDue(int64_t now_ms) {
  watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(),
                                 [&](const Watcher& w) {
                                   return now_ms - w.heard_ms > kWatcherTtlMs;
                                 }),
                  watchers_.end());
  if (watchers_.empty()) return false;
  if (changed_ && now_ms - last_push_ms_ >= kMinPushGapMs) return true;
  return now_ms - last_push_ms_ >= kMaxPushGapMs;
}

void ViewWatchers::Pushed(int64_t now_ms) {
  changed_ = false;
  last_push_ms_ = now_ms;
}

int64_t ViewWatchers::NextPushMs() const {
  return changed_ ? last_push_ms_ + kMinPushGapMs : last_push_ms_ + kMaxPushGapMs;
}

}  // namespace ringkv::gossip
