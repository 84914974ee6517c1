// ReplicaStore::Open: identity first, then the real engine, then the actor decision (a new id
// unless the last stop was provably clean), then the dot counter floor. Kept apart from
// replica_store.cc so unit tests that wrap a fake engine do not need the engine library's Open.
#include <cinttypes>
#include <cstdio>

#include "common/logging.h"
#include "storage-agent/clean_shutdown.h"
#include "storage-agent/dot_allocator.h"
#include "storage-agent/identity.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {

namespace {

std::string Hex(version::ActorId a) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, a);
  return buf;
}

// Why this start cannot prove that the directory kept every state its actor acknowledged, or
// nullptr when it can (docs/versioning.md, "Actor ids").
const char* ReasonForNewActor(LastStop last, bool salvaged, bool forced) {
  if (forced) return "--new-actor given";
  if (salvaged) return "--salvage skipped commit log records";
  if (last != LastStop::kClean) return LastStopName(last);
  return nullptr;
}

}  // namespace

Result<std::unique_ptr<ReplicaStore>> ReplicaStore::Open(engine::Options options,
                                                        const OpenOptions& open) {
  bool new_dir = false;
  auto actor = LoadOrCreateIdentity(options.dir, &new_dir);
  if (!actor.ok()) return actor.status();
  options.is_tombstone = &ReplicaStore::StateIsOnlyTombstones;
  // The engine reaches the store (built below) through `hooks`; until then, and with the tree
  // off or not ready yet, no tombstone is dropped.
  auto hooks = std::make_shared<Hooks>();
  options.may_drop_tombstone = [hooks](std::string_view key, int64_t write_time_ms) {
    std::shared_lock<std::shared_mutex> l(hooks->mu);
    return hooks->store != nullptr && hooks->store->MayDropTombstone(key, write_time_ms);
  };
  options.before_drop = [hooks](const std::vector<engine::KeyValue>& dropped) {
    std::shared_lock<std::shared_mutex> l(hooks->mu);
    if (hooks->store != nullptr) hooks->store->BeforeDrop(dropped);
  };
  options.after_drop = [hooks](const std::vector<engine::KeyValue>& dropped, bool installed) {
    std::shared_lock<std::shared_mutex> l(hooks->mu);
    if (hooks->store != nullptr) hooks->store->AfterDrop(dropped, installed);
  };
  // An IDENTITY from an earlier start means the engine's MANIFEST must be there too: without
  // it the engine refuses to open rather than take the directory for a new one.
  if (!new_dir) options.prior_files.push_back(kIdentityFile);
  auto eng = engine::Engine::Open(options);
  if (!eng.ok()) return eng.status();
  // After the engine: it holds the directory's LOCK, so no second agent reads or writes the
  // marker, IDENTITY or DOT_FLOOR. The marker is consumed before any dot is issued.
  auto last = ConsumeCleanShutdown(options.dir, *actor);
  if (!last.ok()) return last.status();
  const bool salvaged = options.salvage && (*eng)->Stats().salvaged_records > 0;
  const char* why = new_dir ? nullptr : ReasonForNewActor(*last, salvaged, open.new_actor);
  version::ActorId id = *actor;
  if (why != nullptr) {
    auto renewed = RenewIdentity(options.dir, id);
    if (!renewed.ok()) return renewed.status();
    RINGKV_LOG(kWarn) << options.dir << ": new actor " << Hex(*renewed) << " replaces "
                      << Hex(id) << " (" << why
                      << "): this start cannot prove it kept every state the old actor "
                         "acknowledged, so no dot of the old actor is issued again";
    id = *renewed;
  }
  DotAllocator::Start start;
  auto dots = DotAllocator::Open(options.dir, new_dir, DotAllocator::kDefaultBlock, &start);
  if (!dots.ok()) return dots.status();
  if (start == DotAllocator::Start::kLegacy) {
    RINGKV_LOG(kWarn) << options.dir << " has no " << kDotFloorFile
                      << " (made before it existed): new dot counters start at "
                      << DotAllocator::kLegacyStart;
  }
  auto store = std::make_unique<ReplicaStore>(std::move(*eng), id, std::move(*dots));
  store->dir_ = options.dir;
  store->renewed_actor_ = why != nullptr;
  if (!open.aae) store->tree_.reset();
  store->marks_ = RepairMarks::Load(options.dir);
  store->SetTombstoneRule(options.tombstone_grace_ms, options.clock);
  {
    std::unique_lock<std::shared_mutex> l(hooks->mu);
    hooks->store = store.get();
  }
  store->hooks_ = std::move(hooks);
  return store;
}

Status ReplicaStore::CloseCleanly() {
  RINGKV_RETURN_IF_ERROR(engine_->Flush());
  if (dir_.empty()) return Status::OK();
  return WriteCleanShutdown(dir_, actor_);
}

}  // namespace ringkv::storage
