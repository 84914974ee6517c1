// The Gossiper glue; gossiper.h says what it is for.
#include "gossip-agent/gossiper.h"

#include <algorithm>

namespace ringkv::gossip {

Gossiper::Gossiper(gp::NodeEntry self, GossiperOptions options, uint64_t random_seed)
    : options_(std::move(options)),
      membership_(std::move(self), options_.membership),
      detector_(options_.detector),
      rng_(random_seed) {
  if (options_.detect) {
    membership_.set_on_heartbeat([this](const std::string& id, gp::Heartbeat, bool new_gen) {
      detector_.Heartbeat(id, now_ms_, new_gen);
    });
  }
}

PeerStatus Gossiper::StatusAt(size_t index) const {
  const gp::NodeEntry& e = membership_.FactsAt(index);
  if (e.id == membership_.self_id()) return PeerStatus::kSelf;
  if (e.state == gp::MemberState::kRemoved) return PeerStatus::kRemoved;
  if (!options_.detect) return PeerStatus::kLive;
  return detector_.IsUp(e.id) ? PeerStatus::kLive : PeerStatus::kDown;
}

std::vector<Outgoing> Gossiper::Round(int64_t scheduled_ms, int64_t now_ms) {
  now_ms_ = now_ms;
  ++counters_.rounds;
  if (options_.detect) detector_.RoundRan(scheduled_ms, now_ms, options_.interval_ms);
  membership_.Beat();
  PeerView view;
  view.size = membership_.size();
  view.id = [this](size_t i) -> const std::string& { return membership_.FactsAt(i).id; };
  view.status = [this](size_t i) { return StatusAt(i); };
  std::vector<std::string> targets =
      PickTargets(view, down_, options_.seeds, membership_.self_id(), options_.round, rng_);
  std::vector<Outgoing> out;
  if (targets.empty()) return out;
  std::string syn = gp::Encode(membership_.MakeSyn());
  for (std::string& t : targets) {
    ++counters_.sent_messages;
    counters_.sent_bytes += syn.size();
    out.push_back({std::move(t), syn});
  }
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
  std::optional<gp::Message> reply = membership_.Handle(*msg);
  if (!reply) return std::optional<Outgoing>();
  Outgoing o{msg->from, gp::Encode(*reply)};
  ++counters_.sent_messages;
  counters_.sent_bytes += o.bytes.size();
  return std::optional<Outgoing>(std::move(o));
}

void Gossiper::Apply(const std::vector<PhiDetector::Transition>& t) {
  for (const auto& tr : t) {
    auto it = std::find(down_.begin(), down_.end(), tr.id);
    if (tr.up && it != down_.end()) down_.erase(it);
    if (!tr.up && it == down_.end()) down_.push_back(tr.id);
  }
}

std::vector<PhiDetector::Transition> Gossiper::Evaluate(int64_t now_ms) {
  if (!options_.detect) return {};
  auto t = detector_.Evaluate(now_ms);
  Apply(t);
  return t;
}

bool Gossiper::IsUp(const std::string& id) const {
  const gp::NodeEntry* e = membership_.FactsOf(id);
  if (e == nullptr || e->state == gp::MemberState::kRemoved) return false;
  if (id == membership_.self_id() || !options_.detect) return true;
  return detector_.IsUp(id);
}

}  // namespace ringkv::gossip
