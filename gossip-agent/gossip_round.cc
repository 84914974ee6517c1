// Peer choice for one gossip round; gossip_round.h states the rules.
#include "gossip-agent/gossip_round.h"

#include <algorithm>

namespace ringkv::gossip {

namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

double Uniform(std::mt19937_64& rng) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

std::vector<std::string> PickTargets(const PeerView& view, const std::vector<std::string>& down,
                                     const std::vector<std::string>& seeds,
                                     const std::string& self, const RoundOptions& options,
                                     std::mt19937_64& rng) {
  std::vector<std::string> out;
  const size_t want = static_cast<size_t>(std::max(0, options.fanout));
  size_t live_seen = 0;
  if (view.size > 0 && want > 0) {
    // Rejection sampling: cheap while most peers are live; bounded tries, then a scan.
    std::vector<size_t> picked;
    size_t tries = 8 * want + 16;
    std::uniform_int_distribution<size_t> any(0, view.size - 1);
    while (picked.size() < want && tries-- > 0) {
      size_t i = any(rng);
      if (view.status(i) == PeerStatus::kLive &&
          std::find(picked.begin(), picked.end(), i) == picked.end()) {
        picked.push_back(i);
      }
    }
    if (picked.size() < want) {
      std::vector<size_t> live;
      for (size_t i = 0; i < view.size; ++i) {
        if (view.status(i) == PeerStatus::kLive) live.push_back(i);
      }
      std::shuffle(live.begin(), live.end(), rng);
      for (size_t i : live) {
        if (picked.size() >= want) break;
        if (std::find(picked.begin(), picked.end(), i) == picked.end()) picked.push_back(i);
      }
      live_seen = live.size();
    } else {
      // An estimate without a scan: everyone but this node and the peers believed down.
      live_seen = view.size - std::min(view.size, down.size() + 1);
    }
    for (size_t i : picked) out.push_back(view.id(i));
  }
  if (!down.empty()) {
    double p = static_cast<double>(down.size()) / static_cast<double>(live_seen + 1);
    if (Uniform(rng) < p) {
      const std::string& d = down[std::uniform_int_distribution<size_t>(0, down.size() - 1)(rng)];
      if (d != self && !Contains(out, d)) out.push_back(d);
    }
  }
  std::vector<const std::string*> other_seeds;
  for (const std::string& s : seeds) {
    if (s != self) other_seeds.push_back(&s);
  }
  bool has_seed = false;
  for (const std::string& t : out) has_seed = has_seed || Contains(seeds, t);
  if (!other_seeds.empty() && !has_seed) {
    double denom = static_cast<double>(live_seen + down.size());
    double p = denom == 0 ? 1.0 : static_cast<double>(other_seeds.size()) / denom;
    if (out.empty() || Uniform(rng) < p) {
      const std::string* s =
          other_seeds[std::uniform_int_distribution<size_t>(0, other_seeds.size() - 1)(rng)];
      if (!Contains(out, *s)) out.push_back(*s);
    }
  }
  return out;
}

}  // namespace ringkv::gossip
