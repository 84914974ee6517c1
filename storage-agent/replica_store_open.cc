// ReplicaStore::Open: identity first, then the real engine, then the dot counter floor. Kept
// apart from replica_store.cc so unit tests that wrap a fake engine do not need the engine
// library's Open.
#include "common/logging.h"
#include "storage-agent/dot_allocator.h"
#include "storage-agent/identity.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {

Result<std::unique_ptr<ReplicaStore>> ReplicaStore::Open(engine::Options options) {
  bool new_dir = false;
  auto actor = LoadOrCreateIdentity(options.dir, &new_dir);
  if (!actor.ok()) return actor.status();
  options.is_tombstone = &ReplicaStore::StateIsOnlyTombstones;
  auto eng = engine::Engine::Open(options);
  if (!eng.ok()) return eng.status();
  // After the engine: it holds the directory's LOCK, so no second agent writes DOT_FLOOR.
  DotAllocator::Start start;
  auto dots = DotAllocator::Open(options.dir, new_dir, DotAllocator::kDefaultBlock, &start);
  if (!dots.ok()) return dots.status();
  if (start == DotAllocator::Start::kLegacy) {
    RINGKV_LOG(kWarn) << options.dir << " has no " << kDotFloorFile
                      << " (made before it existed): new dot counters start at "
                      << DotAllocator::kLegacyStart;
  }
  return std::make_unique<ReplicaStore>(std::move(*eng), *actor, std::move(*dots));
}

}  // namespace ringkv::storage
