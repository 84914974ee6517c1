// Phi accrual with the normal distribution (Akka's logistic approximation of its CDF), local
// health, refutation and flap damping; phi_detector.h explains the choices.
#include "gossip-agent/phi_detector.h"

#include <algorithm>
#include <cmath>

namespace ringkv::gossip {

namespace {
constexpr double kMaxPhi = 1000.0;
}

namespace {
// A window under two samples has no spread: fall back to the default.
DetectorOptions Sane(DetectorOptions o) {
  if (o.window < 2) o.window = DetectorOptions{}.window;
  return o;
}
}  // namespace

PhiDetector::PhiDetector(DetectorOptions options) : options_(Sane(options)) {}

void PhiDetector::Seed(Peer* p) const {
  // As Akka: two samples around the first estimate, so the first phi is sane.
  p->samples.clear();
  p->next = 0;
  p->real = 0;
  p->sum = p->sum_sq = 0;
  double m = options_.first_interval_ms;
  AddSample(p, m - m / 4);
  AddSample(p, m + m / 4);
}

void PhiDetector::AddSample(Peer* p, double ms) const {
  float v = static_cast<float>(ms);
  if (p->samples.size() < options_.window) {
    p->samples.push_back(v);
  } else {
    float old = p->samples[p->next];
    p->sum -= old;
    p->sum_sq -= static_cast<double>(old) * old;
    p->samples[p->next] = v;
    p->next = (p->next + 1) % options_.window;
  }
  p->sum += v;
  p->sum_sq += static_cast<double>(v) * v;
}

double PhiDetector::PhiOf(const Peer& p, int64_t now_ms) const {
  double n = static_cast<double>(p.samples.size());
  double mean = p.sum / n;
  // Not yet past the mean plus the pause: phi is at most log10(2) ~ 0.3, no need for the rest.
  double elapsed = static_cast<double>(now_ms - p.last_ms);
  if (p.real >= options_.min_samples && elapsed <= mean + options_.acceptable_pause_ms) {
    return 0.0;
  }
  double var = std::max(0.0, p.sum_sq / n - mean * mean);
  double sd = std::max(std::sqrt(var), options_.min_std_dev_ms);
  double t = static_cast<double>(now_ms - p.last_ms) / (1.0 + local_health_);
  if (p.real < options_.min_samples) return t >= options_.bootstrap_timeout_ms ? kMaxPhi : 0.0;
  double y = (t - mean - options_.acceptable_pause_ms) / sd;
  double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  double phi;
  if (y > 0) {
    phi = e <= 0 ? kMaxPhi : -std::log10(e / (1.0 + e));
  } else {
    phi = -std::log10(1.0 - 1.0 / (1.0 + e));
  }
  return std::isfinite(phi) ? std::min(phi, kMaxPhi) : kMaxPhi;
}

double PhiDetector::DecayedPenalty(const Peer& p, int64_t now_ms) const {
  if (p.penalty <= 0) return 0;
  double dt = static_cast<double>(now_ms - p.penalty_ms);
  return p.penalty * std::exp2(-dt / options_.flap_half_life_ms);
}

void PhiDetector::Recover(const std::string& id, Peer* p, int64_t now_ms) {
  double pen = std::min(DecayedPenalty(*p, now_ms) + options_.flap_penalty, options_.flap_max_penalty);
  p->penalty = pen;
  p->penalty_ms = now_ms;
  if (pen >= options_.flap_suppress) {
    // Held until the penalty decays to flap_reuse: longer the more it has flapped.
    p->held_until_ms = now_ms + static_cast<int64_t>(options_.flap_half_life_ms *
                                                     std::log2(pen / options_.flap_reuse));
    ++counters_.held;
    return;
  }
  p->up = true;
  ++counters_.recoveries;
  pending_.push_back({id, true});
}

void PhiDetector::Heartbeat(const std::string& id, int64_t now_ms, bool new_generation) {
  auto [it, inserted] = peers_.try_emplace(id);
  Peer& p = it->second;
  if (inserted) {
    Seed(&p);
    p.last_ms = now_ms;
    pending_.push_back({id, true});
    return;
  }
  if (new_generation) {
    Seed(&p);
  } else if (p.up && static_cast<double>(now_ms - p.last_ms) >= options_.merge_ms) {
    // Gaps across a conviction are not samples of the heartbeat rhythm.
    AddSample(&p, static_cast<double>(now_ms - p.last_ms));
    ++p.real;
  }
  p.last_ms = std::max(p.last_ms, now_ms);
  if (p.suspect_ms >= 0 && now_ms >= p.suspect_ms) {
    p.suspect_ms = -1;
    ++counters_.refuted;
  }
  if (!p.up && now_ms >= p.held_until_ms) Recover(id, &p, now_ms);
}

void PhiDetector::Forget(const std::string& id) { peers_.erase(id); }

void PhiDetector::Watch(const std::string& id, int64_t now_ms) {
  auto [it, inserted] = peers_.try_emplace(id);
  if (inserted) {
    Seed(&it->second);
    it->second.last_ms = now_ms;
  }
  it->second.judged = true;
}

void PhiDetector::Unwatch(const std::string& id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  if (p.up && p.suspect_ms < 0 && p.penalty <= 0) {
    peers_.erase(it);
  } else {
    p.judged = false;
  }
}

void PhiDetector::Verify(const std::string& id, int64_t now_ms) {
  auto [it, inserted] = peers_.try_emplace(id);
  Peer& p = it->second;
  if (inserted) {
    Seed(&p);
    p.last_ms = now_ms;
    p.judged = false;
  }
  if (p.up && p.suspect_ms < 0) p.suspect_ms = now_ms;
}

void PhiDetector::SetPeerHealth(const std::string& id, uint64_t health) {
  auto it = peers_.find(id);
  if (it != peers_.end()) {
    it->second.health = static_cast<int>(std::min<uint64_t>(health, options_.max_local_health));
  }
}

uint64_t PhiDetector::PeerHealth(const std::string& id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? 0 : static_cast<uint64_t>(it->second.health);
}

bool PhiDetector::IsSuspected(const std::string& id) const {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.up && it->second.suspect_ms >= 0;
}

std::vector<std::string> PhiDetector::TakeSuspects() {
  std::vector<std::string> out;
  out.swap(suspects_);
  return out;
}

double PhiDetector::Phi(const std::string& id, int64_t now_ms) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? 0.0 : PhiOf(it->second, now_ms);
}

