// The anti-entropy exchange (see aae_exchange.h).
#include "gossip-agent/aae_exchange.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "common/aae/key_hash.h"
#include "common/version/key_state.h"

namespace ringkv::gossip {

namespace {

// A piece of an input range still to compare.
struct Piece {
  size_t range = 0;  // index into the input ranges
  AaeRange span;
  uint64_t most = 0;  // the most keys any replica holds in it
};

uint64_t Tokens(const AaeRange& r) {
  // Saturates at 2^64 - 1 for the whole ring: only compared against small numbers.
  const uint64_t d = r.last - r.first;
  return d == UINT64_MAX ? d : d + 1;
}

class Exchange {
 public:
  Exchange(const std::vector<AaeReplica*>& replicas, const std::vector<AaeRange>& ranges,
           const ExchangeOptions& opts, const ExchangePace& pace)
      : replicas_(replicas), ranges_(ranges), opts_(opts), pace_(pace) {
    failed_.assign(ranges.size(), false);
    for (const AaeReplica* r : replicas_) io_start_ += r->io_bytes();
    io_last_ = io_start_;
  }

  ExchangeResult Run();

 private:
  // After each round trip: counts the bytes and lets the throttle sleep. False: stop.
  bool Paced();
  void Fail(size_t range, const std::string& why) {
    failed_[range] = true;
    if (error_.empty()) error_ = why;
  }
  // The first replica that failed a call (not ready, no answer, an error reply).
  void Unreachable(const AaeReplica& r) {
    if (failed_node_.empty()) failed_node_ = r.node();
  }
  void FailAll(const std::string& why) {
    for (size_t i = 0; i < ranges_.size(); ++i) Fail(i, why);
  }
  bool Roots(std::vector<Piece>* differing);
  bool Descend(std::vector<Piece> work, std::vector<Piece>* leaves);
  bool CompareKeys(const std::vector<Piece>& leaves);
  bool Repair(const std::vector<std::pair<size_t, std::string>>& keys);
  void Marks(std::vector<bool>* complete);

