// `ringkv top` (see top.h). Each frame asks every member's three agents for their counters
// (one request each, bounded by the timeout) and prints rates from the difference with the
// previous frame's sample.
#include "clients/cli/top.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <msgpack.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "clients/cpp/client.h"

namespace ringkv::cli {

namespace {

using Counters = std::map<std::string, uint64_t>;

// One {op:"stats", rid} request to a storage or gossip agent's ROUTER. The storage agent
// answers {stats:{...}}, the gossip agent its counters at the top level: both are flattened.
std::optional<Counters> AgentStats(zmq::context_t& ctx, const std::string& endpoint,
                                   int timeout_ms) {
  if (endpoint.empty()) return std::nullopt;
  try {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(endpoint);
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_map(2);
    pk.pack(std::string("op"));
    pk.pack(std::string("stats"));
    pk.pack(std::string("rid"));
    pk.pack_uint64(1);
    s.send(zmq::message_t(), zmq::send_flags::sndmore);
    s.send(zmq::message_t(buf.data(), buf.size()), zmq::send_flags::none);
    zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) <= 0) return std::nullopt;
    std::string last;
    for (int i = 0; i < 8; ++i) {
      zmq::message_t m;
      if (!s.recv(m, zmq::recv_flags::dontwait)) break;
      last = m.to_string();
      if (!m.more()) break;
    }
    msgpack::object_handle oh = msgpack::unpack(last.data(), last.size());
    Counters out;
    auto flatten = [&](const msgpack::object& map) {
      if (map.type != msgpack::type::MAP) return;
      for (uint32_t i = 0; i < map.via.map.size; ++i) {
        const auto& kv = map.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) continue;
        const std::string k(kv.key.via.str.ptr, kv.key.via.str.size);
        if (kv.val.type == msgpack::type::POSITIVE_INTEGER) out[k] = kv.val.via.u64;
        if (k == "stats") {
          const msgpack::object& inner = kv.val;
          if (inner.type != msgpack::type::MAP) continue;
          for (uint32_t j = 0; j < inner.via.map.size; ++j) {
            const auto& e = inner.via.map.ptr[j];
            if (e.key.type == msgpack::type::STR && e.val.type == msgpack::type::POSITIVE_INTEGER) {
              out[std::string(e.key.via.str.ptr, e.key.via.str.size)] = e.val.via.u64;
            }
          }
        }
      }
    };
    flatten(oh.get());
    return out;
  } catch (const std::exception&) {
    return std::nullopt;  // a malformed reply or a bad endpoint: shown as "-"
  }
}

struct NodeSample {
  std::string node, state;
  std::optional<Counters> coordinator, storage, gossip;
};

struct Sample {
  std::chrono::steady_clock::time_point at;
  std::vector<NodeSample> nodes;
};

std::optional<Sample> TakeSample(const TopOptions& o, zmq::context_t& ctx) {
  client::Options co;
  co.endpoints = o.endpoints;
  co.timeout_ms = o.timeout_ms;
  co.retries = static_cast<int>(o.endpoints.size());
  client::Client c(co);
  client::Error err;
  auto st = c.Status(&err);
  if (!st) return std::nullopt;
  Sample s;
  s.at = std::chrono::steady_clock::now();
  for (const auto& m : st->members) {
    // Filled in place: GCC 12 warns (wrongly) about a NodeSample built field by field.
    s.nodes.push_back(NodeSample{m.node, m.state, std::nullopt, std::nullopt, std::nullopt});
    NodeSample& n = s.nodes.back();
    if (!m.client_endpoint.empty()) {
      client::Options mo;
      mo.endpoints = {m.client_endpoint};
      mo.timeout_ms = o.timeout_ms;
      mo.retries = 1;
      client::Client mc(mo);
      client::Error merr;
      if (auto ms = mc.Status(&merr)) n.coordinator = Counters(ms->stats.begin(), ms->stats.end());
    }
    n.storage = AgentStats(ctx, m.storage_endpoint, o.timeout_ms);
    n.gossip = AgentStats(ctx, m.gossip_endpoint, o.timeout_ms);
  }
  return s;
}

std::string Get(const std::optional<Counters>& c, const char* key) {
  if (!c) return "-";
  auto it = c->find(key);
  return it == c->end() ? "-" : std::to_string(it->second);
}

