// CausalContext: the set of dots (actor, counter) a replica or a client has seen, kept as a
// version vector plus a "cloud" of dots beyond it (a dotted version vector in the general form;
// see docs/versioning.md). This is what travels to clients as the opaque `ctx`.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

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

class CausalContext {
 public:
  // True when `d` is in the vector (counter <= vv[actor]) or in the cloud.
  bool Covers(const Dot& d) const;
  // Adds one dot, then folds cloud dots that became contiguous into the vector.
  void Add(const Dot& d);
  // Set union; commutative, associative, idempotent.
  void Merge(const CausalContext& other);
  // The largest counter of `actor` seen (vector or cloud); 0 when none.
  uint64_t MaxCounter(ActorId actor) const;
  bool empty() const { return vv_.empty() && cloud_.empty(); }

  const std::map<ActorId, uint64_t>& vector() const { return vv_; }
  const std::set<Dot>& cloud() const { return cloud_; }

  // Canonical compact encoding (a version byte, then MessagePack); equal sets encode equally.
  std::string Encode() const;
  // InvalidArgument for anything that is not a valid encoding (never crashes, never throws).
  static Result<CausalContext> Decode(std::string_view bytes);

  bool operator==(const CausalContext&) const = default;

 private:
  void Compact();
  std::map<ActorId, uint64_t> vv_;  // actor -> every counter 1..n seen
  std::set<Dot> cloud_;             // seen dots not contiguous with vv_
};

}  // namespace ringkv::version
