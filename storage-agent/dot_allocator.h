// DotAllocator: the node-wide floor under the counters of the dots a storage agent issues.
// Every new dot takes its counter from here (at least the key's own next counter), so counters
// grow across all keys and across restarts: a key whose state compaction dropped can never be
// given a dot that a context handed out earlier covers (docs/versioning.md, "The dot counter
// floor"). Kept in DATA/DOT_FLOOR as a hi-lo reservation, so there is no fsync per write.
//
// DATA/DOT_FLOOR is one line "ringkv-dot-floor <16 hex digits>\n": the reservation R. Counters up
// to R may have been issued; none above. R is raised (written to DOT_FLOOR.tmp, fsynced,
// renamed, directory fsynced) before any counter above it is returned, a block at a time, and a
// restart resumes at R + 1.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "common/version/causal_context.h"

namespace ringkv::storage {

inline constexpr char kDotFloorFile[] = "DOT_FLOOR";

class DotAllocator {
 public:
  // How many counters one reservation covers (at most that many are skipped per restart).
  static constexpr uint64_t kDefaultBlock = uint64_t{1} << 20;
  // Where a data directory from before DOT_FLOOR existed starts: above any per-key counter it
  // can hold (one per write of one key), so its old contexts cannot cover new dots.
  static constexpr uint64_t kLegacyStart = uint64_t{1} << 32;
  // The largest counter handed out: what a client's ctx may carry.
  static constexpr uint64_t kMaxCounter = version::kMaxContextCounter;

  enum class Start {
    kNew,      // new data directory: counters from 1
    kResumed,  // DOT_FLOOR read: counters from its reservation + 1
    kLegacy,   // older data directory without DOT_FLOOR: counters from kLegacyStart
  };

  // Opens DIR/DOT_FLOOR (DIR must exist). When it is missing, creates it: starting at 1 when
  // `new_dir` (the directory's identity was just created), else at kLegacyStart. A DOT_FLOOR
  // that does not parse is Corruption naming the file and offset (never replaced). A leftover
  // DOT_FLOOR.tmp is ignored. *start (when given) tells which case applied. The caller must
  // hold the directory (the engine's LOCK) so no other process writes the file.
  static Result<std::unique_ptr<DotAllocator>> Open(const std::string& dir, bool new_dir,
                                                    uint64_t block = kDefaultBlock,
                                                    Start* start = nullptr);
  // No file: counters from `first`, nothing persisted (tests with an in-memory engine).
  static std::unique_ptr<DotAllocator> InMemory(uint64_t first = 1);

  // A counter >= at_least and greater than every counter returned before (in this process and,
  // for an opened allocator, before any restart). Raises the persisted reservation first when
  // the counter is beyond it; IOError if that fails (nothing issued). InvalidArgument when the
  // counter would exceed kMaxCounter (only a forged context can ask for that).
  Result<uint64_t> Next(uint64_t at_least);

  // The counter Next(0) would return now: every counter issued so far is below it.
  uint64_t next() const;
  // The persisted reservation (0 for InMemory and before the first reservation).
  uint64_t reserved() const;

 private:
  DotAllocator(std::string dir, uint64_t block, uint64_t next, uint64_t reserved);
  Status Persist(uint64_t reservation);

  const std::string dir_;  // empty: in memory
  const uint64_t block_;
  mutable std::mutex mu_;
  uint64_t next_;      // guarded by mu_
  uint64_t reserved_;  // guarded by mu_; counters <= reserved_ may be handed out
};

}  // namespace ringkv::storage
