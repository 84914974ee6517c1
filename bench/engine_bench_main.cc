// ringkv-engine-bench: db_bench-style workloads on one embedded engine (ringkv, LevelDB or
// RocksDB), single-threaded, one line per workload ("fillrandom ops_per_s=... ..."), then the
// on-disk size after a full compaction and the peak RSS. bench/engine-compare runs it once per
// engine in separate processes and tabulates medians; docs/benchmarks.md explains the output.
#include <sys/resource.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_db.h"
#include "bench/key_space.h"
#include "common/options.h"

namespace ringkv::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string engine;
  uint64_t num = 1000000;
  uint64_t sync_num = 20000;
  std::string dir;
  std::vector<std::string> workloads;
  size_t value_size = 100;
  uint64_t cache_bytes = 64ull << 20;
  int bloom_bits = 10;
  uint64_t seed = 301;
  bool cleanup = false;
};

Result<std::unique_ptr<BenchDb>> OpenDb(const BenchOptions& o, const std::string& dir, bool sync) {
  BenchDbOptions d;
  d.dir = dir;
  d.sync = sync;
  d.cache_bytes = o.cache_bytes;
  d.bloom_bits_per_key = o.bloom_bits;
  if (o.engine == "ringkv") return OpenRingkvDb(d);
  if (o.engine == "leveldb") return OpenLevelDb(d);
  return OpenRocksDb(d);
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) total += it->file_size(ec2);
  }
  return total;
}

void Report(const std::string& name, uint64_t ops, double seconds, uint64_t bytes,
            const std::string& extra) {
  const double s = seconds > 0 ? seconds : 1e-9;
  std::printf("%s ops_per_s=%.0f micros_per_op=%.3f ops=%" PRIu64 " seconds=%.3f mb_per_s=%.1f%s\n",
              name.c_str(), ops / s, ops ? seconds * 1e6 / ops : 0.0, ops, seconds,
              bytes / s / 1048576.0, extra.c_str());
  std::fflush(stdout);
}

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Writes `n` keys, each once, in the order of a seeded permutation.
Status Fill(BenchDb* db, uint64_t n, uint64_t seed, size_t value_size, const char* name) {
  KeyPermutation perm(n, seed);
  ValueGenerator values(seed);
  uint64_t bytes = 0;
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    const std::string key = FormatKey(perm.At(i));
    const std::string_view value = values.Next(value_size);
    RINGKV_RETURN_IF_ERROR(db->Put(key, value));
    bytes += key.size() + value.size();
  }
  Report(name, n, Since(t0), bytes, "");
  return Status::OK();
}

// Reads `n` random keys: present ones (indexes < num) or absent ones ('#'-suffixed).
Status Read(BenchDb* db, const BenchOptions& o, bool missing, const char* name) {
  std::mt19937_64 rng(o.seed + (missing ? 2 : 1));
  std::uniform_int_distribution<uint64_t> pick(0, o.num - 1);
  uint64_t found = 0, bytes = 0;
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < o.num; ++i) {
    const uint64_t idx = pick(rng);
    const std::string key = missing ? FormatMissingKey(idx) : FormatKey(idx);
    bool hit = false;
    size_t value_bytes = 0;
    RINGKV_RETURN_IF_ERROR(db->Get(key, &hit, &value_bytes));
    found += hit;
    bytes += key.size() + value_bytes;
  }
  const double secs = Since(t0);
  Report(name, o.num, secs, bytes, " found=" + std::to_string(found));
  const uint64_t expect = missing ? 0 : o.num;
  if (found != expect) {
    return Status::Internal(std::string(name) + ": found " + std::to_string(found) +
                            " keys, expected " + std::to_string(expect));
  }
  return Status::OK();
}

Status Scan(BenchDb* db, uint64_t expect_keys) {
  uint64_t keys = 0, bytes = 0;
  const auto t0 = Clock::now();
  RINGKV_RETURN_IF_ERROR(db->ScanAll(&keys, &bytes));
  Report("scan", keys, Since(t0), bytes, " keys=" + std::to_string(keys));
  if (expect_keys && keys != expect_keys) {
    return Status::Internal("scan saw " + std::to_string(keys) + " keys, expected " +
                            std::to_string(expect_keys));
  }
  return Status::OK();
}