  const std::vector<AaeReplica*>& replicas_;
  const std::vector<AaeRange>& ranges_;
  const ExchangeOptions opts_;
  const ExchangePace& pace_;
  std::vector<bool> failed_;
  std::vector<int64_t> as_of_;
  std::string error_;
  std::string failed_node_;
  ExchangeCounters c_;
  uint64_t io_start_ = 0;
  uint64_t io_last_ = 0;
  bool stopped_ = false;
};

bool Exchange::Paced() {
  ++c_.round_trips;
  uint64_t io = 0;
  for (const AaeReplica* r : replicas_) io += r->io_bytes();
  const uint64_t delta = io - io_last_;
  io_last_ = io;
  if (pace_ && !pace_(delta)) {
    stopped_ = true;
    FailAll("stopped");
    return false;
  }
  return true;
}

bool Exchange::Roots(std::vector<Piece>* differing) {
  as_of_.assign(replicas_.size(), 0);
  const size_t step = std::max<uint32_t>(1, opts_.ranges_per_tree);
  for (size_t begin = 0; begin < ranges_.size(); begin += step) {
    const size_t end = std::min(ranges_.size(), begin + step);
    const std::vector<AaeRange> chunk(ranges_.begin() + static_cast<ptrdiff_t>(begin),
                                      ranges_.begin() + static_cast<ptrdiff_t>(end));
    std::vector<std::vector<AaeSum>> sums(chunk.size());  // per range, per replica
    for (size_t r = 0; r < replicas_.size(); ++r) {
      auto tree = replicas_[r]->Tree(chunk, 1);
      if (!Paced()) return false;
      std::string why;
      if (!tree.ok()) {
        why = replicas_[r]->node() + ": " + tree.status().ToString();
      } else if (!tree->ready) {
        why = replicas_[r]->node() + " is not ready (its trees are being rebuilt)";
      } else if (tree->trees.size() != chunk.size()) {
        why = replicas_[r]->node() + ": aae_tree answered " + std::to_string(tree->trees.size()) +
              " trees for " + std::to_string(chunk.size()) + " ranges";
      }
      if (!why.empty()) {
        // Without this replica no range of the set can be compared completely.
        Unreachable(*replicas_[r]);
        FailAll(why);
        return false;
      }
      if (begin == 0) as_of_[r] = tree->now_ms;
      for (size_t i = 0; i < chunk.size(); ++i) {
        sums[i].push_back(tree->trees[i].empty() ? AaeSum{} : tree->trees[i][0]);
      }
    }
    for (size_t i = 0; i < chunk.size(); ++i) {
      uint64_t most = 0;
      bool equal = true;
      for (const AaeSum& s : sums[i]) {
        most = std::max(most, s.count);
        equal = equal && s == sums[i][0];
      }
      c_.keys_compared += most;
      if (equal) {
        ++c_.ranges_equal;
      } else {
        differing->push_back({begin + i, chunk[i], most});
      }
    }
  }
  return true;
}

// How many parts to split a piece holding up to `most` keys into: about sqrt(most), which
// balances the bytes of the parts' sums against those of the keys listed below them (a sum and
// a listed key cost about the same), within [2, max_parts] and at most the piece's tokens.
uint32_t PartsFor(uint64_t most, const AaeRange& span, uint32_t max_parts) {
  uint64_t p = 2;
  while (p < max_parts && p * p < most) ++p;
  return static_cast<uint32_t>(std::min<uint64_t>(p, Tokens(span)));
}

// Level by level: each differing piece is split into parts on every replica; the parts that
// differ either hold few enough keys to compare key by key or are split again. Bounded: every
// level divides the pieces by at least 2, so at most 64 levels for a 64-bit range.
bool Exchange::Descend(std::vector<Piece> work, std::vector<Piece>* leaves) {
  const uint32_t max_parts = std::max<uint32_t>(2, opts_.descend_parts);
  for (int level = 0; !work.empty() && level < 64; ++level) {
    std::vector<Piece> next;
    // Pieces by their number of parts: one aae_tree asks for one number of parts.
    std::map<uint32_t, std::vector<Piece>> by_parts;
    for (const Piece& p : work) {
      if (failed_[p.range]) continue;
      const uint32_t parts = PartsFor(p.most, p.span, max_parts);
      if (p.most <= opts_.leaf_keys || parts < 2) {
        leaves->push_back(p);  // few keys, or a handful of tokens: list its keys
      } else {
        by_parts[parts].push_back(p);
      }
    }
    for (const auto& [parts, splittable] : by_parts) {
      const size_t step = std::max<size_t>(1, opts_.tree_entries / parts);
      for (size_t begin = 0; begin < splittable.size(); begin += step) {
        const size_t end = std::min(splittable.size(), begin + step);
        std::vector<AaeRange> chunk;
        for (size_t i = begin; i < end; ++i) {
          if (!failed_[splittable[i].range]) chunk.push_back(splittable[i].span);
        }
        if (chunk.empty()) continue;
        std::vector<std::vector<std::vector<AaeSum>>> per_replica;
        bool ok = true;
        for (AaeReplica* rep : replicas_) {
          auto tree = rep->Tree(chunk, parts);
          if (!Paced()) return false;
          if (!tree.ok() || !tree->ready || tree->trees.size() != chunk.size()) {
            const std::string why =
                rep->node() + ": " +
                (!tree.ok() ? tree.status().ToString()
                            : !tree->ready ? std::string("no longer ready") : "malformed aae_tree");
            for (size_t i = begin; i < end; ++i) Fail(splittable[i].range, why);
            Unreachable(*rep);
            ok = false;
            break;
          }
          per_replica.push_back(std::move(tree->trees));
        }
        if (!ok) continue;
        size_t k = 0;
        for (size_t i = begin; i < end; ++i) {
          const Piece& p = splittable[i];
          if (failed_[p.range]) continue;
          for (uint32_t part = 0; part < parts; ++part) {
            uint64_t most = 0;
            bool equal = true;
            std::optional<AaeSum> first;
            for (const auto& trees : per_replica) {
              const AaeSum s = part < trees[k].size() ? trees[k][part] : AaeSum{};
              most = std::max(most, s.count);
              if (!first) first = s;
              equal = equal && s == *first;
            }
            if (equal) continue;
            const auto [lo, hi] = aae::PartBounds(p.span.first, p.span.last, parts, part);
            next.push_back({p.range, {lo, hi}, most});
          }
          ++k;
        }
      }
    }
    work = std::move(next);
  }
  for (const Piece& p : work) leaves->push_back(p);  // not reached for sane replicas
  return true;
}

bool Exchange::CompareKeys(const std::vector<Piece>& leaves) {
  std::vector<std::pair<size_t, std::string>> differing;  // (range, key)
  for (const Piece& p : leaves) {
    if (failed_[p.range]) continue;
    // key -> hash per replica (nullopt: the replica does not list it).
    std::map<std::string, std::vector<std::optional<uint64_t>>> seen;
    for (size_t r = 0; r < replicas_.size() && !failed_[p.range]; ++r) {
      std::optional<std::pair<Token, std::string>> after;
      // Bounded: each page moves the cursor forward; the cap guards against a replica that
      // never says `more: false`.
      for (int page = 0; page < 1000000; ++page) {
        auto keys = replicas_[r]->Keys(p.span, opts_.keys_page, after);
        if (!Paced()) return false;
        if (!keys.ok()) {
          Fail(p.range, replicas_[r]->node() + ": " + keys.status().ToString());
          Unreachable(*replicas_[r]);
          break;
        }
        for (AaeKeyHash& kh : keys->items) {
          auto& v = seen[kh.key];
          v.resize(replicas_.size());
          v[r] = kh.hash;
        }
        if (!keys->more || keys->items.empty()) break;
        const std::string& last = keys->items.back().key;
        after = std::make_pair(TokenOf(last), last);
      }
    }
    if (failed_[p.range]) continue;
    for (auto& [key, hashes] : seen) {
      hashes.resize(replicas_.size());
      bool equal = true;
      for (const auto& h : hashes) equal = equal && h.has_value() && h == hashes[0];
      if (!equal) differing.emplace_back(p.range, key);
    }
    if (differing.size() >= opts_.states_batch) {
      if (!Repair(differing)) return false;
      differing.clear();
    }
  }
  return differing.empty() || Repair(differing);
}

bool Exchange::Repair(const std::vector<std::pair<size_t, std::string>>& keys) {
  std::vector<std::string> names;
  for (const auto& [range, key] : keys) names.push_back(key);
  // states[r][i]: replica r's encoded state of key i.
  std::vector<std::vector<std::optional<std::string>>> states(replicas_.size());
  for (size_t r = 0; r < replicas_.size(); ++r) {
    auto got = replicas_[r]->States(names);
    if (!Paced()) return false;
    if (!got.ok() || got->size() != names.size()) {
      const std::string why = replicas_[r]->node() + ": " +
                              (got.ok() ? "aae_states answered the wrong count"
                                        : got.status().ToString());
      for (const auto& [range, key] : keys) Fail(range, why);
      Unreachable(*replicas_[r]);
      return true;
    }
    states[r] = std::move(*got);
  }
  std::vector<std::vector<std::pair<std::string, std::string>>> to_send(replicas_.size());
  std::vector<std::vector<size_t>> sent_ranges(replicas_.size());
  for (size_t i = 0; i < names.size(); ++i) {
    version::KeyState merged;
    bool any = false;
    bool bad = false;
    for (size_t r = 0; r < replicas_.size(); ++r) {
      if (!states[r][i]) continue;
      auto s = version::KeyState::Decode(*states[r][i]);
      if (!s.ok()) {
        // A replica sending an undecodable state: do not spread it; the range stays incomplete.
        Fail(keys[i].first, replicas_[r]->node() + ": state of a key does not decode: " +
                                s.status().message());
        bad = true;
        break;
      }
      merged.Sync(*s);
      any = true;
    }
    if (bad || !any) continue;  // absent everywhere now (dropped since it was listed)
    ++c_.keys_differing;
    const std::string enc = merged.Encode();
    const bool only_tombstones = merged.OnlyTombstones();
    for (size_t r = 0; r < replicas_.size(); ++r) {
      if (states[r][i] && *states[r][i] == enc) continue;
      // A deletion is not copied to a replica that holds nothing of the key: to a reader both
      // mean "not found", and a replica that dropped the tombstone after a complete repair
      // would otherwise get it back with a new write time, restarting its grace; the replicas
      // would then pass it back and forth one repair behind each other and never drop it. A
      // replica holding a value of the key does get the tombstone. What could later bring a
      // value to the empty replica is bounded: hints older than --hint-window (shorter than the
      // grace) are dropped, and every other replica holds the tombstone or nothing.
      if (!states[r][i] && only_tombstones) continue;
      to_send[r].emplace_back(names[i], enc);
      sent_ranges[r].push_back(keys[i].first);
    }
  }
  for (size_t r = 0; r < replicas_.size(); ++r) {
    if (to_send[r].empty()) continue;
    Status s = replicas_[r]->Sync(to_send[r]);
    if (!Paced()) return false;
    if (!s.ok()) {
      for (size_t range : sent_ranges[r]) Fail(range, replicas_[r]->node() + ": " + s.ToString());
      Unreachable(*replicas_[r]);
      continue;
    }
    c_.keys_sent += to_send[r].size();
  }
  return true;
}

void Exchange::Marks(std::vector<bool>* complete) {
  std::vector<size_t> done;
  for (size_t i = 0; i < ranges_.size(); ++i) {
    if (!failed_[i]) done.push_back(i);
  }
  const size_t step = std::max<uint32_t>(1, opts_.ranges_per_tree);
  for (size_t begin = 0; begin < done.size(); begin += step) {
    const size_t end = std::min(done.size(), begin + step);
    std::vector<AaeRange> chunk;
    for (size_t i = begin; i < end; ++i) chunk.push_back(ranges_[done[i]]);
    // Adjacent ranges go as one: a mark is per token, and these share their replicas.
    std::sort(chunk.begin(), chunk.end());
    std::vector<AaeRange> merged;
    for (const AaeRange& r : chunk) {
      if (!merged.empty() && merged.back().last != UINT64_MAX && merged.back().last + 1 == r.first) {
        merged.back().last = r.last;
      } else {
        merged.push_back(r);
      }
    }
    chunk = std::move(merged);
    bool ok = true;
    for (size_t r = 0; r < replicas_.size(); ++r) {
      Status s = replicas_[r]->Mark(chunk, as_of_[r]);
      if (!Paced()) return;
      if (!s.ok()) {
        if (error_.empty()) error_ = replicas_[r]->node() + ": repair_mark: " + s.ToString();
        Unreachable(*replicas_[r]);
        ok = false;
        break;
      }
    }
    for (size_t i = begin; i < end; ++i) (*complete)[done[i]] = ok;
  }
}

ExchangeResult Exchange::Run() {
  ExchangeResult res;
  res.complete.assign(ranges_.size(), false);
  std::vector<Piece> differing;
  std::vector<Piece> leaves;
  if (Roots(&differing) && Descend(std::move(differing), &leaves) && CompareKeys(leaves) &&
      !stopped_) {
    Marks(&res.complete);
  }
  c_.bytes = io_last_ - io_start_;
  res.counters = c_;
  res.error = error_;
  res.failed_node = failed_node_;
  return res;
}

}  // namespace

ExchangeResult ExchangeRanges(const std::vector<AaeReplica*>& replicas,
                              const std::vector<AaeRange>& ranges,
                              const ExchangeOptions& options, const ExchangePace& pace) {
  return Exchange(replicas, ranges, options, pace).Run();
}

}  // namespace ringkv::gossip
