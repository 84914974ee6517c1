// Quorum levels and their needs per preference list.
#include "coordinator/quorum.h"

#include <charconv>

namespace ringkv::coordinator {

Result<QuorumSpec> ParseQuorumName(std::string_view text, int n, bool allow_each) {
  QuorumSpec q;
  if (text == "one") {
    q.kind = QuorumSpec::Kind::kOne;
  } else if (text == "quorum") {
    q.kind = QuorumSpec::Kind::kQuorum;
  } else if (text == "all") {
    q.kind = QuorumSpec::Kind::kAll;
  } else if (text == "local_quorum") {
    q.kind = QuorumSpec::Kind::kLocalQuorum;
  } else if (text == "each_quorum") {
    if (!allow_each) return Status::InvalidArgument("each_quorum is a write level only");
    q.kind = QuorumSpec::Kind::kEachQuorum;
  } else {
    int v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
      return Status::InvalidArgument("quorum '" + std::string(text) +
                                     "' is not one, quorum, all, local_quorum, each_quorum "
                                     "or a number");
    }
    if (v < 1 || v > n) {
      return Status::InvalidArgument("quorum " + std::to_string(v) + " is not from 1 to N=" +
                                     std::to_string(n));
    }
    q.kind = QuorumSpec::Kind::kCount;
    q.count = v;
  }
  return q;
}

std::string QuorumSpecName(const QuorumSpec& q) {
  switch (q.kind) {
    case QuorumSpec::Kind::kCount: return std::to_string(q.count);
    case QuorumSpec::Kind::kOne: return "one";
    case QuorumSpec::Kind::kQuorum: return "quorum";
    case QuorumSpec::Kind::kAll: return "all";
    case QuorumSpec::Kind::kLocalQuorum: return "local_quorum";
    case QuorumSpec::Kind::kEachQuorum: return "each_quorum";
  }
  return "?";
}

bool QuorumNeed::Met(int acks, const std::vector<int>& acks_per_dc) const {
  if (acks < total) return false;
  for (size_t i = 0; i < per_dc.size(); ++i) {
    if (per_dc[i] > 0 && (i >= acks_per_dc.size() || acks_per_dc[i] < per_dc[i])) return false;
  }
  return true;
}

QuorumNeed NeedFor(const QuorumSpec& spec, const std::vector<int>& replica_dcs, int n,
                   int local_dc, int num_dcs) {
  QuorumNeed need;
  switch (spec.kind) {
    case QuorumSpec::Kind::kCount: need.total = spec.count; break;
    case QuorumSpec::Kind::kOne: need.total = 1; break;
    case QuorumSpec::Kind::kQuorum: need.total = n / 2 + 1; break;
    case QuorumSpec::Kind::kAll: need.total = n; break;
    case QuorumSpec::Kind::kLocalQuorum: {
      need.per_dc.assign(num_dcs, 0);
      if (local_dc < 0 || local_dc >= num_dcs) {
        need.total = n + 1;  // no local DC: cannot be met
        break;
      }
      int local = 0;
      for (int dc : replica_dcs) local += dc == local_dc;
      need.per_dc[local_dc] = local / 2 + 1;
      need.total = need.per_dc[local_dc];
      break;
    }
    case QuorumSpec::Kind::kEachQuorum: {
      need.per_dc.assign(num_dcs, 0);
      std::vector<int> count(num_dcs, 0);
      for (int dc : replica_dcs) {
        if (dc >= 0 && dc < num_dcs) ++count[dc];
      }
      for (int i = 0; i < num_dcs; ++i) {
        if (count[i] > 0) {
          need.per_dc[i] = count[i] / 2 + 1;
          need.total += need.per_dc[i];
        }
      }
      break;
    }
  }
  return need;
}

int QuorumTotal(const QuorumSpec& spec, const Replication& replication, const std::string& local_dc) {
  const int n = replication.Total();
  switch (spec.kind) {
    case QuorumSpec::Kind::kCount: return spec.count;
    case QuorumSpec::Kind::kOne: return 1;
    case QuorumSpec::Kind::kQuorum: return n / 2 + 1;
    case QuorumSpec::Kind::kAll: return n;
    case QuorumSpec::Kind::kLocalQuorum: {
      auto it = replication.per_dc.find(local_dc);
      return it == replication.per_dc.end() ? 0 : it->second / 2 + 1;
    }
    case QuorumSpec::Kind::kEachQuorum: {
      int total = 0;
      for (const auto& [dc, rf] : replication.per_dc) total += rf / 2 + 1;
      return total;
    }
  }
  return 0;
}

}  // namespace ringkv::coordinator
