// CausalContext: a set of dots as a version vector plus a compacted cloud, and its canonical
// encoding (docs/versioning.md, "The ctx encoding").
#include "common/version/causal_context.h"

#include <algorithm>

#include "common/version/canonical_msgpack.h"
#include "common/version/context_codec.h"

namespace ringkv::version {
namespace {

bool ActorLess(const Dot& a, ActorId b) { return a.actor < b; }

// The vector entry of `actor`, or nullptr.
const Dot* FindEntry(const std::vector<Dot>& vv, ActorId actor) {
  auto it = std::lower_bound(vv.begin(), vv.end(), actor, ActorLess);
  return (it != vv.end() && it->actor == actor) ? &*it : nullptr;
}

}  // namespace

bool CausalContext::Covers(const Dot& d) const {
  const Dot* e = FindEntry(vv_, d.actor);
  if (e && d.counter <= e->counter) return true;
  return !cloud_.empty() && std::binary_search(cloud_.begin(), cloud_.end(), d);
}

uint64_t CausalContext::MaxCounter(ActorId actor) const {
  const Dot* e = FindEntry(vv_, actor);
  uint64_t n = e ? e->counter : 0;
  if (!cloud_.empty()) {
    // The last cloud dot of `actor`: the one before the first dot of a larger actor.
    auto it = std::lower_bound(cloud_.begin(), cloud_.end(), Dot{actor + 1, 0});
    if (actor == UINT64_MAX) it = cloud_.end();
    if (it != cloud_.begin() && std::prev(it)->actor == actor)
      n = std::max(n, std::prev(it)->counter);
  }
  return n;
}

void CausalContext::Add(const Dot& d) {
  if (d.counter == 0) return;
  auto it = std::lower_bound(vv_.begin(), vv_.end(), d.actor, ActorLess);
  const bool has = it != vv_.end() && it->actor == d.actor;
  const uint64_t n = has ? it->counter : 0;
  if (d.counter <= n) return;
  if (d.counter == n + 1) {
    if (has) {
      it->counter = d.counter;
    } else {
      it = vv_.insert(it, d);
    }
    // Fold the cloud dots of this actor that are now contiguous.
    if (!cloud_.empty()) {
      auto c = std::lower_bound(cloud_.begin(), cloud_.end(), Dot{d.actor, d.counter + 1});
      auto first = c;
      while (c != cloud_.end() && c->actor == d.actor && c->counter == it->counter + 1) {
        it->counter = c->counter;
        ++c;
      }
      cloud_.erase(first, c);
    }
    return;
  }
  auto c = std::lower_bound(cloud_.begin(), cloud_.end(), d);
  if (c != cloud_.end() && *c == d) return;
  cloud_.insert(c, d);
}

void CausalContext::AddUpTo(const Dot& d) {
  if (d.counter == 0) return;
  auto it = std::lower_bound(vv_.begin(), vv_.end(), d.actor, ActorLess);
  if (it != vv_.end() && it->actor == d.actor) {
    if (d.counter <= it->counter) return;
    it->counter = d.counter;
  } else {
    it = vv_.insert(it, d);
  }
  if (cloud_.empty()) return;
  // This actor's cloud dots are sorted by counter: drop the covered ones and fold those that
  // became contiguous; the first one beyond a gap and all after it stay.
  auto first = std::lower_bound(cloud_.begin(), cloud_.end(), Dot{d.actor, 0});
  auto c = first;
  while (c != cloud_.end() && c->actor == d.actor && c->counter <= it->counter + 1) {
    it->counter = std::max(it->counter, c->counter);
    ++c;
  }
  cloud_.erase(first, c);
}

void CausalContext::Merge(const CausalContext& other) {
  if (other.empty()) return;
  if (empty()) {
    *this = other;
    return;
  }
  // Vector: per actor the larger n (a sorted merge).
  if (vv_ != other.vv_) {
    std::vector<Dot> merged;
    merged.reserve(vv_.size() + other.vv_.size());
    auto a = vv_.begin();
    auto b = other.vv_.begin();
    while (a != vv_.end() || b != other.vv_.end()) {
      if (b == other.vv_.end() || (a != vv_.end() && a->actor < b->actor)) {
        merged.push_back(*a++);
      } else if (a == vv_.end() || b->actor < a->actor) {
        merged.push_back(*b++);
      } else {
        merged.push_back(Dot{a->actor, std::max(a->counter, b->counter)});
        ++a;
        ++b;
      }
    }
    vv_.swap(merged);
  }
  // Cloud: union, then compaction against the new vector.
  if (!other.cloud_.empty()) {
    std::vector<Dot> merged;
    merged.reserve(cloud_.size() + other.cloud_.size());
    std::set_union(cloud_.begin(), cloud_.end(), other.cloud_.begin(), other.cloud_.end(),
                   std::back_inserter(merged));
    cloud_.swap(merged);
  }
  if (!cloud_.empty()) Compact();
}

void CausalContext::Compact() {
  // One pass over the sorted cloud, walking the sorted vector alongside. Within one actor the
  // cloud is sorted by counter, so each dot is either covered (drop), next in line (extend the
  // vector, drop) or beyond a gap (keep; every later dot of that actor stays too).
  std::vector<Dot> new_vv;
  bool vv_changed = false;
  size_t keep = 0;
  auto v = vv_.begin();
  for (size_t i = 0; i < cloud_.size();) {
    const ActorId actor = cloud_[i].actor;
    while (v != vv_.end() && v->actor < actor) {
      if (vv_changed) new_vv.push_back(*v);
      ++v;
    }
    const bool has = v != vv_.end() && v->actor == actor;
    uint64_t n = has ? v->counter : 0;
    const uint64_t n0 = n;
    for (; i < cloud_.size() && cloud_[i].actor == actor; ++i) {
      const uint64_t c = cloud_[i].counter;
      if (c <= n) continue;
      if (c == n + 1) {
        n = c;
        continue;
      }
      cloud_[keep++] = cloud_[i];
    }
    if (n != n0 && !vv_changed) {
      vv_changed = true;
      new_vv.reserve(vv_.size() + 1);
      new_vv.assign(vv_.begin(), v);
    }
    if (vv_changed && n != 0) new_vv.push_back(Dot{actor, n});
    if (has) ++v;
  }
  cloud_.resize(keep);
  if (vv_changed) {
    for (; v != vv_.end(); ++v) new_vv.push_back(*v);
    vv_.swap(new_vv);
  }
}

void CausalContext::EncodeBodyTo(std::string* dst) const {
  cmp::PutArray(dst, 2);
  cmp::PutArray(dst, static_cast<uint32_t>(vv_.size()));
  for (const Dot& e : vv_) {
    cmp::PutArray(dst, 2);
    cmp::PutUint(dst, e.actor);
    cmp::PutUint(dst, e.counter);
  }
  cmp::PutArray(dst, static_cast<uint32_t>(cloud_.size()));
  for (const Dot& d : cloud_) {
    cmp::PutArray(dst, 2);
    cmp::PutUint(dst, d.actor);
    cmp::PutUint(dst, d.counter);
  }
}

std::string CausalContext::Encode() const {
  std::string out;
  out.reserve(3 + (vv_.size() + cloud_.size()) * (1 + 2 * cmp::kMaxUintBytes) + 10);
  out.push_back(kVersionFormat);
  EncodeBodyTo(&out);
  return out;
}

bool ContextCodec::DecodeBody(cmp::Reader* in, uint64_t max_counter, CausalContext* out,
                              const char** error) {
  *error = "malformed context";
  uint32_t n;
  if (!in->ArrayOf(2) || !in->Array(&n)) return false;
  out->vv_.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Dot e;
    if (!in->ArrayOf(2) || !in->Uint(&e.actor) || !in->Uint(&e.counter)) return false;
    if (e.counter == 0) return (*error = "context vector entry with counter 0"), false;
    if (e.counter > max_counter) return (*error = "context counter out of range"), false;
    if (!out->vv_.empty() && e.actor <= out->vv_.back().actor) {
      *error = e.actor == out->vv_.back().actor ? "duplicate actor in context vector"
                                                 : "context vector not sorted by actor";
      return false;
    }
    out->vv_.push_back(e);
  }
  if (!in->Array(&n)) return false;
  out->cloud_.reserve(n);
  auto v = out->vv_.cbegin();
  for (uint32_t i = 0; i < n; ++i) {
    Dot d;
    if (!in->ArrayOf(2) || !in->Uint(&d.actor) || !in->Uint(&d.counter)) return false;
    if (d.counter == 0) return (*error = "context cloud dot with counter 0"), false;
    if (d.counter > max_counter) return (*error = "context counter out of range"), false;
    if (!out->cloud_.empty() && d <= out->cloud_.back()) {
      *error =
          d == out->cloud_.back() ? "duplicate dot in context cloud" : "context cloud not sorted";
      return false;
    }
    while (v != out->vv_.cend() && v->actor < d.actor) ++v;
    const uint64_t vn = (v != out->vv_.cend() && v->actor == d.actor) ? v->counter : 0;
    // Compacted: the dot is neither covered by the vector nor next in line after it (the
    // counters are at most max_counter < UINT64_MAX, so vn + 1 cannot wrap). The previous
    // cloud dot of the same actor, being smaller, already passed the same test.
    if (d.counter <= vn + 1)
      return (*error = "context cloud dot not compacted into the vector"), false;
    out->cloud_.push_back(d);
  }
  return true;
}

Result<CausalContext> CausalContext::Decode(std::string_view bytes) {
  CausalContext cc;
  if (bytes.empty()) return cc;
  if (bytes[0] != kVersionFormat)
    return Status::InvalidArgument("ctx: unknown format version byte");
  cmp::Reader in(bytes.substr(1));
  const char* error;
  if (!ContextCodec::DecodeBody(&in, kMaxContextCounter, &cc, &error)) {
    return Status::InvalidArgument(std::string("ctx: ") + error);
  }
  if (!in.AtEnd()) return Status::InvalidArgument("ctx: trailing bytes");
  return cc;
}

}  // namespace ringkv::version
