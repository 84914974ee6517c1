// ReplicaStore::Open: identity first, then the real engine. Kept apart from replica_store.cc so
// unit tests that wrap a fake engine do not need the engine library's Open.
#include "storage-agent/identity.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {

Result<std::unique_ptr<ReplicaStore>> ReplicaStore::Open(engine::Options options) {
  auto actor = LoadOrCreateIdentity(options.dir);
  if (!actor.ok()) return actor.status();
  options.is_tombstone = &ReplicaStore::StateIsOnlyTombstones;
  auto eng = engine::Engine::Open(options);
  if (!eng.ok()) return eng.status();
  return std::make_unique<ReplicaStore>(std::move(*eng), *actor);
}

}  // namespace ringkv::storage
