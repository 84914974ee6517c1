// ringkv-bench: a closed-loop load generator for a ringkv cluster (YCSB core workloads A, B, C).
// Each client issues one request at a time: by default a thread with its own Client (one REQ
// connection); with --loop one thread drives every client (bench_loop.cc). An update carries
// the context its client last got for that key (from a get or put reply; for a key it never
// saw, it reads one first), as an application would, so siblings come only from real
// concurrency. Prints throughput, latency percentiles per op type, errors by code, sibling
// counts and its own CPU use.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "bench/key_space.h"
#include "bench/latency_histogram.h"
#include "bench/ringkv_bench.h"
#include "bench/zipfian.h"
#include "clients/cli/cli_security.h"
#include "clients/cpp/client.h"
#include "common/options.h"

namespace ringkv::bench {
namespace {

double CpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

class Worker {
 public:
  Worker(const BenchOptions& o, int index, zmq::context_t* ctx, const ZipfianGenerator* zipf)
      : o_(o), index_(index), zipf_(zipf), rng_(o.seed * 1000003 + index), values_(o.seed + index) {
    client::Options co;
    // Each thread starts at a different coordinator so the load spreads over all of them.
    for (size_t i = 0; i < o.endpoints.size(); ++i) {
      co.endpoints.push_back(o.endpoints[(index + i) % o.endpoints.size()]);
    }
    co.timeout_ms = o.timeout_ms;
    co.r = o.r;
    co.w = o.w;
    co.context = ctx;
    co.curve_server_key = o.curve_server_key;
    co.curve_public_key = o.curve_public_key;
    co.curve_secret_key = o.curve_secret_key;
    client_ = std::make_unique<client::Client>(co);
  }

  // Writes this thread's share of the keys once, blind (the cluster should start empty).
  void Load() {
    const uint64_t begin = o_.keys * index_ / o_.clients;
    const uint64_t end = o_.keys * (index_ + 1) / o_.clients;
    for (uint64_t k = begin; k < end; ++k) {
      const std::string key = FormatKey(k);
      client::Error err;
      auto r = client_->Put(key, std::string(values_.Next(o_.value_size)), "", &err);
      if (r) {
        ++stats_.load_ok;
        ctx_[key] = r->ctx;
      } else {
        ++stats_.errors[std::string("load_") + client::ErrorCodeName(err.code)];
      }
    }
  }

  // Closed loop until the deadline or until the shared op budget is spent.
  void Run(Clock::time_point deadline, std::atomic<int64_t>* budget) {
    const double read_share = o_.workload == 'A' ? 0.5 : o_.workload == 'B' ? 0.95 : 1.0;
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    std::uniform_int_distribution<uint64_t> uniform(0, o_.keys - 1);
    while (Clock::now() < deadline) {
      if (budget && budget->fetch_sub(1) <= 0) break;
      const uint64_t k = zipf_ ? zipf_->Next(rng_) : uniform(rng_);
      const std::string key = FormatKey(k);
      if (coin(rng_) < read_share) {
        DoRead(key);
      } else {
        DoUpdate(key);
      }
    }
  }

  const ThreadStats& stats() const { return stats_; }
  ContextMap TakeContexts() { return std::move(ctx_); }

 private:
  void DoRead(const std::string& key) {
    client::Error err;
    const auto t0 = Clock::now();
    auto r = client_->Get(key, &err);
    const auto t1 = Clock::now();
    if (!r) {
      ++stats_.errors[client::ErrorCodeName(err.code)];
      return;
    }
    stats_.read.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    ++stats_.read_ok;
    ctx_[key] = r->ctx;
    if (!r->found) {
      ++stats_.gets_missing;
      return;
    }
    ++stats_.gets_found;
    stats_.values_seen += r->values.size();
    if (r->values.size() > 1) ++stats_.gets_with_siblings;
    stats_.max_siblings = std::max<uint64_t>(stats_.max_siblings, r->values.size());
  }