std::string Bytes(const std::optional<Counters>& c, std::initializer_list<const char*> keys) {
  if (!c) return "-";
  double b = 0;
  for (const char* k : keys) {
    auto it = c->find(k);
    if (it != c->end()) b += static_cast<double>(it->second);
  }
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  std::ostringstream os;
  os << std::fixed << std::setprecision(u == 0 ? 0 : 1) << b << units[u];
  return os.str();
}

// The rate of counter `key` between two samples of a node, per second.
std::string Rate(const std::optional<Counters>& prev, const std::optional<Counters>& now,
                 const char* key, double seconds) {
  if (!prev || !now || seconds <= 0) return "-";
  auto a = prev->find(key), b = now->find(key);
  if (a == prev->end() || b == now->end() || b->second < a->second) return "-";
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << static_cast<double>(b->second - a->second) / seconds;
  return os.str();
}

// A latency quantile of the coordinator, in ms; "-" when it served no put/get/delete between
// the two samples (only status requests, such as top's own, or nothing): the quantile would
// be stale, or 0.00 before any data request. A coordinator without `data_requests` (older)
// shows its quantile as before.
std::string Millis(const std::optional<Counters>& prev, const std::optional<Counters>& c,
                   const char* key) {
  if (!c) return "-";
  if (auto now_n = c->find("data_requests"); now_n != c->end()) {
    if (now_n->second == 0) return "-";
    if (prev) {
      auto prev_n = prev->find("data_requests");
      if (prev_n != prev->end() && prev_n->second == now_n->second) return "-";
    }
  }
  auto it = c->find(key);
  if (it == c->end()) return "-";
  std::ostringstream os;
  os << std::fixed << std::setprecision(2) << static_cast<double>(it->second) / 1000.0;
  return os.str();
}

void PrintFrame(const Sample& prev, const Sample& now) {
  const double secs = std::chrono::duration<double>(now.at - prev.at).count();
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NODE", "STATE", "OPS/S", "ERR/S", "P50_MS", "P99_MS", "P999_MS", "QFAIL",
                  "HINTS", "HINTS_SENT", "DISK", "MEMTABLE", "STORAGE_OPS/S"});
  for (const NodeSample& n : now.nodes) {
    const NodeSample* p = nullptr;
    for (const NodeSample& q : prev.nodes) {
      if (q.node == n.node) p = &q;
    }
    const std::optional<Counters> none;
    const auto& pc = p ? p->coordinator : none;
    const auto& ps = p ? p->storage : none;
    rows.push_back(
        {n.node, n.state, Rate(pc, n.coordinator, "requests", secs),
         Rate(pc, n.coordinator, "errors", secs), Millis(pc, n.coordinator, "latency_p50_us"),
         Millis(pc, n.coordinator, "latency_p99_us"),
         Millis(pc, n.coordinator, "latency_p999_us"),
         Get(n.coordinator, "quorum_failures"), Get(n.gossip, "hints_pending"),
         Get(n.coordinator, "hints_sent"), Bytes(n.storage, {"sstable_bytes"}),
         Bytes(n.storage, {"memtable_bytes"}), Rate(ps, n.storage, "requests", secs)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      std::cout << std::left << std::setw(static_cast<int>(width[i]) + 2) << r[i];
    }
    std::cout << "\n";
  }
  std::cout << "(rates over the last " << std::fixed << std::setprecision(1) << secs
            << " s; latency quantiles since each coordinator started; '-': no answer, or no"
               " put/get/delete in the interval)\n";
  std::cout.flush();
}

}  // namespace

int RunTop(const TopOptions& o) {
  zmq::context_t ctx(1);
  auto prev = TakeSample(o, ctx);
  if (!prev) {
    std::cerr << "ringkv: top: no coordinator answered a status request\n";
    return 3;
  }
  for (int frame = 0; o.frames == 0 || frame < o.frames; ++frame) {
    std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
    auto now = TakeSample(o, ctx);
    if (!now) {
      std::cerr << "ringkv: top: no coordinator answered a status request\n";
      return 3;
    }
    if (!o.once) std::cout << "\033[H\033[2J";
    PrintFrame(*prev, *now);
    prev = std::move(now);
    if (o.once) break;
  }
  return 0;
}

}  // namespace ringkv::cli