Status Run(const BenchOptions& o) {
  const std::string main_dir = o.dir + "/" + o.engine + "-main";
  const std::string sync_dir = o.dir + "/" + o.engine + "-sync";
  bool fills = false;
  for (const auto& w : o.workloads) fills |= (w == "fillrandom");
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return Status::IOError("create " + o.dir + ": " + ec.message());
  // Only the subdirectories this program creates are ever removed.
  if (fills) fs::remove_all(main_dir, ec);

  std::unique_ptr<BenchDb> db;
  uint64_t filled = 0;
  for (const auto& w : o.workloads) {
    if (w == "fillsync") {
      fs::remove_all(sync_dir, ec);
      auto sdb = OpenDb(o, sync_dir, /*sync=*/true);
      if (!sdb.ok()) return sdb.status();
      RINGKV_RETURN_IF_ERROR(Fill(sdb->get(), o.sync_num, o.seed + 7, o.value_size, "fillsync"));
      continue;
    }
    if (!db) {
      auto opened = OpenDb(o, main_dir, /*sync=*/false);
      if (!opened.ok()) return opened.status();
      db = std::move(opened).value();
      std::printf("engine %s: %s\n", o.engine.c_str(), db->Describe().c_str());
    }
    if (w == "fillrandom") {
      RINGKV_RETURN_IF_ERROR(Fill(db.get(), o.num, o.seed, o.value_size, "fillrandom"));
      filled = o.num;
    } else if (w == "readrandom") {
      RINGKV_RETURN_IF_ERROR(Read(db.get(), o, false, "readrandom"));
    } else if (w == "readmissing") {
      RINGKV_RETURN_IF_ERROR(Read(db.get(), o, true, "readmissing"));
    } else if (w == "scan") {
      RINGKV_RETURN_IF_ERROR(Scan(db.get(), filled));
    }
  }
  if (db) {
    const auto t0 = Clock::now();
    RINGKV_RETURN_IF_ERROR(db->CompactAll());
    const double secs = Since(t0);
    db.reset();  // closed, so the size is what stays on disk
    std::printf("disk_bytes=%" PRIu64 " compact_seconds=%.3f\n", DirBytes(main_dir), secs);
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak_rss_kb=%ld cpu_user_s=%.3f cpu_sys_s=%.3f\n", ru.ru_maxrss,
              ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
              ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
  if (o.cleanup) {
    fs::remove_all(main_dir, ec);
    fs::remove_all(sync_dir, ec);
  }
  return Status::OK();
}

int Main(int argc, char** argv) {
  BenchOptions o;
  std::string workloads, cache;
  po::options_description desc("ringkv-engine-bench options");
  desc.add_options()
      ("engine", po::value<std::string>(&o.engine)->required(), "ringkv, leveldb or rocksdb")
      ("num", po::value<uint64_t>(&o.num)->default_value(1000000),
       "keys written by fillrandom and read by readrandom/readmissing")
      ("dir", po::value<std::string>(&o.dir)->required(),
       "working directory; the engine's data goes to DIR/ENGINE-main and DIR/ENGINE-sync")
      ("workloads", po::value<std::string>(&workloads)
           ->default_value("fillrandom,readrandom,readmissing,fillsync,scan"),
       "comma-separated, run in this order: fillrandom, readrandom, readmissing, fillsync, scan")
      ("value-size", po::value<size_t>(&o.value_size)->default_value(100), "value bytes")
      ("sync-num", po::value<uint64_t>(&o.sync_num)->default_value(20000),
       "writes of fillsync, each durable before the next")
      ("cache-bytes", po::value<std::string>(&cache)->default_value("64M"),
       "block cache of ringkv and LevelDB (RocksDB keeps its default)")
      ("bloom-bits", po::value<int>(&o.bloom_bits)->default_value(10), "Bloom bits per key")
      ("seed", po::value<uint64_t>(&o.seed)->default_value(301), "seed of keys and values")
      ("cleanup", po::bool_switch(&o.cleanup), "remove the engine's data directories at the end");
  po::variables_map vm;
  if (auto rc = ParseProgramOptions(argc, argv, "ringkv-engine-bench",
                                    "ringkv-engine-bench --engine ringkv|leveldb|rocksdb "
                                    "--num N --dir DIR [options]",
                                    desc, vm)) {
    return *rc;
  }
  auto fail = [](const std::string& msg) {
    std::cerr << "ringkv-engine-bench: " << msg << " (see --help)\n";
    return 2;
  };
  if (o.engine != "ringkv" && o.engine != "leveldb" && o.engine != "rocksdb") {
    return fail("--engine must be ringkv, leveldb or rocksdb");
  }
  if (o.num < 1 || o.num >= 1000000000000000ull) return fail("--num must be from 1 to 10^15-1");
  if (o.sync_num < 1 || o.sync_num >= 1000000000000000ull) return fail("--sync-num out of range");
  if (o.value_size > 65536) return fail("--value-size must be at most 65536");
  if (o.bloom_bits < 1 || o.bloom_bits > 64) return fail("--bloom-bits must be from 1 to 64");
  if (!ParseByteSize(cache, &o.cache_bytes)) return fail("--cache-bytes: bad size " + cache);
  std::stringstream ss(workloads);
  for (std::string w; std::getline(ss, w, ',');) {
    if (w.empty()) continue;
    if (w != "fillrandom" && w != "readrandom" && w != "readmissing" && w != "fillsync" &&
        w != "scan") {
      return fail("unknown workload '" + w + "'");
    }
    o.workloads.push_back(w);
  }
  if (o.workloads.empty()) return fail("--workloads is empty");
  Status s = Run(o);
  if (!s.ok()) {
    std::cerr << "ringkv-engine-bench: " << o.engine << ": " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace ringkv::bench

int main(int argc, char** argv) { return ringkv::bench::Main(argc, argv); }
