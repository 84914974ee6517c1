// BenchDb over ringkv's own engine (storage-agent/engine): default options, commit log on;
// sync mode none for the plain fills and always for fillsync. A full scan walks the whole token
// range in pages through Engine::Scan, as the storage agent's scan op does.
#include <limits>
#include <optional>
#include <vector>

#include "bench/bench_db.h"
#include "storage-agent/engine/engine.h"

namespace ringkv::bench {
namespace {

constexpr size_t kScanPage = 1000;

class RingkvDb : public BenchDb {
 public:
  explicit RingkvDb(const BenchDbOptions& o) : options_(o) {}

  Status Open() {
    engine::Options eo;
    eo.dir = options_.dir;
    eo.sync_mode = options_.sync ? engine::SyncMode::kAlways : engine::SyncMode::kNone;
    eo.block_cache_bytes = options_.cache_bytes;
    eo.bloom_bits_per_key = options_.bloom_bits_per_key;
    auto opened = engine::Engine::Open(eo);
    if (!opened.ok()) return opened.status();
    engine_ = std::move(opened).value();
    return Status::OK();
  }

  Status Put(std::string_view key, std::string_view value) override {
    return engine_->Put(key, value);
  }

  Status Get(std::string_view key, bool* found, size_t* value_bytes) override {
    auto r = engine_->Get(key);
    if (!r.ok()) return r.status();
    *found = r->has_value();
    *value_bytes = *found ? (*r)->size() : 0;
    return Status::OK();
  }

  Status ScanAll(uint64_t* keys, uint64_t* bytes) override {
    *keys = 0;
    *bytes = 0;
    std::optional<engine::ScanCursor> after;
    std::vector<engine::KeyValue> page;
    // Bounded: each page advances the cursor strictly; the engine holds finitely many keys.
    for (bool more = true; more;) {
      page.clear();
      RINGKV_RETURN_IF_ERROR(engine_->Scan(0, std::numeric_limits<Token>::max(), after,
                                           kScanPage, &page, &more));
      if (page.empty()) break;
      for (const auto& kv : page) {
        ++*keys;
        *bytes += kv.key.size() + kv.value.size();
      }
      after = engine::ScanCursor{TokenOf(page.back().key), page.back().key};
    }
    return Status::OK();
  }

  Status CompactAll() override {
    RINGKV_RETURN_IF_ERROR(engine_->Flush());
    return engine_->CompactAll();
  }

  std::string Describe() const override {
    return "ringkv engine defaults, bloom " + std::to_string(options_.bloom_bits_per_key) +
           " bits/key, block cache " + std::to_string(options_.cache_bytes >> 20) +
           " MiB, sync " + (options_.sync ? "always" : "none");
  }

 private:
  const BenchDbOptions options_;
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace

Result<std::unique_ptr<BenchDb>> OpenRingkvDb(const BenchDbOptions& options) {
  auto db = std::make_unique<RingkvDb>(options);
  Status s = db->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<BenchDb>(std::move(db));
}

}  // namespace ringkv::bench
