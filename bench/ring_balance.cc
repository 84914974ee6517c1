// ringkv-ring-balance: how evenly the ring spreads keys, and how many keys move when a node is
// added, for a range of vnode counts (the figures behind kDefaultVnodes; see docs/ring.md).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/options.h"
#include "common/ring/ring.h"

namespace {

using ringkv::NodeInfo;
using ringkv::Replication;
using ringkv::Ring;
using ringkv::Token;

struct Options {
  int nodes = 10;
  uint64_t keys = 1000000;
  std::string vnodes = "kDefault";
  int trials = 1;
  int replicas = 3;
};

struct Figures {
  double max_over_mean = 0;          // primary ownership, N nodes
  double moved_over_ideal = 0;       // keys changing primary owner when node N+1 joins
  double replica_max_over_mean = 0;  // ownership counting all `replicas` replicas
  double pref_list_ns = 0;           // mean PreferenceList time with `replicas`
};

std::vector<NodeInfo> Nodes(int count, uint32_t vnodes, const std::string& prefix) {
  std::vector<NodeInfo> out;
  for (int i = 1; i <= count; ++i) {
    NodeInfo n;
    n.id = prefix + "n" + std::to_string(i);
    n.vnodes = vnodes;
    out.push_back(n);
  }
  return out;
}

double MaxOverMean(const std::vector<uint64_t>& counts) {
  uint64_t max = 0, sum = 0;
  for (uint64_t c : counts) {
    max = std::max(max, c);
    sum += c;
  }
  return sum == 0 ? 0 : static_cast<double>(max) * counts.size() / static_cast<double>(sum);
}

size_t IndexOf(const Ring& ring, const NodeInfo* n) {
  return static_cast<size_t>(n - ring.nodes().data());
}

Figures Measure(const Options& o, uint32_t vnodes, const std::string& prefix) {
  auto one = Replication::Parse("1");
  auto rep = Replication::Parse(std::to_string(o.replicas));
  auto before = Ring::Build(Nodes(o.nodes, vnodes, prefix), *one);
  auto after = Ring::Build(Nodes(o.nodes + 1, vnodes, prefix), *one);
  auto replicated = Ring::Build(Nodes(o.nodes, vnodes, prefix), *rep);
  if (!before.ok() || !after.ok() || !replicated.ok()) {
    std::cerr << "ring build failed\n";
    std::exit(1);
  }
  std::vector<uint64_t> primary(o.nodes), replica(o.nodes);
  uint64_t moved = 0;
  double pref_ns = 0;
  std::string key;
  for (uint64_t i = 0; i < o.keys; ++i) {
    key = "key" + std::to_string(i);
    Token t = ringkv::TokenOf(key);
    const NodeInfo* a = before->PreferenceList(t)[0];
    const NodeInfo* b = after->PreferenceList(t)[0];
    primary[IndexOf(*before, a)]++;
    if (a->id != b->id) moved++;
    auto start = std::chrono::steady_clock::now();
    auto list = replicated->PreferenceList(t);
    pref_ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
                   .count();
    for (const NodeInfo* n : list) replica[IndexOf(*replicated, n)]++;
  }
  Figures f;
  f.max_over_mean = MaxOverMean(primary);
  f.moved_over_ideal =
      (static_cast<double>(moved) / static_cast<double>(o.keys)) * (o.nodes + 1);
  f.replica_max_over_mean = MaxOverMean(replica);
  f.pref_list_ns = pref_ns / static_cast<double>(o.keys);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  ringkv::po::options_description desc("Options");
  desc.add_options()
      ("nodes", ringkv::po::value(&o.nodes)->default_value(o.nodes), "nodes before the join")
      ("keys", ringkv::po::value(&o.keys)->default_value(o.keys), "keys (\"key0\", \"key1\", ...)")
      ("vnodes", ringkv::po::value(&o.vnodes)->default_value(o.vnodes),
       "comma-separated vnode counts to measure (kDefault = the built-in default)")
      ("replicas", ringkv::po::value(&o.replicas)->default_value(o.replicas),
       "replication factor for the replica-ownership figure")
      ("trials", ringkv::po::value(&o.trials)->default_value(o.trials),
       "node-name sets per vnode count (trial 0: n1..nN; trial j: tj-n1..); prints the worst");
  ringkv::po::variables_map vm;
  if (auto rc = ringkv::ParseProgramOptions(
          argc, argv, "ringkv-ring-balance",
          "ringkv-ring-balance [--nodes 10] [--keys 1000000] [--vnodes 64,256,1024] [--trials 1]",
          desc, vm)) {
    return *rc;
  }
  if (o.nodes < 1 || o.nodes > 1000 || o.keys < 1 || o.trials < 1 || o.trials > 1000 ||
      o.replicas < 1 || o.replicas > ringkv::kMaxReplicationPerDc) {
    std::cerr << "ringkv-ring-balance: --nodes 1..1000, --keys >= 1, --trials 1..1000, "
                 "--replicas 1..64\n";
    return 2;
  }
  std::vector<uint32_t> counts;
  std::stringstream ss(o.vnodes);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item == "kDefault") {
      counts.push_back(ringkv::kDefaultVnodes);
      continue;
    }
    try {
      unsigned long v = std::stoul(item);
      if (v < 1 || v > ringkv::kMaxVnodes) throw std::out_of_range("vnodes");
      counts.push_back(static_cast<uint32_t>(v));
    } catch (const std::exception&) {
      std::cerr << "ringkv-ring-balance: bad --vnodes item '" << item << "'\n";
      return 2;
    }
  }
  std::printf("nodes=%d keys=%llu replicas=%d trials=%d (targets: load max/mean <= 1.10, "
              "moved/ideal <= 1.10)\n",
              o.nodes, static_cast<unsigned long long>(o.keys), o.replicas, o.trials);
  for (uint32_t v : counts) {
    Figures worst;
    for (int t = 0; t < o.trials; ++t) {
      Figures f = Measure(o, v, t == 0 ? "" : "t" + std::to_string(t) + "-");
      if (t == 0) {
        std::printf("vnodes=%u names=n1..n%d load_max_over_mean=%.4f moved_over_ideal=%.4f "
                    "replica%d_max_over_mean=%.4f preference_list_ns=%.0f\n",
                    v, o.nodes, f.max_over_mean, f.moved_over_ideal, o.replicas,
                    f.replica_max_over_mean, f.pref_list_ns);
      }
      worst.max_over_mean = std::max(worst.max_over_mean, f.max_over_mean);
      worst.moved_over_ideal = std::max(worst.moved_over_ideal, f.moved_over_ideal);
      worst.replica_max_over_mean = std::max(worst.replica_max_over_mean, f.replica_max_over_mean);
    }
    if (o.trials > 1) {
      std::printf("vnodes=%u worst_of_%d_name_sets load_max_over_mean=%.4f moved_over_ideal=%.4f "
                  "replica%d_max_over_mean=%.4f\n",
                  v, o.trials, worst.max_over_mean, worst.moved_over_ideal, o.replicas,
                  worst.replica_max_over_mean);
    }
    std::fflush(stdout);
  }
  return 0;
}