  void DoUpdate(const std::string& key) {
    auto it = ctx_.find(key);
    if (it == ctx_.end() && o_.ctx_miss_read) {
      // An application updates what it has read: learn the key's context first. This get is
      // not one of the workload's ops (it is counted as ctx_fetches) but its time is spent.
      client::Error err;
      auto r = client_->Get(key, &err);
      ++stats_.ctx_fetches;
      if (!r) {
        ++stats_.errors[std::string("ctx_fetch_") + client::ErrorCodeName(err.code)];
        return;
      }
      it = ctx_.insert_or_assign(key, r->ctx).first;
    }
    const std::string ctx = it == ctx_.end() ? std::string() : it->second;
    if (it == ctx_.end()) ++stats_.blind_updates;
    const std::string value(values_.Next(o_.value_size));
    client::Error err;
    const auto t0 = Clock::now();
    auto r = client_->Put(key, value, ctx, &err);
    const auto t1 = Clock::now();
    if (!r) {
      ++stats_.errors[client::ErrorCodeName(err.code)];
      return;
    }
    stats_.update.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    ++stats_.update_ok;
    ctx_[key] = r->ctx;
  }

  const BenchOptions& o_;
  const int index_;
  const ZipfianGenerator* const zipf_;
  std::mt19937_64 rng_;
  ValueGenerator values_;
  std::unique_ptr<client::Client> client_;
  ContextMap ctx_;  // key -> last context seen by this client
  ThreadStats stats_;
};

void PrintLatency(const char* name, const LatencyHistogram& h, double seconds) {
  auto ms = [](uint64_t ns) { return ns / 1e6; };
  std::printf("%s ops=%" PRIu64 " ops_per_s=%.0f mean_ms=%.3f p50_ms=%.3f p95_ms=%.3f "
              "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
              name, h.Count(), seconds > 0 ? h.Count() / seconds : 0.0, h.MeanNanos() / 1e6,
              ms(h.Percentile(0.50)), ms(h.Percentile(0.95)), ms(h.Percentile(0.99)),
              ms(h.Percentile(0.999)), ms(h.MaxNanos()));
}

int RunBench(const BenchOptions& o) {
  zmq::context_t zctx(2);
  std::unique_ptr<ZipfianGenerator> zipf;
  if (o.zipfian) zipf = std::make_unique<ZipfianGenerator>(o.keys);
  std::vector<std::unique_ptr<Worker>> workers;  // with --loop, only for --load
  for (int i = 0; i < o.clients && (!o.loop || o.load); ++i) {
    workers.push_back(std::make_unique<Worker>(o, i, &zctx, zipf.get()));
  }
  std::printf("ringkv-bench: workload %c (%s), %d clients, %" PRIu64 " keys %s, %zu-byte values, "
              "r=%s w=%s, endpoints %zu, %s\n",
              o.workload, o.workload == 'A' ? "50/50 read/update"
                          : o.workload == 'B' ? "95/5 read/update" : "read only",
              o.clients, o.keys, o.zipfian ? "zipfian" : "uniform", o.value_size,
              o.r.empty() ? "default" : o.r.c_str(), o.w.empty() ? "default" : o.w.c_str(),
              o.endpoints.size(), o.loop ? "one event-loop thread" : "a thread per client");
  std::fflush(stdout);

  auto run_threads = [&](auto body) {
    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&, wp = w.get()] { body(wp); });
    for (auto& t : threads) t.join();
  };

  if (o.load) {
    const auto t0 = Clock::now();
    run_threads([](Worker* w) { w->Load(); });
    const double secs = Seconds(Clock::now() - t0);
    ThreadStats s;
    for (auto& w : workers) s.Merge(w->stats());
    uint64_t load_errors = 0;
    for (const auto& [k, v] : s.errors) load_errors += v;
    std::printf("load ops=%" PRIu64 " seconds=%.3f ops_per_s=%.0f errors=%" PRIu64 "\n",
                s.load_ok, secs, secs > 0 ? s.load_ok / secs : 0.0, load_errors);
    std::fflush(stdout);
  }

