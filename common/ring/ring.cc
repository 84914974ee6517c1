// The consistent-hash ring: token derivation, replication and node-spec parsing, and the
// rack-aware preference list (Cassandra's NetworkTopologyStrategy walk). See docs/ring.md.
#include "common/ring/ring.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <string_view>

namespace ringkv {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on `sep`, keeping empty pieces so that "a,,b" can be reported.
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// Ids, DC and rack names appear in specs, SQLite and logs: keep them to a safe alphabet.
bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// "scheme://rest" with no separator characters of the spec syntax inside.
bool ValidEndpoint(std::string_view s) {
  size_t pos = s.find("://");
  if (pos == std::string_view::npos || pos == 0 || pos + 3 >= s.size()) return false;
  for (char c : s) {
    if (c == ',' || c == ' ' || c == '\t' || c == '=') return false;
  }
  return true;
}

template <typename T>
bool ParseUnsigned(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

const char* NodeStateName(NodeState s) {
  switch (s) {
    case NodeState::kJoining: return "joining";
    case NodeState::kNormal: return "normal";
    case NodeState::kLeaving: return "leaving";
    case NodeState::kDown: return "down";
  }
  return "unknown";
}

bool ParseNodeState(const std::string& s, NodeState* out) {
  static constexpr std::array<NodeState, 4> kAll = {NodeState::kJoining, NodeState::kNormal,
                                                    NodeState::kLeaving, NodeState::kDown};
  for (NodeState st : kAll) {
    if (s == NodeStateName(st)) {
      *out = st;
      return true;
    }
  }
  return false;
}

int Replication::Total() const {
  int total = 0;
  for (const auto& [dc, n] : per_dc) total += n;
  return total;
}

Result<Replication> Replication::Parse(const std::string& text, const std::string& default_dc) {
  const std::string_view whole = Trim(text);
  if (whole.empty()) {
    return Status::InvalidArgument("replication is empty: expected a number like 3 or "
                                   "per data center like dc1:3,dc2:2");
  }
  auto parse_factor = [&](std::string_view f, const std::string& what) -> Result<int> {
    int n = 0;
    if (!ParseUnsigned(Trim(f), &n) || n < 1 || n > kMaxReplicationPerDc) {
      return Status::InvalidArgument("replication '" + text + "': " + what + " '" +
                                     std::string(Trim(f)) + "' must be an integer from 1 to " +
                                     std::to_string(kMaxReplicationPerDc));
    }
    return n;
  };
  Replication r;
  if (whole.find(':') == std::string_view::npos && whole.find(',') == std::string_view::npos) {
    if (!ValidName(default_dc)) {
      return Status::InvalidArgument("replication: bad default data center '" + default_dc + "'");
    }
    auto n = parse_factor(whole, "factor");
    if (!n.ok()) return n.status();
    r.per_dc[default_dc] = *n;
    return r;
  }
  for (std::string_view part : Split(whole, ',')) {
    part = Trim(part);
    size_t colon = part.find(':');
    if (part.empty() || colon == std::string_view::npos) {
      return Status::InvalidArgument("replication '" + text + "': part '" + std::string(part) +
                                     "' is not DC:FACTOR (e.g. dc1:3,dc2:2)");
    }
    std::string dc(Trim(part.substr(0, colon)));
    if (!ValidName(dc)) {
      return Status::InvalidArgument("replication '" + text + "': bad data center name '" + dc +
                                     "' (letters, digits, '-', '_', '.'; at most 64)");
    }
    auto n = parse_factor(part.substr(colon + 1), "factor of " + dc);
    if (!n.ok()) return n.status();
    if (!r.per_dc.emplace(dc, *n).second) {
      return Status::InvalidArgument("replication '" + text + "': data center '" + dc +
                                     "' appears twice");
    }
  }
  if (r.per_dc.size() > kMaxDataCenters) {
    return Status::InvalidArgument("replication '" + text + "': more than " +
                                   std::to_string(kMaxDataCenters) + " data centers");
  }
  return r;
}

std::string Replication::ToString() const {
  std::string out;
  for (const auto& [dc, n] : per_dc) {
    if (!out.empty()) out += ',';
    out += dc + ":" + std::to_string(n);
  }
  return out;
}

Result<NodeInfo> ParseNodeSpec(const std::string& spec) {
  NodeInfo n;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("node spec '" + spec + "': " + why);
  };
  std::set<std::string, std::less<>> seen;
  bool has_id = false;
  for (std::string_view part : Split(spec, ',')) {
    part = Trim(part);
    if (part.empty()) return bad("empty field (two commas in a row or a trailing comma)");
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return bad("field '" + std::string(part) + "' is not NAME=VALUE");
    }
    std::string name(Trim(part.substr(0, eq)));
    std::string value(Trim(part.substr(eq + 1)));
    if (!seen.insert(name).second) return bad("field '" + name + "' given twice");
    if (name == "id" || name == "dc" || name == "rack") {
      if (!ValidName(value)) {
        return bad(name + " '" + value + "' must be 1-64 of letters, digits, '-', '_', '.'");
      }
      if (name == "id") {
        n.id = value;
        has_id = true;
      } else if (name == "dc") {
        n.dc = value;
      } else {
        n.rack = value;
      }
    } else if (name == "client" || name == "storage" || name == "gossip") {
      if (!ValidEndpoint(value)) {
        return bad(name + " endpoint '" + value + "' is not like tcp://HOST:PORT");
      }
      (name == "client" ? n.client_endpoint
                        : name == "storage" ? n.storage_endpoint : n.gossip_endpoint) = value;
    } else if (name == "vnodes") {
      if (!ParseUnsigned(value, &n.vnodes) || n.vnodes < 1 || n.vnodes > kMaxVnodes) {
        return bad("vnodes '" + value + "' must be an integer from 1 to " +
                   std::to_string(kMaxVnodes));
      }
    } else if (name == "state") {
      if (!ParseNodeState(value, &n.state)) {
        return bad("state '" + value + "' must be joining, normal, leaving or down");
      }
    } else {
      return bad("unknown field '" + name +
                 "' (expected id, dc, rack, client, storage, gossip, vnodes, state)");
    }
  }
  if (!has_id) return bad("missing id=...");
  return n;
}

