// The fixed ring source.
#include "coordinator/ring_source.h"

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

}  // namespace

std::unique_ptr<RingSource> StaticRingSource(Ring ring) {
  return std::make_unique<Static>(std::move(ring));
}

Result<std::unique_ptr<RingSource>> MakeRingSource(const CoordinatorOptions& opts) {
  if (!opts.ring_db.empty()) {
    return Status::InvalidArgument("--ring-db is not supported by this build yet");
  }
  auto ring = Ring::Build(opts.nodes, opts.replication);
  if (!ring.ok()) return ring.status();
  return StaticRingSource(std::move(*ring));
}

}  // namespace ringkv::coordinator