  std::atomic<int64_t> budget(static_cast<int64_t>(o.ops));
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o.duration_s));
  ThreadStats s;
  if (o.loop) {
    std::vector<ContextMap> contexts;
    for (auto& w : workers) contexts.push_back(w->TakeContexts());
    ThreadStats loaded;
    for (auto& w : workers) loaded.Merge(w->stats());
    s = RunLoop(o, zipf.get(), std::move(contexts), deadline, o.ops ? &budget : nullptr);
    s.load_ok = loaded.load_ok;
    for (const auto& [k, v] : loaded.errors) s.errors[k] += v;
  } else {
    run_threads([&](Worker* w) { w->Run(deadline, o.ops ? &budget : nullptr); });
    for (auto& w : workers) s.Merge(w->stats());
  }
  const double secs = Seconds(Clock::now() - t0);
  const double cpu = CpuSeconds() - cpu0;

  LatencyHistogram all = s.read;
  all.Merge(s.update);
  uint64_t errors = 0, load_errors = 0;
  std::string by_code;
  for (const auto& [k, v] : s.errors) {
    (k.rfind("load_", 0) == 0 ? load_errors : errors) += v;
    by_code += " " + k + "=" + std::to_string(v);
  }
  if (s.read.Count()) PrintLatency("read", s.read, secs);
  if (s.update.Count()) PrintLatency("update", s.update, secs);
  PrintLatency("all", all, secs);
  std::printf("errors total=%" PRIu64 "%s\n", errors, by_code.c_str());
  std::printf("siblings gets_found=%" PRIu64 " gets_missing=%" PRIu64
              " gets_with_siblings=%" PRIu64 " mean_values=%.3f max_values=%" PRIu64
              " blind_updates=%" PRIu64 " ctx_fetches=%" PRIu64 "\n",
              s.gets_found, s.gets_missing, s.gets_with_siblings,
              s.gets_found ? static_cast<double>(s.values_seen) / s.gets_found : 0.0,
              s.max_siblings, s.blind_updates, s.ctx_fetches);
  if (o.loop) std::printf("failovers resent=%" PRIu64 "\n", s.failovers);
  std::printf("cpu user_sys_s=%.3f cpu_pct_of_one_core=%.1f\n", cpu,
              secs > 0 ? 100.0 * cpu / secs : 0.0);
  // One line with the headline figures, for scripts.
  // requests_per_s also counts the gets that only fetched a context (--ctx-miss read).
  std::printf("summary workload=%c clients=%d seconds=%.3f ops=%" PRIu64 " ops_per_s=%.0f "
              "requests_per_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%" PRIu64
              " cpu_pct=%.1f\n",
              o.workload, o.clients, secs, all.Count(), secs > 0 ? all.Count() / secs : 0.0,
              secs > 0 ? (all.Count() + s.ctx_fetches) / secs : 0.0, all.Percentile(0.5) / 1e6,
              all.Percentile(0.99) / 1e6, all.Percentile(0.999) / 1e6, errors,
              secs > 0 ? 100.0 * cpu / secs : 0.0);
  std::fflush(stdout);
  return all.Count() > 0 ? 0 : 1;
}

