// ringkv-aae-cost: what keeping the anti-entropy tree current costs writes. Runs the same write
// load on a fresh ReplicaStore (the real engine, in a temporary directory) with the tree on and
// off, alternating, `--rounds` times each, and prints ops/s per run and the medians. Writes are
// ReplicaStore::Update of random keys from `--threads` threads (a third overwrite existing
// keys), with the commit log under `--sync` (default none: no fsync, so the tree's CPU cost is
// not hidden behind the disk: the worst case).
//   ringkv-aae-cost [--ops 200000] [--threads 2] [--value-size 100] [--rounds 3] [--sync none]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage-agent/replica_store.h"

namespace ringkv {
namespace {

struct Args {
  int ops = 200000;
  int threads = 2;
  int value_size = 100;
  int rounds = 3;
  std::string sync = "none";
};

double RunOnce(const Args& a, bool aae) {
  char tmpl[] = "/tmp/ringkv-aae-cost-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (dir == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  engine::Options o;
  o.dir = dir;
  engine::ParseSyncMode(a.sync, &o.sync_mode);
  o.memtable_bytes = 32ull << 20;
  storage::ReplicaStore::OpenOptions open;
  open.aae = aae;
  double ops_per_s = 0;
  {
    auto store = storage::ReplicaStore::Open(o, open);
    if (!store.ok()) {
      std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
      std::exit(1);
    }
    if (Status s = (*store)->RebuildAaeNow(); !s.ok()) std::exit(1);
    const std::string value(static_cast<size_t>(a.value_size), 'v');
    std::atomic<int> next{0};
    std::atomic<bool> failed{false};
    const int key_space = a.ops * 2 / 3;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < a.threads; ++t) {
      ts.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1);
        while (next.fetch_add(1) < a.ops) {
          const std::string key = "user" + std::to_string(rng() % static_cast<unsigned>(key_space));
          auto r = (*store)->Update(key, version::CausalContext(), value, 1000000);
          if (!r.ok()) failed.store(true);
        }
      });
    }
    for (auto& t : ts) t.join();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed.load()) {
      std::fprintf(stderr, "a write failed\n");
      std::exit(1);
    }
    ops_per_s = a.ops / secs;
  }
  std::filesystem::remove_all(dir);
  return ops_per_s;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--ops") a.ops = std::atoi(v.c_str());
    else if (k == "--threads") a.threads = std::atoi(v.c_str());
    else if (k == "--value-size") a.value_size = std::atoi(v.c_str());
    else if (k == "--rounds") a.rounds = std::atoi(v.c_str());
    else if (k == "--sync") a.sync = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.ops < 1 || a.threads < 1 || a.rounds < 1 || a.value_size < 0) {
    std::fprintf(stderr, "bad option value\n");
    return 2;
  }
  std::vector<double> on, off;
  for (int r = 0; r < a.rounds; ++r) {
    // Alternating, so drift of the (shared) machine hits both alike.
    off.push_back(RunOnce(a, false));
    on.push_back(RunOnce(a, true));
    std::printf("round %d: aae off %.0f ops/s, aae on %.0f ops/s\n", r + 1, off.back(), on.back());
    std::fflush(stdout);
  }
  const double m_on = Median(on), m_off = Median(off);
  std::printf("median of %d: aae off %.0f ops/s, aae on %.0f ops/s: cost %.1f %%\n", a.rounds,
              m_off, m_on, 100.0 * (m_off - m_on) / m_off);
  return 0;
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) { return ringkv::Main(argc, argv); }
