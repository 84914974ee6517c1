// KeyState: everything one replica knows about one key — its live versions (siblings), each a
// value or a tombstone tagged with the dot that created it, and the causal context of every dot
// the replica has seen. update() is what the coordinating replica runs for a client's put or
// delete; sync() merges states between replicas (replication, read repair, hints,
// anti-entropy). The rules and their proofs are in docs/versioning.md.
//
// Thread-safety: none inside; a const KeyState may be read from several threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/version/causal_context.h"

namespace ringkv::version {

struct Version {
  Dot dot;
  bool tombstone = false;
  std::string value;  // empty for a tombstone
  bool operator==(const Version&) const = default;
};

class KeyState {
 public:
  // Applies a client write arriving with context `ctx` at actor `actor`: drops every version
  // whose dot `ctx` covers, adds ctx to the state's context, and adds the new version with dot
  // (actor, max(NextCounter(ctx, actor), min_counter)). `value` nullopt writes a tombstone.
  // The context then holds every dot (actor, 1..counter): counters below the new one that the
  // state has not seen were never issued for this key, or were forgotten with a dropped
  // only-tombstone state (docs/versioning.md, "The dot counter floor"), so claiming them keeps
  // the context one vector entry per actor although counters jump.
  // `min_counter` is the storage agent's node-wide floor (storage-agent/dot_allocator.h): it
  // keeps a key whose state compaction dropped from reissuing counters an old ctx covers.
  // Returns the new dot. Versions not covered by ctx stay (the siblings).
  // REQUIRES: max(NextCounter(ctx, actor), min_counter) < UINT64_MAX.
  Dot Update(const CausalContext& ctx, std::optional<std::string_view> value, ActorId actor,
             uint64_t min_counter = 0);

  // The smallest counter Update(ctx, ..., actor) can give the new dot: one more than the
  // largest counter of `actor` in the state's context and in `ctx`.
  uint64_t NextCounter(const CausalContext& ctx, ActorId actor) const;

  // VersionCount() that Update(ctx, ...) would leave, without changing anything: the versions
  // `ctx` does not cover, plus the new one. The sibling cap is checked with this before writing.
  size_t VersionCountAfterUpdate(const CausalContext& ctx) const;

  // Merges `other` into this state: a version survives when both sides hold it, or when the
  // side without it has not seen its dot. Commutative, associative and idempotent.
  void Sync(const KeyState& other);

  // Number of versions (live values and tombstones) — what the sibling cap counts.
  size_t VersionCount() const { return versions_.size(); }
  // Distinct live (non-tombstone) values, each once, sorted bytewise.
  std::vector<std::string> LiveValues() const;
  bool HasLive() const;
  // True when there is nothing but tombstones (or nothing at all): what compaction may drop
  // once the grace period has passed.
  bool OnlyTombstones() const;

  const std::vector<Version>& versions() const { return versions_; }
  const CausalContext& context() const { return cc_; }

  // Canonical encoding (versions sorted by dot): equal states encode to equal bytes.
  // kVersionFormat, then MessagePack [context, [[actor, counter, bin | nil], ...]] where a nil
  // value is a tombstone and context is CausalContext's MessagePack part (docs/versioning.md).
  std::string Encode() const;
  // Corruption-free decoding: InvalidArgument for anything that is not a valid canonical
  // encoding, including a version whose dot the context does not cover or a duplicate dot.
  // Never crashes, never throws. The empty string decodes to the empty state.
  static Result<KeyState> Decode(std::string_view bytes);

  bool operator==(const KeyState&) const = default;

 private:
  std::vector<Version> versions_;  // sorted by dot
  CausalContext cc_;               // covers every dot in versions_
};

}  // namespace ringkv::version
