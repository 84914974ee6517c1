// The Gossiper glue and the probing detector; gossiper.h says what it is for and how a node
// comes to be convicted.
#include "gossip-agent/gossiper.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>

namespace ringkv::gossip {

namespace {

// Position on the monitoring ring; seeded apart from the view buckets' hash.
uint64_t RingPos(const std::string& id) { return XXH3_64bits_withSeed(id.data(), id.size(), 0x6d6f6e69); }

}  // namespace

Gossiper::Gossiper(gp::NodeEntry self, GossiperOptions options, uint64_t random_seed)
    : options_(std::move(options)),
      membership_(std::move(self), options_.membership),
      detector_(options_.detector),
      rng_(random_seed) {
  if (options_.track_heartbeat_age) {
    membership_.set_on_heartbeat(
        [this](const std::string& id, gp::Heartbeat, bool) { heard_ms_[id] = now_ms_; });
  }
}

int64_t Gossiper::HeartbeatAgeMs(const std::string& id, int64_t now_ms) const {
  if (id == membership_.self_id()) return 0;
  int64_t age = detector_.SinceLastMs(id, now_ms);
  auto it = heard_ms_.find(id);
  if (it != heard_ms_.end() && (age < 0 || now_ms - it->second < age)) age = now_ms - it->second;
  return age;
}

bool Gossiper::Judges(const std::string& id) const {
  if (id == membership_.self_id()) return false;
  const gp::NodeEntry* e = membership_.FactsOf(id);
  return e != nullptr && e->state != gp::MemberState::kRemoved;
}

PeerStatus Gossiper::StatusAt(size_t index) const {
  const gp::NodeEntry& e = membership_.FactsAt(index);
  if (e.id == membership_.self_id()) return PeerStatus::kSelf;
  if (e.state == gp::MemberState::kRemoved) return PeerStatus::kRemoved;
  if (!options_.detect) return PeerStatus::kLive;
  return !detector_.IsWatched(e.id) || detector_.IsUp(e.id) ? PeerStatus::kLive : PeerStatus::kDown;
}

gp::Heartbeat Gossiper::KnownHeartbeat(const std::string& id) const {
  auto it = direct_.find(id);
  if (it != direct_.end()) return it->second;
  return membership_.HeartbeatOf(id).value_or(gp::Heartbeat{});
}

void Gossiper::UpdateSubjects(int64_t now_ms) {
  uint64_t key = membership_.view_version() * 1000003u + down_version_;
  if (key == subjects_key_) return;
  subjects_key_ = key;
  // The `subjects` members that follow this node on the ring of id hashes, skipping the
  // removed and those convicted here (their monitors move on to the next live one).
  const uint64_t me = RingPos(membership_.self_id());
  const size_t k = static_cast<size_t>(std::max(0, options_.subjects));
  std::vector<std::pair<uint64_t, const std::string*>> best;  // (distance, id), sorted
  for (size_t i = 0; i < membership_.size() && k > 0; ++i) {
    if (StatusAt(i) != PeerStatus::kLive) continue;
    const std::string& id = membership_.FactsAt(i).id;
    uint64_t d = RingPos(id) - me;
    if (best.size() == k && d >= best.back().first) continue;
    auto at = std::lower_bound(best.begin(), best.end(), std::make_pair(d, &id));
    best.insert(at, {d, &id});
    if (best.size() > k) best.pop_back();
  }
  std::vector<std::string> next;
  for (const auto& b : best) next.push_back(*b.second);
  for (const std::string& old : subjects_) {
    if (std::find(next.begin(), next.end(), old) == next.end()) detector_.Unwatch(old);
  }
  for (const std::string& id : next) detector_.Watch(id, now_ms);
  subjects_ = std::move(next);
}

void Gossiper::Decorate(gp::Message* m) {
  // Rumours past their time are dropped.
  rumours_.erase(std::remove_if(rumours_.begin(), rumours_.end(),
                                [this](const Rumour& r) { return r.until_ms <= now_ms_; }),
                 rumours_.end());
  m->has_self_heartbeat = true;
  m->self_heartbeat = membership_.HeartbeatOf(membership_.self_id()).value_or(gp::Heartbeat{});
  m->local_health = static_cast<uint64_t>(detector_.announced_health(now_ms_));
  size_t n = 0;
  bool any_health = false;
  for (auto it = rumours_.rbegin(); it != rumours_.rend() && n < options_.max_rumours_per_message;
       ++it, ++n) {
    if (it->suspect) {
      m->suspects.push_back(it->digest);
      m->suspect_health.push_back(it->health);
      any_health = any_health || it->health != 0;
    } else {
      m->alive.push_back(it->digest);
    }
  }
  if (!any_health) m->suspect_health.clear();
}

void Gossiper::Send(const std::string& to, const std::string& bytes, std::vector<Outgoing>* out) {
  ++counters_.sent_messages;
  counters_.sent_bytes += bytes.size();
  out->push_back({to, bytes});
}

void Gossiper::AddRumour(bool suspect, gp::Digest d, uint64_t health, int64_t now_ms) {
  // Newer news about a node replaces older news about it, of either kind.
  rumours_.erase(std::remove_if(rumours_.begin(), rumours_.end(),
                                [&](const Rumour& r) { return r.digest.id == d.id; }),
                 rumours_.end());
  int64_t life = options_.rumour_ms_per_decade *
                 (1 + static_cast<int64_t>(std::ceil(std::log10(static_cast<double>(membership_.size()) + 1))));
  rumours_.push_back({suspect, std::move(d), health, now_ms + life});
  // Pushed at once to a few random live peers: the news moves in network hops, not rounds.
  RoundOptions ro;
  ro.fanout = options_.rumour_fanout;
  PeerView view;
  view.size = membership_.size();
  view.id = [this](size_t i) -> const std::string& { return membership_.FactsAt(i).id; };
  view.status = [this](size_t i) { return StatusAt(i); };
  std::vector<std::string> to = PickTargets(view, {}, {}, membership_.self_id(), ro, rng_);
  if (to.empty()) return;
  gp::Message syn = membership_.MakeSyn();
  Decorate(&syn);
  std::string bytes = gp::Encode(syn);
  for (const std::string& t : to) Send(t, bytes, &outbox_);
}

void Gossiper::Probe(const std::string& id, int64_t now_ms) {
  gp::Message syn = membership_.MakeSyn();
  Decorate(&syn);
  Send(id, gp::Encode(syn), &outbox_);
  ++counters_.probes;
  Probing& p = probing_[id];
  ++p.sent;
  p.last_ms = now_ms;
}

void Gossiper::Direct(const std::string& id, gp::Heartbeat hb, int64_t now_ms, bool relayed,
                      bool same_view) {
  if (!Judges(id)) return;
  if (options_.track_heartbeat_age && !relayed) heard_ms_[id] = now_ms;
  // Only with equal views: a version is ordered against the facts it came with, and a newer
  // version without its new facts would make this table refuse them.
  if (same_view) membership_.AdvanceHeartbeat(id, hb);
  if (!detector_.IsWatched(id)) return;  // not judged here: up until a suspicion says otherwise
  auto it = direct_.find(id);
  // A message from the node itself is fresh evidence unless it is older than what we had (its
  // version moves once a round, an answer to a probe may repeat it); a relayed one must be newer.
  if (it != direct_.end() && (relayed ? hb <= it->second : hb < it->second)) return;
  bool new_generation = it != direct_.end() && hb.generation > it->second.generation;
  direct_[id] = hb;
  bool was_down = !detector_.IsUp(id);
  detector_.Heartbeat(id, now_ms, new_generation);
  if (was_down && detector_.IsUp(id)) {
    Apply({{id, true}});
    // Heard from it directly: tell the others now. Taken from a rumour: check it ourselves.
    if (relayed) {
      // Checked with full patience: the node may be starved (a slow answer is an answer),
      // and a check that failed on a slow answer would start the suspicion over again.
      detector_.Verify(id, now_ms);
      detector_.SetPeerHealth(id, static_cast<uint64_t>(options_.detector.max_local_health));
      Probe(id, now_ms);
    }
    seen_alive_[id] = hb;
    AddRumour(false, {id, hb}, 0, now_ms);
  }
}

void Gossiper::OnSuspect(const gp::Digest& d, uint64_t health, int64_t now_ms) {
  // Each suspicion (node, heartbeat) is acted on once: its copies keep coming for seconds.
  auto seen = seen_suspect_.find(d.id);
  if (seen != seen_suspect_.end() && d.heartbeat <= seen->second) return;
  seen_suspect_[d.id] = d.heartbeat;
  if (d.id == membership_.self_id()) {
    // Suspected: a new heartbeat, told to everyone (Lifeguard's refutation).
    ++counters_.refutations;
    membership_.Beat();
    AddRumour(false, {d.id, *membership_.HeartbeatOf(d.id)}, 0, now_ms);
    return;
  }
  if (!Judges(d.id)) return;
  // Outdated: the node answered it already (its alive rumour is newer). A newer heartbeat in
  // our table proves nothing: the node may have sent it to someone after the suspecter's last
  // answer and died before the next.
  auto alive = seen_alive_.find(d.id);
  if (alive != seen_alive_.end() && alive->second > d.heartbeat) return;
  if (detector_.IsWatched(d.id) && (!detector_.IsUp(d.id) || detector_.IsSuspected(d.id))) return;
  ++counters_.suspicions_heard;
  AddRumour(true, d, health, now_ms);
  // Checked here: convicted only if it does not answer our own probes in time.
  if (direct_.find(d.id) == direct_.end()) direct_[d.id] = KnownHeartbeat(d.id);
  detector_.Verify(d.id, now_ms);
  if (health > detector_.PeerHealth(d.id)) detector_.SetPeerHealth(d.id, health);
  Probe(d.id, now_ms);
}

void Gossiper::OnAlive(const gp::Digest& d, int64_t now_ms) {
  if (!Judges(d.id)) return;
  auto seen = seen_alive_.find(d.id);
  if (seen != seen_alive_.end() && d.heartbeat <= seen->second) return;
  seen_alive_[d.id] = d.heartbeat;
  // Only news to an agent that holds the node down or suspected; the others judge it up.
  if (!detector_.IsWatched(d.id) || (detector_.IsUp(d.id) && !detector_.IsSuspected(d.id))) return;
  Direct(d.id, d.heartbeat, now_ms, /*relayed=*/true);
}

std::vector<Outgoing> Gossiper::Round(int64_t scheduled_ms, int64_t now_ms) {
  now_ms_ = now_ms;
  ++counters_.rounds;
  if (options_.detect) {
    detector_.RoundRan(scheduled_ms, now_ms, options_.interval_ms);
    UpdateSubjects(now_ms);
  }
  membership_.Beat();
  PeerView view;
  view.size = membership_.size();
  view.id = [this](size_t i) -> const std::string& { return membership_.FactsAt(i).id; };
  view.status = [this](size_t i) { return StatusAt(i); };
  std::vector<std::string> targets =
      PickTargets(view, down_, options_.seeds, membership_.self_id(), options_.round, rng_);
  // The subjects hear from this node every round: their ACKs are the detector's arrivals.
  for (const std::string& s : subjects_) {
    if (std::find(targets.begin(), targets.end(), s) == targets.end()) targets.push_back(s);
  }
  std::vector<Outgoing> out = TakeOutgoing();
  if (targets.empty()) return out;
  gp::Message syn = membership_.MakeSyn();
  if (options_.detect) Decorate(&syn);
  std::string bytes = gp::Encode(syn);
  for (const std::string& t : targets) Send(t, bytes, &out);
  return out;
}

Result<std::optional<Outgoing>> Gossiper::Receive(std::string_view bytes, int64_t now_ms) {
  now_ms_ = now_ms;
  ++counters_.received_messages;
  counters_.received_bytes += bytes.size();
  auto msg = gp::Decode(bytes);
  if (!msg.ok()) {
    ++counters_.rejected_messages;
    return msg.status();
  }
  if (options_.detect) {
    if (msg->has_self_heartbeat) {
      bool same_view = msg->kind != gp::Kind::kAck2 && msg->view_hash == membership_.ViewHash() &&
                       msg->view_size == membership_.size();
      Direct(msg->from, msg->self_heartbeat, now_ms, false, same_view);
      detector_.SetPeerHealth(msg->from, msg->local_health);
    }
    for (size_t i = 0; i < msg->suspects.size(); ++i) {
      OnSuspect(msg->suspects[i], i < msg->suspect_health.size() ? msg->suspect_health[i] : 0, now_ms);
    }
    for (const gp::Digest& d : msg->alive) OnAlive(d, now_ms);
  }
  std::optional<gp::Message> reply = membership_.Handle(*msg);
  if (!reply) return std::optional<Outgoing>();
  if (options_.detect) Decorate(&*reply);
  Outgoing o{msg->from, gp::Encode(*reply)};
  ++counters_.sent_messages;
  counters_.sent_bytes += o.bytes.size();
  return std::optional<Outgoing>(std::move(o));
}

void Gossiper::Apply(const std::vector<PhiDetector::Transition>& t) {
  for (const auto& tr : t) {
    auto it = std::find(down_.begin(), down_.end(), tr.id);
    if (tr.up && it != down_.end()) {
      down_.erase(it);
      ++down_version_;
    }
    if (!tr.up && it == down_.end()) {
      down_.push_back(tr.id);
      ++down_version_;
    }
  }
}

std::vector<PhiDetector::Transition> Gossiper::Evaluate(int64_t now_ms) {
  if (!options_.detect) return {};
  now_ms_ = now_ms;
  UpdateSubjects(now_ms);
  auto t = detector_.Evaluate(now_ms);
  for (const std::string& id : detector_.TakeSuspects()) Probe(id, now_ms);
  for (const auto& tr : t) {
    if (tr.up) continue;
    probing_.erase(tr.id);
    // Convicted on our own phi: tell the others (a conviction that checked someone's
    // suspicion has passed that suspicion on already).
    gp::Digest d{tr.id, KnownHeartbeat(tr.id)};
    auto seen = seen_suspect_.find(tr.id);
    if (seen != seen_suspect_.end() && d.heartbeat <= seen->second) continue;
    seen_suspect_[tr.id] = d.heartbeat;
    AddRumour(true, std::move(d), detector_.PeerHealth(tr.id), now_ms);
  }
  // The remaining probes of the nodes still being checked.
  for (auto it = probing_.begin(); it != probing_.end();) {
    if (!detector_.IsSuspected(it->first)) {
      it = probing_.erase(it);
      continue;
    }
    if (it->second.sent < options_.probes && now_ms - it->second.last_ms >= options_.probe_spacing_ms) {
      Probe(it->first, now_ms);
    }
    ++it;
  }
  // Nodes held down: probed now and then (a SIGCONTed node may be heard by nobody else).
  for (const std::string& id : down_) {
    int64_t& next = next_down_probe_ms_[id];
    if (next == 0) next = now_ms + options_.down_probe_ms;
    if (now_ms < next) continue;
    Probe(id, now_ms);
    probing_.erase(id);  // not a check: nothing waits for this answer
    next = now_ms + options_.down_probe_ms +
           std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(0, options_.down_probe_ms))(rng_);
  }
  if (next_down_probe_ms_.size() > down_.size()) {
    for (auto it = next_down_probe_ms_.begin(); it != next_down_probe_ms_.end();) {
      it = std::find(down_.begin(), down_.end(), it->first) == down_.end() ? next_down_probe_ms_.erase(it)
                                                                           : std::next(it);
    }
  }
  // Forget what we heard directly from peers we no longer watch.
  if (direct_.size() > subjects_.size() + down_.size() + probing_.size() + 16) {
    for (auto it = direct_.begin(); it != direct_.end();) {
      it = detector_.IsWatched(it->first) ? std::next(it) : direct_.erase(it);
    }
  }
  Apply(t);
  return t;
}

std::vector<Outgoing> Gossiper::TakeOutgoing() {
  std::vector<Outgoing> out;
  out.swap(outbox_);
  return out;
}

bool Gossiper::IsUp(const std::string& id) const {
  const gp::NodeEntry* e = membership_.FactsOf(id);
  if (e == nullptr || e->state == gp::MemberState::kRemoved) return false;
  if (id == membership_.self_id() || !options_.detect) return true;
  return !detector_.IsWatched(id) || detector_.IsUp(id);
}

}  // namespace ringkv::gossip
