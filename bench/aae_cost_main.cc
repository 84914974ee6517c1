// ringkv-aae-cost: what keeping the anti-entropy tree current costs writes. Runs the same write
// load on a fresh ReplicaStore (the real engine, in a temporary directory) with the tree on and
// off, alternating, `--rounds` times each, and prints ops/s per run and the medians. Writes are
// ReplicaStore::Update of random keys from `--threads` threads (a third overwrite existing
// keys), with the commit log under `--sync` (default none: no fsync, so the tree's CPU cost is
// not hidden behind the disk: the worst case).
//   ringkv-aae-cost [--ops 200000] [--threads 2] [--value-size 100] [--rounds 3] [--sync none]
#include <sys/resource.h>
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

double CpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

struct Run {
  double ops_per_s;   // wall clock: moves with whatever else the machine runs
  double cpu_us_per_op;  // this process's CPU (every thread, engine's included) per write
};

Run RunOnce(const Args& a, bool aae) {
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
  Run run{};
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
    const double cpu0 = CpuSeconds();
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
    const double cpu = CpuSeconds() - cpu0;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed.load()) {
      std::fprintf(stderr, "a write failed\n");
      std::exit(1);
    }
    run.ops_per_s = a.ops / secs;
    run.cpu_us_per_op = cpu * 1e6 / a.ops;
  }
  std::filesystem::remove_all(dir);
  return run;
}

// The tree's own work per write, alone in a tight loop: the key's token, the hashes of the old
// and new state (`state_bytes` each) and the change of a random leaf. CPU nanoseconds per write.
double UpkeepNs(int state_bytes) {
  storage::AaeTree tree;
  tree.MarkReady();
  const std::string old_state(static_cast<size_t>(state_bytes), 'o');
  const std::string new_state(static_cast<size_t>(state_bytes), 'n');
  constexpr int kN = 2000000;
  std::mt19937 rng(1);
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back("user" + std::to_string(rng()));
  const double cpu0 = CpuSeconds();
  for (int i = 0; i < kN; ++i) {
    const std::string& key = keys[static_cast<size_t>(i) & 4095];
    const Token token = TokenOf(key) + static_cast<Token>(i) * 0x9E3779B97F4A7C15ull;
    tree.Change(aae::LeafOf(token), aae::AaeKeyHash(token, key.size(), old_state),
                aae::AaeKeyHash(token, key.size(), new_state));
  }
  return (CpuSeconds() - cpu0) * 1e9 / kN;  // CPU, not wall: other tenants do not count
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
  std::vector<double> on, off, cpu_on, cpu_off;
  for (int r = 0; r < a.rounds; ++r) {
    // Alternating, and in both orders, so drift of the (shared) machine and what one run
    // leaves behind (dirty pages, a warm or cold cache) hit both alike.
    Run f, n;
    if (r % 2 == 0) {
      f = RunOnce(a, false);
      n = RunOnce(a, true);
    } else {
      n = RunOnce(a, true);
      f = RunOnce(a, false);
    }
    off.push_back(f.ops_per_s);
    on.push_back(n.ops_per_s);
    cpu_off.push_back(f.cpu_us_per_op);
    cpu_on.push_back(n.cpu_us_per_op);
    std::printf("round %d: aae off %.0f ops/s %.2f cpu-us/op, aae on %.0f ops/s %.2f cpu-us/op\n",
                r + 1, f.ops_per_s, f.cpu_us_per_op, n.ops_per_s, n.cpu_us_per_op);
    std::fflush(stdout);
  }
  std::vector<double> upkeep;
  for (int r = 0; r < 5; ++r) upkeep.push_back(UpkeepNs(a.value_size + 30));
  std::printf("tree upkeep alone (token, two hashes of %d-byte states, a random leaf's "
              "change): median of 5: %.0f ns per write\n",
              a.value_size + 30, Median(upkeep));
  const double m_on = Median(on), m_off = Median(off);
  const double c_on = Median(cpu_on), c_off = Median(cpu_off);
  std::printf("median of %d: aae off %.0f ops/s, aae on %.0f ops/s (%.1f %% fewer); "
              "cpu per write off %.2f us, on %.2f us (%.1f %% more)\n",
              a.rounds, m_off, m_on, 100.0 * (m_off - m_on) / m_off, c_off, c_on,
              100.0 * (c_on - c_off) / c_off);
  return 0;
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) { return ringkv::Main(argc, argv); }
