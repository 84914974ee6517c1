// The membership table and the exchange steps; membership.h states the merge rules.
#include "gossip-agent/membership.h"

#include <xxhash.h>

#include <algorithm>
#include <cassert>
#include <utility>

namespace ringkv::gossip {

namespace {

void HashStr(XXH3_state_t* st, const std::string& s) {
  uint64_t n = s.size();
  XXH3_64bits_update(st, &n, sizeof n);
  XXH3_64bits_update(st, s.data(), s.size());
}

void HashU64(XXH3_state_t* st, uint64_t v) { XXH3_64bits_update(st, &v, sizeof v); }

}  // namespace

uint64_t FactsHash(const gp::NodeEntry& e) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  HashStr(st, e.id);
  HashStr(st, e.dc);
  HashStr(st, e.rack);
  HashStr(st, e.client_endpoint);
  HashStr(st, e.storage_endpoint);
  HashStr(st, e.gossip_endpoint);
  HashU64(st, e.vnodes);
  HashU64(st, e.tokens.size());
  if (!e.tokens.empty()) XXH3_64bits_update(st, e.tokens.data(), e.tokens.size() * sizeof(Token));
  HashU64(st, static_cast<uint64_t>(e.state));
  HashU64(st, e.heartbeat.generation);
  HashU64(st, e.storage.up);
  HashU64(st, e.storage.incarnation);
  HashU64(st, e.coordinator.up);
  HashU64(st, e.coordinator.incarnation);
  // Only when set, so that entries without a direct port hash as before.
  if (e.storage_direct_port != 0) HashU64(st, e.storage_direct_port);
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

uint32_t BucketOf(const std::string& id) {
  return static_cast<uint32_t>(XXH3_64bits(id.data(), id.size()) % gp::kBuckets);
}

std::shared_ptr<const Facts> MakeFacts(gp::NodeEntry e) {
  auto f = std::make_shared<Facts>();
  f->hash = FactsHash(e);
  f->bucket = BucketOf(e.id);
  f->entry = std::move(e);
  return f;
}

Membership::Membership(gp::NodeEntry self, MembershipOptions options)
    : self_id_(self.id), options_(options) {
  assert(self.state != gp::MemberState::kDown);
  uint64_t v = self.heartbeat.version;
  slots_.push_back({MakeFacts(std::move(self)), v});
  self_index_ = 0;
}

gp::NodeEntry Membership::EntryOf(const Slot& s) {
  gp::NodeEntry e = s.facts->entry;
  e.heartbeat.version = s.version;
  return e;
}

size_t Membership::Lower(const std::string& id, bool* found) const {
  auto it = std::lower_bound(slots_.begin(), slots_.end(), id,
                             [](const Slot& s, const std::string& k) { return s.id() < k; });
  *found = it != slots_.end() && it->id() == id;
  return static_cast<size_t>(it - slots_.begin());
}

void Membership::FactsChanged(const Slot& s) {
  ++view_version_;
  hash_valid_ = false;
  if (on_change_) on_change_(EntryOf(s));
}

void Membership::SetSelf(gp::NodeEntry e) {
  Slot& s = slots_[self_index_];
  uint64_t v = s.version + 1;
  e.heartbeat.version = v;
  s.facts = MakeFacts(std::move(e));
  s.version = v;
  FactsChanged(s);
}

void Membership::Beat() { ++slots_[self_index_].version; }

void Membership::SetSelfState(gp::MemberState state) {
  assert(state != gp::MemberState::kDown);
  gp::NodeEntry e = Self();
  if (e.state == state) return;
  e.state = state;
  SetSelf(std::move(e));
}

void Membership::SetSelfHealth(gp::AgentHealth storage, gp::AgentHealth coordinator) {
  gp::NodeEntry e = Self();
  if (e.storage == storage && e.coordinator == coordinator) return;
  e.storage = storage;
  e.coordinator = coordinator;
  SetSelf(std::move(e));
}

void Membership::SetSelfDirectPort(uint32_t port) {
  gp::NodeEntry e = Self();
  if (e.storage_direct_port == port) return;
  e.storage_direct_port = port;
  SetSelf(std::move(e));
}

void Membership::SelfHeard(gp::Heartbeat claimed) {
  Slot& s = slots_[self_index_];
  if (claimed <= s.hb()) return;
  // Someone holds a newer heartbeat for this node than the node itself: an incarnation it
  // forgot (its generation was not persisted) or a forgery. Jump past it with the real facts.
  ++counters_.self_refuted;
  gp::NodeEntry e = Self();
  if (claimed.generation > e.heartbeat.generation) {
    e.heartbeat.generation = claimed.generation;
    s.version = claimed.version;  // SetSelf adds one
  } else {
    s.version = claimed.version;
  }
  SetSelf(std::move(e));
}

Membership::Merge Membership::MergeEntry(const gp::NodeEntry& e) {
  if (e.state == gp::MemberState::kDown || e.id.empty()) return Merge::kIgnored;
  if (e.id == self_id_) {
    if (e.heartbeat <= slots_[self_index_].hb()) return Merge::kIgnored;
    SelfHeard(e.heartbeat);
    return Merge::kSelfRefuted;
  }
  bool found = false;
  size_t i = Lower(e.id, &found);
  if (found) {
    Slot& s = slots_[i];
    if (e.heartbeat <= s.hb()) return Merge::kIgnored;
    ++counters_.entries_merged;
    if (s.facts->entry.SameFacts(e)) {
      s.version = e.heartbeat.version;
      if (on_heartbeat_) on_heartbeat_(s.id(), s.hb(), false);
      return Merge::kHeartbeat;
    }
  }
  return MergeFacts(MakeFacts(e), e.heartbeat.version);
}

Membership::Merge Membership::MergeFacts(std::shared_ptr<const Facts> f, uint64_t version) {
  const gp::NodeEntry& e = f->entry;
  if (e.state == gp::MemberState::kDown || e.id.empty()) return Merge::kIgnored;
  gp::Heartbeat hb{e.heartbeat.generation, version};
  if (e.id == self_id_) {
    if (hb <= slots_[self_index_].hb()) return Merge::kIgnored;
    SelfHeard(hb);
    return Merge::kSelfRefuted;
  }
  bool found = false;
  size_t i = Lower(e.id, &found);
  Merge result = Merge::kFacts;
  bool new_generation = !found;
  if (found) {
    if (hb <= slots_[i].hb()) return Merge::kIgnored;
    if (slots_[i].facts->hash == f->hash && slots_[i].facts->entry.SameFacts(e)) {
      slots_[i].version = version;
      if (on_heartbeat_) on_heartbeat_(e.id, hb, false);
      return Merge::kHeartbeat;
    }
    new_generation = slots_[i].facts->entry.heartbeat.generation != hb.generation;
    slots_[i] = {std::move(f), version};
  } else {
    // The table is bounded: a flood of forged ids cannot grow it without end, and a view or
    // an exchange can never carry more than kMaxMembers members anyway.
    if (slots_.size() >= gp::kMaxMembers) {
      ++counters_.members_refused;
      return Merge::kIgnored;
    }
    slots_.insert(slots_.begin() + static_cast<std::ptrdiff_t>(i), Slot{std::move(f), version});
    if (i <= self_index_) ++self_index_;
    result = Merge::kNew;
  }
  FactsChanged(slots_[i]);
  if (on_heartbeat_) on_heartbeat_(slots_[i].id(), hb, new_generation);
  return result;
}

std::optional<gp::NodeEntry> Membership::Get(const std::string& id) const {
  bool found = false;
  size_t i = Lower(id, &found);
  if (!found) return std::nullopt;
  return EntryOf(slots_[i]);
}

std::optional<gp::Heartbeat> Membership::HeartbeatOf(const std::string& id) const {
  bool found = false;
  size_t i = Lower(id, &found);
  if (!found) return std::nullopt;
  return slots_[i].hb();
}

const gp::NodeEntry* Membership::FactsOf(const std::string& id) const {
  bool found = false;
  size_t i = Lower(id, &found);
  return found ? &slots_[i].facts->entry : nullptr;
}

void Membership::ForEach(
    const std::function<void(const gp::NodeEntry& facts, gp::Heartbeat hb)>& f) const {
  for (const Slot& s : slots_) f(s.facts->entry, s.hb());
}

std::vector<std::string> Membership::Ids() const {
  std::vector<std::string> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) out.push_back(s.id());
  return out;
}

