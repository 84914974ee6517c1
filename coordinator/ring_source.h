// Where the coordinator's ring comes from. The ring can change at run time (gossip, next
// issue), so the coordinator asks its RingSource for changes about once a second and keeps
// serving from the last ring it had when the source cannot be read.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/ring/ring.h"
#include "common/status.h"

namespace ringkv::coordinator {

class RingSource {
 public:
  virtual ~RingSource() = default;
  // A ring when it changed since the last call (the first call always returns one), nullopt
  // when unchanged, an error when the source could not be read or held an invalid ring.
  // Called only from the coordinator's reactor thread.
  virtual Result<std::optional<Ring>> Poll() = 0;
  // For logs: "static", "ring.db /path".
  virtual std::string Describe() const = 0;
};

// A fixed ring (tests; a coordinator run without --ring-db).
std::unique_ptr<RingSource> StaticRingSource(Ring ring);

struct CoordinatorOptions;
// The source the options ask for: the ring db at opts.ring_db (seeded from opts.nodes when it
// is missing or empty), or the static --node membership when no ring db is given.
Result<std::unique_ptr<RingSource>> MakeRingSource(const CoordinatorOptions& opts);

}  // namespace ringkv::coordinator
