// The anti-entropy exchange of a set of token ranges that share one preference list: all N
// replicas are compared at once (docs/anti-entropy.md, "The exchange").
//
//   1. roots: aae_tree with one part per range, many ranges per request, on every replica;
//      a range whose (hash, count) is equal on all is done;
//   2. descend: the differing ranges are split into about sqrt(keys) parts (at most
//      `descend_parts`), again on every replica, level by level (batched), only into parts that
//      differ, until a part holds at most `leaf_keys` keys on every replica;
//   3. keys: aae_keys of those parts from every replica; a key whose hash is not the same on
//      all (or is missing on one) differs;
//   4. states: aae_states of the differing keys from every replica, merged with the version
//      model's Sync (a join: the result is the same whatever the order, and repeating it is
//      harmless), and the merged state `sync`ed to every replica whose state is not it;
//   5. marks: a range for which every replica was ready and answered every step gets
//      repair_mark on each replica with the `now_ms` of that replica's first aae_tree reply.
//
// A replica not ready or not answering leaves the ranges it holds incomplete (never marked);
// what could be repaired before the failure stays repaired. The exchange runs on the caller's
// thread; `pace` is called after each round trip with the bytes moved since the last call (the
// throttle sleeps there) and stops the exchange when it returns false.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gossip-agent/aae_replica.h"

namespace ringkv::gossip {

struct ExchangeOptions {
  uint32_t descend_parts = 64;     // the most parts a piece is split into at once
  uint64_t leaf_keys = 16;         // a part with at most this many keys is compared key by key
  uint32_t keys_page = 1000;       // aae_keys page
  uint32_t states_batch = 500;     // keys per aae_states and per sync burst
  uint32_t ranges_per_tree = 1024;  // ranges per aae_tree of the roots (protocol bound 1024)
  uint32_t tree_entries = 4096;    // ranges x parts per descending aae_tree
};

struct ExchangeCounters {
  uint64_t keys_compared = 0;  // keys covered by the compared ranges (largest replica count)
  uint64_t keys_differing = 0; // keys whose state was not the same on every replica
  uint64_t keys_sent = 0;      // syncs of a merged state to a replica
  uint64_t bytes = 0;          // request + reply bodies of every round trip
  uint64_t ranges_equal = 0;   // ranges whose roots matched at once
  uint64_t round_trips = 0;
  void Add(const ExchangeCounters& o) {
    keys_compared += o.keys_compared;
    keys_differing += o.keys_differing;
    keys_sent += o.keys_sent;
    bytes += o.bytes;
    ranges_equal += o.ranges_equal;
    round_trips += o.round_trips;
  }
};

struct ExchangeResult {
  std::vector<bool> complete;  // per input range: compared completely and marked on every replica
  ExchangeCounters counters;
  std::string error;           // why some range is incomplete (the first reason), else empty
  std::string failed_node;     // the first replica that was not ready or failed a call, if any
};

// Bytes moved since the last call; false stops the exchange (the rest is incomplete).
using ExchangePace = std::function<bool(uint64_t bytes)>;

// REQUIRES: replicas non-empty, ranges non-empty with first <= last each.
ExchangeResult ExchangeRanges(const std::vector<AaeReplica*>& replicas,
                              const std::vector<AaeRange>& ranges,
                              const ExchangeOptions& options = {},
                              const ExchangePace& pace = nullptr);

}  // namespace ringkv::gossip