const std::vector<uint64_t>& Membership::BucketHashes() const {
  if (!hash_valid_) {
    // Chained per bucket in id order: h = XXH3(facts hash, seed h).
    bucket_hashes_.assign(gp::kBuckets, 0);
    for (const Slot& s : slots_) {
      uint64_t& h = bucket_hashes_[s.facts->bucket];
      h = XXH3_64bits_withSeed(&s.facts->hash, sizeof(uint64_t), h);
    }
    view_hash_ = XXH3_64bits(bucket_hashes_.data(), bucket_hashes_.size() * sizeof(uint64_t));
    hash_valid_ = true;
  }
  return bucket_hashes_;
}

uint64_t Membership::ViewHash() const {
  BucketHashes();
  return view_hash_;
}

std::vector<gp::Digest> Membership::DigestsOf(const std::vector<uint32_t>& buckets) const {
  std::vector<bool> want(gp::kBuckets, false);
  for (uint32_t b : buckets) {
    if (b < gp::kBuckets) want[b] = true;
  }
  std::vector<gp::Digest> out;
  for (const Slot& s : slots_) {
    if (want[s.facts->bucket]) out.push_back({s.id(), s.hb()});
  }
  return out;
}

std::vector<gp::Digest> Membership::Digests() const {
  std::vector<gp::Digest> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) out.push_back({s.id(), s.hb()});
  return out;
}