int Main(int argc, char** argv) {
  BenchOptions o;
  std::string endpoints, distribution, workload, ctx_miss;
  po::options_description desc("ringkv-bench options");
  desc.add_options()
      ("endpoints", po::value<std::string>(&endpoints)->required(),
       "coordinator client endpoints, comma-separated (tcp://127.0.0.1:7400,...)")
      ("clients", po::value<int>(&o.clients)->default_value(8),
       "concurrent clients, one request at a time each (threads with their own connection, "
       "or with --loop state machines on one thread)")
      ("duration", po::value<double>(&o.duration_s)->default_value(10),
       "seconds of the measured phase (it also ends when --ops are done)")
      ("ops", po::value<uint64_t>(&o.ops)->default_value(0),
       "operations of the measured phase over all clients; 0 = bounded by --duration only")
      ("keys", po::value<uint64_t>(&o.keys)->default_value(10000), "number of distinct keys")
      ("value-size", po::value<size_t>(&o.value_size)->default_value(100), "value bytes")
      ("distribution", po::value<std::string>(&distribution)->default_value("uniform"),
       "uniform or zipfian (YCSB's scrambled zipfian, theta 0.99)")
      ("workload", po::value<std::string>(&workload)->default_value("A"),
       "A: 50/50 read/update, B: 95/5, C: read only")
      ("load", po::bool_switch(&o.load), "write every key once before the measured phase")
      ("loop", po::bool_switch(&o.loop),
       "drive every client from one event-loop thread (one DEALER per coordinator, replies "
       "matched by id) instead of a thread per client: less generator CPU and no scheduling "
       "delay from many runnable threads")
      ("transport", po::value<std::string>(&o.transport)->default_value("zmtp"),
       "with --loop, how the DEALERs talk: zmtp (ZeroMQ's wire protocol spoken by the loop "
       "thread itself, no I/O thread) or libzmq (libzmq's DEALER sockets)")
      ("ctx-miss", po::value<std::string>(&ctx_miss)->default_value("read"),
       "update of a key this client has no context for: 'read' gets it first (counted as "
       "ctx_fetches, not as an op), 'blind' writes without one (adds a sibling)")
      ("r", po::value<std::string>(&o.r)->default_value(""), "read quorum (default: cluster's)")
      ("w", po::value<std::string>(&o.w)->default_value(""), "write quorum (default: cluster's)")
      ("timeout-ms", po::value<int>(&o.timeout_ms)->default_value(2000), "per-request deadline")
      ("seed", po::value<uint64_t>(&o.seed)->default_value(1), "seed of keys, values, op mix");
  cli::AddCurveOptions(desc);
  po::variables_map vm;
  if (auto rc = ParseProgramOptions(argc, argv, "ringkv-bench",
                                    "ringkv-bench --endpoints tcp://HOST:PORT[,...] [options]",
                                    desc, vm)) {
    return *rc;
  }
  auto fail = [](const std::string& msg) {
    std::cerr << "ringkv-bench: " << msg << " (see --help)\n";
    return 2;
  };
  std::stringstream ss(endpoints);
  for (std::string e; std::getline(ss, e, ',');) {
    if (!e.empty()) o.endpoints.push_back(e);
  }
  if (o.endpoints.empty()) return fail("--endpoints is empty");
  if (o.clients < 1 || o.clients > 1024) return fail("--clients must be from 1 to 1024");
  if (!(o.duration_s > 0 && o.duration_s <= 86400)) return fail("--duration must be in (0, 86400]");
  if (o.keys < 1 || o.keys > 100000000) return fail("--keys must be from 1 to 100000000");
  if (o.value_size > 65536) return fail("--value-size must be at most 65536");
  if (o.timeout_ms < 1 || o.timeout_ms > 60000) return fail("--timeout-ms must be 1..60000");
  if (o.ops > static_cast<uint64_t>(INT64_MAX)) return fail("--ops too large");
  if (o.transport != "zmtp" && o.transport != "libzmq") {
    return fail("--transport must be zmtp or libzmq");
  }
  client::Options keys;
  if (std::string bad = cli::ApplyCurveOptions(vm, &keys); !bad.empty()) return fail(bad);
  o.curve_server_key = keys.curve_server_key;
  o.curve_public_key = keys.curve_public_key;
  o.curve_secret_key = keys.curve_secret_key;
  if (!o.curve_server_key.empty() && o.loop && o.transport == "zmtp") {
    // Our ZMTP has no CURVE; a secured coordinator would never answer it.
    return fail("--transport zmtp has no CURVE: use --transport libzmq (or threads) with keys");
  }
  if (ctx_miss == "blind") o.ctx_miss_read = false;
  else if (ctx_miss != "read") return fail("--ctx-miss must be read or blind");
  if (distribution == "zipfian") o.zipfian = true;
  else if (distribution != "uniform") return fail("--distribution must be uniform or zipfian");
  if (workload == "A" || workload == "a") o.workload = 'A';
  else if (workload == "B" || workload == "b") o.workload = 'B';
  else if (workload == "C" || workload == "c") o.workload = 'C';
  else return fail("--workload must be A, B or C");
  try {
    return RunBench(o);
  } catch (const std::exception& e) {  // zmq or thread creation failures at the edge
    std::cerr << "ringkv-bench: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace
}  // namespace ringkv::bench

int main(int argc, char** argv) { return ringkv::bench::Main(argc, argv); }
