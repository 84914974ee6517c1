// KeyState: the siblings of one key with the dots that made them, and the dotted causal
// container operations on them (docs/versioning.md).
#include "common/version/key_state.h"

#include <algorithm>

#include "common/version/canonical_msgpack.h"
#include "common/version/context_codec.h"

namespace ringkv::version {
namespace {

bool DotLess(const Version& v, const Dot& d) { return v.dot < d; }

// Which of two versions carrying the same dot to keep. They are equal unless a dot was issued
// twice (a bug elsewhere); the choice must then still be deterministic so Sync stays commutative.
const Version& Pick(const Version& a, const Version& b) {
  if (a.tombstone != b.tombstone) return a.tombstone ? b : a;
  return a.value <= b.value ? a : b;
}

// The largest counter KeyState::Decode accepts (so MaxCounter + 1 never wraps in Decode's checks).
constexpr uint64_t kMaxStateCounter = UINT64_MAX - 1;

}  // namespace

uint64_t KeyState::NextCounter(const CausalContext& ctx, ActorId actor) const {
  return std::max(cc_.MaxCounter(actor), ctx.MaxCounter(actor)) + 1;
}

Dot KeyState::Update(const CausalContext& ctx, std::optional<std::string_view> value,
                     ActorId actor, uint64_t min_counter) {
  if (!ctx.empty()) {
    std::erase_if(versions_, [&](const Version& v) { return ctx.Covers(v.dot); });
    cc_.Merge(ctx);
  }
  const Dot dot{actor, std::max(cc_.MaxCounter(actor) + 1, min_counter)};
  // Claim (actor, 1..counter), not just the new dot: with a node-wide floor an actor's counters
  // for one key have gaps, and without this every write would leave one more cloud dot.
  cc_.AddUpTo(dot);
  // The new dot is the largest of its actor, so it goes right before the next actor's versions.
  auto it = std::lower_bound(versions_.begin(), versions_.end(), dot, DotLess);
  Version v;
  v.dot = dot;
  if (value) {
    v.value.assign(value->data(), value->size());
  } else {
    v.tombstone = true;
  }
  versions_.insert(it, std::move(v));
  return dot;
}

size_t KeyState::VersionCountAfterUpdate(const CausalContext& ctx) const {
  if (ctx.empty()) return versions_.size() + 1;
  size_t n = 1;
  for (const Version& v : versions_) n += ctx.Covers(v.dot) ? 0 : 1;
  return n;
}

void KeyState::Sync(const KeyState& other) {
  if (this == &other) return;
  // Fast path: identical states (a replica syncing what it already holds).
  if (versions_ == other.versions_ && cc_ == other.cc_) return;
  std::vector<Version> out;
  out.reserve(versions_.size() + other.versions_.size());
  auto a = versions_.begin();
  auto b = other.versions_.begin();
  while (a != versions_.end() || b != other.versions_.end()) {
    if (b == other.versions_.end() || (a != versions_.end() && a->dot < b->dot)) {
      // Only here: keep unless the other side has seen the dot (and so superseded it).
      if (!other.cc_.Covers(a->dot)) out.push_back(std::move(*a));
      ++a;
    } else if (a == versions_.end() || b->dot < a->dot) {
      if (!cc_.Covers(b->dot)) out.push_back(*b);
      ++b;
    } else {
      // Both hold it.
      out.push_back(&Pick(*a, *b) == &*a ? std::move(*a) : *b);
      ++a;
      ++b;
    }
  }
  versions_.swap(out);
  cc_.Merge(other.cc_);
}

std::vector<std::string> KeyState::LiveValues() const {
  std::vector<std::string> out;
  out.reserve(versions_.size());
  for (const Version& v : versions_) {
    if (!v.tombstone) out.push_back(v.value);
  }
  if (out.size() > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

bool KeyState::HasLive() const {
  return std::any_of(versions_.begin(), versions_.end(),
                     [](const Version& v) { return !v.tombstone; });
}

bool KeyState::OnlyTombstones() const { return !HasLive(); }

std::string KeyState::Encode() const {
  size_t size = 16 + (cc_.vector().size() + cc_.cloud().size()) * (1 + 2 * cmp::kMaxUintBytes);
  for (const Version& v : versions_) size += 1 + 2 * cmp::kMaxUintBytes + 5 + v.value.size();
  std::string out;
  out.reserve(size);
  out.push_back(kVersionFormat);
  cmp::PutArray(&out, 2);
  cc_.EncodeBodyTo(&out);
  cmp::PutArray(&out, static_cast<uint32_t>(versions_.size()));
  for (const Version& v : versions_) {
    cmp::PutArray(&out, 3);
    cmp::PutUint(&out, v.dot.actor);
    cmp::PutUint(&out, v.dot.counter);
    if (v.tombstone) {
      cmp::PutNil(&out);
    } else {
      cmp::PutBin(&out, v.value);
    }
  }
  return out;
}

Result<KeyState> KeyState::Decode(std::string_view bytes) {
  KeyState ks;
  if (bytes.empty()) return ks;
  if (bytes[0] != kVersionFormat)
    return Status::InvalidArgument("key state: unknown format version byte");
  cmp::Reader in(bytes.substr(1));
  const char* error = "malformed key state";
  auto fail = [&] { return Status::InvalidArgument(std::string("key state: ") + error); };
  if (!in.ArrayOf(2)) return fail();
  if (!ContextCodec::DecodeBody(&in, kMaxStateCounter, &ks.cc_, &error)) return fail();
  error = "malformed key state";
  uint32_t n;
  if (!in.Array(&n)) return fail();
  ks.versions_.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Version v;
    std::string_view value;
    if (!in.ArrayOf(3) || !in.Uint(&v.dot.actor) || !in.Uint(&v.dot.counter) ||
        !in.BinOrNil(&value, &v.tombstone)) {
      return fail();
    }
    if (v.dot.counter == 0) return (error = "version with counter 0"), fail();
    if (!ks.versions_.empty() && v.dot <= ks.versions_.back().dot) {
      error =
          v.dot == ks.versions_.back().dot ? "duplicate version dot" : "versions not sorted by dot";
      return fail();
    }
    if (!ks.cc_.Covers(v.dot)) return (error = "version dot not covered by the context"), fail();
    v.value.assign(value.data(), value.size());
    ks.versions_.push_back(std::move(v));
  }
  if (!in.AtEnd()) return (error = "trailing bytes"), fail();
  return ks;
}

}  // namespace ringkv::version
