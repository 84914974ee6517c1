// Ring sources: a fixed ring, or the node's ring db (RingStore, SQLite) polled for new versions.
#include "coordinator/ring_source.h"

#include <filesystem>
#include <system_error>

#include "common/ring/ring_store.h"
#include "coordinator/coordinator_options.h"

namespace ringkv::coordinator {

namespace {

class Static final : public RingSource {
 public:
  explicit Static(Ring ring) : ring_(std::move(ring)) {}
  Result<std::optional<Ring>> Poll() override {
    if (given_) return std::optional<Ring>();
    given_ = true;
    return std::optional<Ring>(ring_);
  }
  std::string Describe() const override { return "static (from --node options)"; }

 private:
  Ring ring_;
  bool given_ = false;
};

// The ring db: one cheap Version() read per poll, a full Load only when it changed.
class Stored final : public RingSource {
 public:
  explicit Stored(std::unique_ptr<RingStore> store) : store_(std::move(store)) {}
  Result<std::optional<Ring>> Poll() override {
    auto version = store_->Version();
    if (!version.ok()) return version.status();
    if (loaded_ && *version == version_) return std::optional<Ring>();
    auto snap = store_->Load();
    if (!snap.ok()) return snap.status();
    if (snap->version == 0) return Status::Unavailable("the ring db has never been seeded");
    auto ring = snap->BuildRing();
    if (!ring.ok()) return ring.status();
    loaded_ = true;
    version_ = snap->version;
    return std::optional<Ring>(std::move(*ring));
  }
  std::string Describe() const override { return "from " + store_->path(); }

 private:
  std::unique_ptr<RingStore> store_;
  bool loaded_ = false;
  uint64_t version_ = 0;
};

}  // namespace

std::unique_ptr<RingSource> StaticRingSource(Ring ring) {
  return std::make_unique<Static>(std::move(ring));
}

Result<std::unique_ptr<RingSource>> MakeRingSource(const CoordinatorOptions& opts) {
  if (!opts.ring_db.empty()) {
    std::error_code ec;
    const auto dir = std::filesystem::path(opts.ring_db).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    auto store = RingStore::Open(opts.ring_db);
    if (!store.ok()) return store.status();
    if (!opts.nodes.empty()) {
      // Seed only a store nobody wrote yet: the gossip agent's ring wins over our options.
      auto seeded = (*store)->SeedIfEmpty(opts.nodes, opts.replication);
      if (!seeded.ok()) return seeded.status();
    }
    auto version = (*store)->Version();
    if (!version.ok()) return version.status();
    if (*version == 0) {
      return Status::InvalidArgument("--ring-db " + opts.ring_db +
                                     " holds no ring and no --node options were given to seed it");
    }
    return std::unique_ptr<RingSource>(std::make_unique<Stored>(std::move(*store)));
  }
  auto ring = Ring::Build(opts.nodes, opts.replication);
  if (!ring.ok()) return ring.status();
  return StaticRingSource(std::move(*ring));
}

}  // namespace ringkv::coordinator
