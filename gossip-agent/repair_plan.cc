// Planning a repair's ranges from the ring (see repair_plan.h).
#include "gossip-agent/repair_plan.h"

#include <algorithm>

namespace ringkv::gossip {

namespace {

std::vector<std::string> SortedIds(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

void Add(std::vector<PlannedRange>* out, Token first, Token last,
         const std::vector<std::string>& replicas, const RepairScope& scope) {
  if (scope.has_range) {
    first = std::max(first, scope.first);
    last = std::min(last, scope.last);
    if (first > last) return;
  }
  if (!scope.node.empty() &&
      std::find(replicas.begin(), replicas.end(), scope.node) == replicas.end()) {
    return;
  }
  if (!scope.driver.empty() && (replicas.empty() || replicas[0] != scope.driver)) return;
  // Adjacent, held by the same replicas (in whatever order): one range, compared at once.
  if (!out->empty() && out->back().range.last != UINT64_MAX &&
      out->back().range.last + 1 == first &&
      SortedIds(out->back().replicas) == SortedIds(replicas)) {
    out->back().range.last = last;
    return;
  }
  out->push_back({{first, last}, replicas, false});
}

// Splits ranges at every multiple of kPieceTokens, so that a job has a few pieces to report
// and checkpoint even when one replica set holds the whole ring (a small cluster).
constexpr Token kPieceTokens = Token{1} << 60;  // 16 pieces of the token space

std::vector<PlannedRange> Pieces(const std::vector<PlannedRange>& in) {
  std::vector<PlannedRange> out;
  for (const PlannedRange& p : in) {
    Token first = p.range.first;
    for (;;) {
      const Token boundary_last = first | (kPieceTokens - 1);  // end of first's piece
      if (boundary_last >= p.range.last) {
        out.push_back({{first, p.range.last}, p.replicas, p.done});
        break;
      }
      out.push_back({{first, boundary_last}, p.replicas, p.done});
      first = boundary_last + 1;
    }
  }
  return out;
}

std::vector<std::string> Ids(const std::vector<const NodeInfo*>& list) {
  std::vector<std::string> out;
  for (const NodeInfo* n : list) out.push_back(n->id);
  return out;
}

}  // namespace

std::vector<PlannedRange> PlanRanges(const Ring& ring, const RepairScope& scope) {
  std::vector<Token> tokens;
  for (const NodeInfo& n : ring.nodes()) tokens.insert(tokens.end(), n.tokens.begin(), n.tokens.end());
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  std::vector<PlannedRange> out;
  if (tokens.empty()) return out;
  // [0, first token] belongs with the wrapping interval: the first token's list.
  const std::vector<std::string> first_list = Ids(ring.PreferenceList(tokens[0]));
  Add(&out, 0, tokens[0], first_list, scope);
  for (size_t i = 1; i < tokens.size(); ++i) {
    Add(&out, tokens[i - 1] + 1, tokens[i], Ids(ring.PreferenceList(tokens[i])), scope);
  }
  if (tokens.back() != UINT64_MAX) Add(&out, tokens.back() + 1, UINT64_MAX, first_list, scope);
  return Pieces(out);
}

std::string ScopeName(const RepairScope& scope) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  if (!scope.node.empty()) add("node " + scope.node);
  if (scope.has_range) add("tokens " + std::to_string(scope.first) + ":" + std::to_string(scope.last));
  if (!scope.driver.empty()) add("driven by " + scope.driver);
  return out.empty() ? "all" : out;
}

}  // namespace ringkv::gossip
