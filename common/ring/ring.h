// The consistent-hash ring: nodes with virtual-node tokens on a 64-bit token space (tokens of
// keys from common/token.h), and the preference list of a key — the first N distinct nodes
// clockwise, with the replication factor given per data center and replicas spread across
// racks (as Cassandra's NetworkTopologyStrategy). Pure functions of the membership; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/token.h"

namespace ringkv {

// Default tokens per node: chosen with ringkv-ring-balance so that 10 nodes stay within 1.10 of
// the mean load and adding an 11th moves at most 1.10 x the ideal 1/11 (docs/ring.md).
inline constexpr uint32_t kDefaultVnodes = 1024;
inline constexpr uint32_t kMaxVnodes = 65536;
// Limits that keep PreferenceList allocation-free (per-DC state lives on the stack).
inline constexpr size_t kMaxDataCenters = 32;
inline constexpr int kMaxReplicationPerDc = 64;

enum class NodeState { kJoining, kNormal, kLeaving, kDown };
const char* NodeStateName(NodeState s);          // "joining", "normal", "leaving", "down"
bool ParseNodeState(const std::string& s, NodeState* out);

struct NodeInfo {
  std::string id;                 // "n1"
  std::string dc = "dc1";
  std::string rack = "rack1";
  std::string client_endpoint;    // coordinator ROUTER, e.g. tcp://127.0.0.1:7400
  std::string storage_endpoint;   // storage agent ROUTER
  std::string gossip_endpoint;    // gossip agent ROUTER
  uint32_t vnodes = kDefaultVnodes;  // number of tokens; more for a bigger host
  NodeState state = NodeState::kNormal;
  // The node's tokens. Empty means "derived": Ring::TokensFor(id, vnodes). RingStore::Load
  // fills it from SQLite so that a later token allocator (gossip) can assign other tokens.
  std::vector<Token> tokens;
  bool operator==(const NodeInfo&) const = default;
};

// Replication factor per data center; "3" means {dc1: 3} for a single-DC cluster whose nodes
// are all in the named default DC.
struct Replication {
  std::map<std::string, int> per_dc;
  int Total() const;
  // "3" (with default_dc) or "dc1:3,dc2:2". InvalidArgument when malformed.
  static Result<Replication> Parse(const std::string& text, const std::string& default_dc = "dc1");
  std::string ToString() const;
  bool operator==(const Replication&) const = default;
};

// One node spec on a command line or in a config file:
// "id=n1,dc=dc1,rack=r1,client=tcp://127.0.0.1:7400,storage=tcp://127.0.0.1:7401,
//  gossip=tcp://127.0.0.1:7402,vnodes=1024"  (optional state=joining|normal|leaving|down).
// InvalidArgument naming the spec and the bad field (unknown, duplicate, malformed, missing id).
Result<NodeInfo> ParseNodeSpec(const std::string& spec);
std::string FormatNodeSpec(const NodeInfo& n);

// Immutable after Build: const methods may be called from any number of threads. Pointers
// returned by PreferenceList and Find point into this Ring and stay valid while it lives (moving
// a Ring keeps them valid; a copy has its own). nodes() holds each node's tokens filled in.
class Ring {
 public:
  Ring() = default;
  // InvalidArgument for duplicate ids, a DC in `replication` without nodes, etc.
  static Result<Ring> Build(std::vector<NodeInfo> nodes, Replication replication);

  // The tokens of a node: deterministic from its id, so every process computes the same ring.
  static std::vector<Token> TokensFor(const std::string& node_id, uint32_t vnodes);

  // The replicas of `token`, in preference order: for each DC its replication factor of
  // distinct nodes (fewer when the DC has fewer nodes), racks spread where possible. Nodes in
  // state kDown still appear (liveness is the caller's business); order is the clockwise walk.
  std::vector<const NodeInfo*> PreferenceList(Token token) const;

  // Every node once, in the order a clockwise walk from `token` first meets it: the
  // preference list's nodes come first (not always in its order), then the stand-ins a sloppy
  // quorum takes a missed replica's write to, nearest first.
  std::vector<const NodeInfo*> WalkFrom(Token token) const;

  const std::vector<NodeInfo>& nodes() const { return nodes_; }
  const NodeInfo* Find(const std::string& id) const;
  const Replication& replication() const { return replication_; }
  int N() const { return replication_.Total(); }

 private:
  std::vector<NodeInfo> nodes_;
  Replication replication_;
  std::vector<std::pair<Token, uint32_t>> tokens_;  // sorted; second indexes nodes_
  // Cached at Build so that PreferenceList does no lookups by name.
  std::vector<int> node_dc_;    // per node: index into dc_rf_, or -1 when its DC holds no replica
  std::vector<int> node_rack_;  // per node: index of its (dc, rack) pair
  std::vector<int> dc_rf_;      // per replicated DC: min(factor, nodes in the DC)
  std::vector<int> dc_racks_;   // per replicated DC: number of distinct racks
  int total_rf_ = 0;            // sum of dc_rf_
};

}  // namespace ringkv