std::string FormatNodeSpec(const NodeInfo& n) {
  std::string out = "id=" + n.id + ",dc=" + n.dc + ",rack=" + n.rack;
  if (!n.client_endpoint.empty()) out += ",client=" + n.client_endpoint;
  if (!n.storage_endpoint.empty()) out += ",storage=" + n.storage_endpoint;
  if (!n.gossip_endpoint.empty()) out += ",gossip=" + n.gossip_endpoint;
  out += ",vnodes=" + std::to_string(n.vnodes);
  if (n.state != NodeState::kNormal) out += std::string(",state=") + NodeStateName(n.state);
  return out;
}

std::vector<Token> Ring::TokensFor(const std::string& node_id, uint32_t vnodes) {
  std::vector<Token> out;
  out.reserve(vnodes);
  std::string buf = node_id + "#";
  const size_t prefix = buf.size();
  for (uint32_t i = 0; i < vnodes; ++i) {
    buf.resize(prefix);
    buf += std::to_string(i);
    out.push_back(XXH3_64bits(buf.data(), buf.size()));
  }
  return out;
}

Result<Ring> Ring::Build(std::vector<NodeInfo> nodes, Replication replication) {
  if (nodes.empty()) return Status::InvalidArgument("ring: no nodes");
  if (replication.per_dc.empty()) return Status::InvalidArgument("ring: empty replication");
  if (replication.per_dc.size() > kMaxDataCenters) {
    return Status::InvalidArgument("ring: more than " + std::to_string(kMaxDataCenters) +
                                   " replicated data centers");
  }
  Ring ring;
  std::map<std::string, int> dc_index;
  for (const auto& [dc, n] : replication.per_dc) {
    if (n < 1 || n > kMaxReplicationPerDc) {
      return Status::InvalidArgument("ring: replication factor of " + dc + " must be 1.." +
                                     std::to_string(kMaxReplicationPerDc));
    }
    dc_index[dc] = static_cast<int>(ring.dc_rf_.size());
    ring.dc_rf_.push_back(0);
    ring.dc_racks_.push_back(0);
  }
  std::set<std::string> ids;
  std::map<std::pair<std::string, std::string>, int> rack_index;
  size_t total_tokens = 0;
  for (NodeInfo& n : nodes) {
    if (!ValidName(n.id)) return Status::InvalidArgument("ring: bad node id '" + n.id + "'");
    if (!ids.insert(n.id).second) {
      return Status::InvalidArgument("ring: node id '" + n.id + "' appears twice");
    }
    if (!ValidName(n.dc) || !ValidName(n.rack)) {
      return Status::InvalidArgument("ring: node " + n.id + " has a bad dc or rack name");
    }
    if (n.tokens.empty()) {
      if (n.vnodes < 1 || n.vnodes > kMaxVnodes) {
        return Status::InvalidArgument("ring: node " + n.id + ": vnodes must be 1.." +
                                       std::to_string(kMaxVnodes));
      }
      n.tokens = TokensFor(n.id, n.vnodes);
    } else if (n.tokens.size() != n.vnodes) {
      return Status::InvalidArgument("ring: node " + n.id + " has " +
                                     std::to_string(n.tokens.size()) + " tokens but vnodes=" +
                                     std::to_string(n.vnodes));
    }
    total_tokens += n.tokens.size();
    auto dc = dc_index.find(n.dc);
    ring.node_dc_.push_back(dc == dc_index.end() ? -1 : dc->second);
    auto [rack, fresh] = rack_index.emplace(std::make_pair(n.dc, n.rack),
                                            static_cast<int>(rack_index.size()));
    ring.node_rack_.push_back(rack->second);
    if (dc != dc_index.end()) {
      ring.dc_rf_[dc->second]++;  // counts nodes for now; capped below
      if (fresh) ring.dc_racks_[dc->second]++;
    }
  }
  for (const auto& [dc, idx] : dc_index) {
    if (ring.dc_rf_[idx] == 0) {
      return Status::InvalidArgument("ring: replication names data center '" + dc +
                                     "' but no node is in it");
    }
    ring.dc_rf_[idx] = std::min(ring.dc_rf_[idx], replication.per_dc.at(dc));
    ring.total_rf_ += ring.dc_rf_[idx];
  }
  ring.tokens_.reserve(total_tokens);
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    for (Token t : nodes[i].tokens) ring.tokens_.emplace_back(t, i);
  }
  // Ties (two nodes on one token, astronomically rare) break by node id so that every process
  // orders them the same whatever the order of the configuration.
  std::sort(ring.tokens_.begin(), ring.tokens_.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return nodes[a.second].id < nodes[b.second].id;
  });
  ring.nodes_ = std::move(nodes);
  ring.replication_ = std::move(replication);
  return ring;
}

