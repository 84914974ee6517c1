// Stand-ins for engines not compiled into ringkv-engine-bench (the ringkv engine before it is
// implemented, or LevelDB/RocksDB with -DRINGKV_BENCH_PEERS=OFF): each says so clearly.
#include "bench/bench_db.h"

namespace ringkv::bench {

#ifndef RINGKV_BENCH_HAVE_RINGKV
Result<std::unique_ptr<BenchDb>> OpenRingkvDb(const BenchDbOptions&) {
  return Status::Unavailable("the ringkv engine was not built into this binary "
                             "(storage-agent/engine has no Engine::Open yet); re-run cmake");
}
#endif
#ifndef RINGKV_BENCH_HAVE_PEERS
Result<std::unique_ptr<BenchDb>> OpenLevelDb(const BenchDbOptions&) {
  return Status::Unavailable("built with -DRINGKV_BENCH_PEERS=OFF: no LevelDB");
}
Result<std::unique_ptr<BenchDb>> OpenRocksDb(const BenchDbOptions&) {
  return Status::Unavailable("built with -DRINGKV_BENCH_PEERS=OFF: no RocksDB");
}
#endif

}  // namespace ringkv::bench