std::vector<uint64_t> Membership::HeartbeatVector() const {
  std::vector<uint64_t> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) out.push_back(s.version);
  return out;
}

void Membership::ApplyHeartbeat(size_t i, uint64_t version) {
  Slot& s = slots_[i];
  if (version <= s.version) return;
  if (i == self_index_) {
    SelfHeard({s.facts->entry.heartbeat.generation, version});
    return;
  }
  s.version = version;
  if (on_heartbeat_) on_heartbeat_(s.id(), s.hb(), false);
}

void Membership::ApplyHeartbeats(const std::vector<uint64_t>& hb) {
  assert(hb.size() == slots_.size());
  for (size_t i = 0; i < hb.size(); ++i) ApplyHeartbeat(i, hb[i]);
}

bool Membership::AdvanceHeartbeat(const std::string& id, gp::Heartbeat hb) {
  bool found = false;
  size_t i = Lower(id, &found);
  if (!found) return false;
  if (i == self_index_) {
    SelfHeard(hb);
    return false;
  }
  if (hb.generation != slots_[i].facts->entry.heartbeat.generation || hb.version <= slots_[i].version) {
    return false;
  }
  ApplyHeartbeat(i, hb.version);
  return true;
}

void Membership::AddHeartbeats(gp::Message* m) const {
  if (options_.sparse_heartbeats == 0) {
    m->has_heartbeats = true;
    m->heartbeats = HeartbeatVector();
    return;
  }
  // Own heartbeat first, then a window that moves on with every message: every member's
  // version travels now and then whatever N, at a constant cost per message.
  m->has_sparse = true;
  m->sparse.emplace_back(static_cast<uint32_t>(self_index_), slots_[self_index_].version);
  size_t n = slots_.size();
  size_t k = std::min(options_.sparse_heartbeats, n - 1);
  for (size_t j = 0; j < k; ++j) {
    size_t i = sparse_cursor_++ % n;
    if (i == self_index_) i = sparse_cursor_++ % n;
    m->sparse.emplace_back(static_cast<uint32_t>(i), slots_[i].version);
  }
}

gp::Message Membership::MakeSyn() const {
  gp::Message m;
  m.kind = gp::Kind::kSyn;
  m.from = self_id_;
  m.view_hash = ViewHash();
  m.view_size = static_cast<uint32_t>(slots_.size());
  AddHeartbeats(&m);
  return m;
}

bool Membership::AddEntry(const Slot& s, size_t* budget, std::vector<gp::NodeEntry>* out) const {
  size_t bytes = gp::EntryBytes(s.facts->entry);
  if (bytes > *budget || out->size() >= gp::kMaxMembers) return false;
  *budget -= bytes;
  out->push_back(EntryOf(s));
  return true;
}

