// CausalContext: the set of dots (actor, counter) a replica or a client has seen, kept as a
// version vector plus a "cloud" of dots beyond it (a dotted version vector in the general form;
// see docs/versioning.md). This is what travels to clients as the opaque `ctx`.
//
// Thread-safety: none inside; a const CausalContext may be read from several threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ringkv::version {

// An actor is one incarnation of a storage agent's data directory: a random 64-bit id made
// when the directory is created (so a wiped node never reuses dots; docs/versioning.md).
using ActorId = uint64_t;

struct Dot {
  ActorId actor = 0;
  uint64_t counter = 0;  // >= 1
  auto operator<=>(const Dot&) const = default;
};

// Format version byte that starts every encoded CausalContext and KeyState.
inline constexpr char kVersionFormat = 0x01;
// The largest counter CausalContext::Decode accepts. A context comes from clients, and a forged
// huge counter must not let the coordinating replica's next dot wrap around; real counters
// (one per write of one key at one actor) never come near it.
inline constexpr uint64_t kMaxContextCounter = uint64_t{1} << 62;

class CausalContext {
 public:
  // True when `d` is in the vector (counter <= vv[actor]) or in the cloud.
  bool Covers(const Dot& d) const;
  // Adds one dot, then folds cloud dots that became contiguous into the vector.
  // A dot with counter 0 is not a dot and is ignored.
  void Add(const Dot& d);
  // Adds every dot (d.actor, 1..d.counter): the vector entry of d.actor becomes at least
  // d.counter, and that actor's cloud dots now covered or contiguous are folded into it.
  // KeyState::Update uses it to claim an actor's whole range up to a new dot (why that is sound:
  // docs/versioning.md, "The dot counter floor"). Counter 0 is ignored.
  void AddUpTo(const Dot& d);
  // Set union; commutative, associative, idempotent.
  void Merge(const CausalContext& other);
  // The largest counter of `actor` seen (vector or cloud); 0 when none.
  uint64_t MaxCounter(ActorId actor) const;
  bool empty() const { return vv_.empty() && cloud_.empty(); }

  // The version vector as (actor, n) pairs sorted by actor, each n >= 1: every counter 1..n of
  // that actor is in the set.
  const std::vector<Dot>& vector() const { return vv_; }
  // The dots beyond the vector, sorted; each has counter > vv[actor] + 1 (always compacted).
  const std::vector<Dot>& cloud() const { return cloud_; }

  // Canonical compact encoding: kVersionFormat, then MessagePack
  // [[[actor, n], ...], [[actor, counter], ...]] (docs/versioning.md). Equal sets encode equally.
  std::string Encode() const;
  // Appends the MessagePack part only (no format byte); used inside KeyState's encoding.
  void EncodeBodyTo(std::string* dst) const;
  // InvalidArgument for anything that is not a valid canonical encoding (never crashes, never
  // throws), including a counter of 0 or above kMaxContextCounter, an unsorted or duplicate
  // entry, or a cloud dot that compaction would have folded into the vector. The empty string
  // decodes to the empty context (a client that sent no ctx).
  static Result<CausalContext> Decode(std::string_view bytes);

  bool operator==(const CausalContext&) const = default;

 private:
  friend class ContextCodec;
  // Folds cloud dots covered by or contiguous with the vector into it.
  void Compact();
  std::vector<Dot> vv_;     // sorted by actor; counter field holds n
  std::vector<Dot> cloud_;  // sorted; seen dots not contiguous with vv_
};

}  // namespace ringkv::version