const NodeInfo* Ring::Find(const std::string& id) const {
  for (const NodeInfo& n : nodes_) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

// The walk keeps, per replicated DC, only a count and whether all its racks have been seen.
// While a DC still has unseen racks, a node on an already used rack is skipped; when the last
// rack appears, the skipped nodes are taken in walk order by re-walking from the start up to
// that point (they are exactly the DC's nodes met so far and not chosen). This replaces a
// skipped list, so the only allocation is the result.
std::vector<const NodeInfo*> Ring::PreferenceList(Token token) const {
  std::vector<const NodeInfo*> out;
  if (tokens_.empty() || total_rf_ == 0) return out;
  out.reserve(static_cast<size_t>(total_rf_));
  const size_t ntok = tokens_.size();
  const size_t start = static_cast<size_t>(
      std::lower_bound(tokens_.begin(), tokens_.end(), token,
                       [](const std::pair<Token, uint32_t>& e, Token t) { return e.first < t; }) -
      tokens_.begin());
  std::array<int, kMaxDataCenters> count{};
  std::array<bool, kMaxDataCenters> all_racks{};
  const size_t ndc = dc_rf_.size();
  for (size_t d = 0; d < ndc; ++d) all_racks[d] = dc_racks_[d] <= 1;
  int remaining = total_rf_;

  auto chosen = [&](uint32_t node) {
    for (const NodeInfo* p : out) {
      if (p == &nodes_[node]) return true;
    }
    return false;
  };
  auto rack_used = [&](uint32_t node) {
    for (const NodeInfo* p : out) {
      if (node_rack_[static_cast<size_t>(p - nodes_.data())] == node_rack_[node]) return true;
    }
    return false;
  };
  auto take = [&](uint32_t node, int d) {
    out.push_back(&nodes_[node]);
    count[d]++;
    remaining--;
  };

  for (size_t step = 0; step < ntok && remaining > 0; ++step) {
    const uint32_t node = tokens_[(start + step) % ntok].second;
    const int d = node_dc_[node];
    if (d < 0 || count[d] >= dc_rf_[d] || chosen(node)) continue;
    if (all_racks[d]) {
      take(node, d);
      continue;
    }
    if (rack_used(node)) continue;  // skipped for now; taken back when all racks are seen
    take(node, d);
    if (count[d] == dc_racks_[d]) {
      all_racks[d] = true;
      for (size_t back = 0; back < step && count[d] < dc_rf_[d]; ++back) {
        const uint32_t skipped = tokens_[(start + back) % ntok].second;
        if (node_dc_[skipped] == d && !chosen(skipped)) take(skipped, d);
      }
    }
  }
  return out;
}

std::vector<const NodeInfo*> Ring::WalkFrom(Token token) const {
  std::vector<const NodeInfo*> out;
  if (tokens_.empty()) return out;
  out.reserve(nodes_.size());
  std::vector<bool> seen(nodes_.size(), false);
  const size_t ntok = tokens_.size();
  const size_t start = static_cast<size_t>(
      std::lower_bound(tokens_.begin(), tokens_.end(), token,
                       [](const std::pair<Token, uint32_t>& e, Token t) { return e.first < t; }) -
      tokens_.begin());
  for (size_t step = 0; step < ntok && out.size() < nodes_.size(); ++step) {
    const uint32_t node = tokens_[(start + step) % ntok].second;
    if (seen[node]) continue;
    seen[node] = true;
    out.push_back(&nodes_[node]);
  }
  return out;
}

}  // namespace ringkv