bool PhiDetector::IsUp(const std::string& id) const {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.up;
}

int64_t PhiDetector::SinceLastMs(const std::string& id, int64_t now_ms) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? -1 : now_ms - it->second.last_ms;
}

std::vector<PhiDetector::Transition> PhiDetector::Evaluate(int64_t now_ms) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    const std::string& id = it->first;
    Peer& p = it->second;
    if (p.up && p.suspect_ms >= 0) {
      // Suspected: convicted when its verification ran out without an arrival.
      double verify = options_.verify_ms * (1.0 + local_health_ + p.health);
      if (static_cast<double>(now_ms - p.suspect_ms) >= verify) {
        p.up = false;
        p.suspect_ms = -1;
        ++counters_.convictions;
        pending_.push_back({id, false});
      }
    } else if (p.up && p.judged) {
      if (PhiOf(p, now_ms) >= options_.threshold) {
        if (options_.verify_ms > 0) {
          p.suspect_ms = now_ms;
          ++counters_.suspicions;
          suspects_.push_back(id);
        } else {
          p.up = false;
          ++counters_.convictions;
          pending_.push_back({id, false});
        }
      }
    } else if (p.up) {
      // Verified (or recovered) and not judged by phi: no longer watched once its flap
      // penalty has decayed.
      if (DecayedPenalty(p, now_ms) < 0.1) {
        it = peers_.erase(it);
        continue;
      }
    } else if (p.held_until_ms != 0 && now_ms >= p.held_until_ms) {
      // The hold ended: up again if the peer is heartbeating now.
      p.held_until_ms = 0;
      if (PhiOf(p, now_ms) < options_.threshold) {
        p.up = true;
        ++counters_.recoveries;
        pending_.push_back({id, true});
      }
    }
    ++it;
  }
  std::vector<Transition> out;
  out.swap(pending_);
  return out;
}

int PhiDetector::announced_health(int64_t now_ms) const {
  double step = options_.health_memory_ms / std::max(1, options_.max_local_health);
  int decayed = peak_health_ - static_cast<int>(static_cast<double>(now_ms - peak_ms_) / step);
  return std::max(local_health_, decayed);
}

void PhiDetector::RoundRan(int64_t scheduled_ms, int64_t started_ms, int64_t interval_ms) {
  int64_t late = started_ms - scheduled_ms;
  const double unit = std::max(1.0, options_.late_fraction * static_cast<double>(interval_ms));
  if (static_cast<double>(late) > unit) {
    ++counters_.late_rounds;
    // One point per late_fraction of an interval of lateness: a starved agent (or one that
    // was stopped) reaches its full patience within a round or two, before it misjudges or
    // is misjudged.
    int points = static_cast<int>(std::min<double>(std::ceil(static_cast<double>(late) / unit) - 1,
                                                   options_.max_local_health));
    local_health_ = std::min(local_health_ + std::max(1, points), options_.max_local_health);
    if (local_health_ >= announced_health(started_ms)) {
      peak_health_ = local_health_;
      peak_ms_ = started_ms;
    }
    for (auto& [id, p] : peers_) {
      p.last_ms = std::min(p.last_ms + late, started_ms);
      if (p.suspect_ms >= 0) p.suspect_ms = std::min(p.suspect_ms + late, started_ms);
    }
  } else if (local_health_ > 0) {
    --local_health_;
  }
}

}  // namespace ringkv::gossip