gp::Message Membership::AnswerDigests(const std::vector<gp::Digest>& digests,
                                      const std::vector<uint32_t>& buckets) const {
  gp::Message m;
  m.kind = gp::Kind::kAck;
  m.from = self_id_;
  m.view_hash = ViewHash();
  m.view_size = static_cast<uint32_t>(slots_.size());
  size_t budget = options_.entry_budget_bytes;
  std::vector<bool> seen(slots_.size(), false);  // by slot: the peer has a digest for it
  for (const gp::Digest& d : digests) {
    bool found = false;
    size_t i = Lower(d.id, &found);
    if (!found) {
      if (m.requests.size() < gp::kMaxMembers) m.requests.push_back({d.id, {0, 0}});
      continue;
    }
    if (seen[i]) continue;  // a duplicate id counts once
    seen[i] = true;
    gp::Heartbeat mine = slots_[i].hb();
    if (mine > d.heartbeat) {
      AddEntry(slots_[i], &budget, &m.entries);
    } else if (mine < d.heartbeat && m.requests.size() < gp::kMaxMembers) {
      m.requests.push_back({d.id, mine});
    }
  }
  // What the peer lacks: members of the covered buckets it sent no digest for.
  std::vector<bool> covered(gp::kBuckets, buckets.empty());
  for (uint32_t b : buckets) {
    if (b < gp::kBuckets) covered[b] = true;
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!seen[i] && covered[slots_[i].facts->bucket]) AddEntry(slots_[i], &budget, &m.entries);
  }
  return m;
}

std::optional<gp::Message> Membership::Handle(const gp::Message& in) {
  for (const gp::NodeEntry& e : in.entries) MergeEntry(e);

  if (in.has_heartbeats || in.has_sparse) {
    bool match = in.view_hash == ViewHash() && in.view_size == slots_.size() &&
                 (!in.has_heartbeats || in.heartbeats.size() == slots_.size());
    if (match) {
      ++counters_.hash_matched;
      if (in.has_heartbeats) ApplyHeartbeats(in.heartbeats);
      for (const auto& [pos, ver] : in.sparse) {
        if (pos < slots_.size()) ApplyHeartbeat(pos, ver);
      }
    } else {
      ++counters_.hash_mismatched;
    }
    if (in.kind != gp::Kind::kSyn) return std::nullopt;  // an ACK's heartbeats end the exchange
    gp::Message reply;
    reply.kind = gp::Kind::kAck;
    reply.from = self_id_;
    reply.view_hash = ViewHash();
    reply.view_size = static_cast<uint32_t>(slots_.size());
    if (match) {
      AddHeartbeats(&reply);
    } else {
      reply.bucket_hashes = BucketHashes();
    }
    return reply;
  }

  if (in.bucket_hashes.size() == gp::kBuckets && in.kind == gp::Kind::kAck) {
    // The views differ: my digests of the buckets that differ.
    const std::vector<uint64_t>& mine = BucketHashes();
    gp::Message reply;
    reply.kind = gp::Kind::kAck;
    reply.from = self_id_;
    reply.view_hash = ViewHash();
    reply.view_size = static_cast<uint32_t>(slots_.size());
    for (uint32_t b = 0; b < gp::kBuckets; ++b) {
      if (mine[b] != in.bucket_hashes[b]) reply.buckets.push_back(b);
    }
    if (reply.buckets.empty()) return std::nullopt;
    reply.has_digests = true;
    reply.digests = DigestsOf(reply.buckets);
    return reply;
  }

  if (in.has_digests && in.kind != gp::Kind::kAck2) {
    gp::Message reply = AnswerDigests(in.digests, in.buckets);
    if (reply.entries.empty() && reply.requests.empty()) return std::nullopt;
    return reply;
  }

  if (!in.requests.empty()) {
    gp::Message reply;
    reply.kind = gp::Kind::kAck2;
    reply.from = self_id_;
    size_t budget = options_.entry_budget_bytes;
    for (const gp::Digest& r : in.requests) {
      bool found = false;
      size_t i = Lower(r.id, &found);
      if (found && slots_[i].hb() > r.heartbeat && !AddEntry(slots_[i], &budget, &reply.entries)) {
        break;
      }
    }
    if (reply.entries.empty()) return std::nullopt;
    return reply;
  }
  return std::nullopt;
}

}  // namespace ringkv::gossip
