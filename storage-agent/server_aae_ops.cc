// The storage agent's anti-entropy ops (docs/storage-protocol.md; docs/anti-entropy.md):
// aae_tree, aae_keys, aae_states and repair_mark. They run on a worker (they may read the disk)
// and keep every reply under the body limit.
#include "common/aae/key_hash.h"
#include "common/logging.h"
#include "storage-agent/server.h"

namespace ringkv::storage {

namespace sp = storage_protocol;

namespace {

// Replies stop adding keys or states past this many bytes (and set `more`).
constexpr size_t kMaxAaeReplyBytes = sp::kMaxBodyBytes / 2;

sp::Reply Off(const sp::Request& req) {
  return sp::ErrorReply(req.rid, sp::kErrBadRequest,
                        "anti-entropy is off on this storage agent (--aae off)");
}

sp::Reply Fail(const sp::Request& req, const Status& st) {
  if (st.IsCorruption()) {
    RINGKV_LOG(kError) << req.op << ": " << st.ToString();
  }
  return sp::ErrorReply(req.rid, sp::ErrorCodeOf(st), st.message());
}

}  // namespace

sp::Reply Server::OpAaeTree(const sp::Request& req) {
  if (store_->aae_tree() == nullptr) return Off(req);
  sp::Reply r;
  r.now_ms = sp::DeadlineClockMs();
  r.ready = store_->AaeReady();
  if (!*r.ready) return r;
  r.trees.reserve(req.ranges.size());
  for (const auto& rg : req.ranges) {
    std::vector<sp::AaePart> tree;
    tree.reserve(req.parts);
    for (uint32_t i = 0; i < req.parts; ++i) {
      auto [first, last] = aae::PartBounds(rg.first, rg.last, req.parts, i);
      AaeTree::Sum sum;
      Status s = store_->AaeRangeSum(first, last, &sum);
      if (!s.ok()) return Fail(req, s);
      tree.push_back(sp::AaePart{sum.hash, sum.count});
    }
    r.trees.push_back(std::move(tree));
  }
  return r;
}

sp::Reply Server::OpAaeKeys(const sp::Request& req) {
  if (store_->aae_tree() == nullptr) return Off(req);
  std::optional<engine::ScanCursor> after;
  if (req.after_token) after = engine::ScanCursor{*req.after_token, req.after_key};
  std::vector<ReplicaStore::AaeKeyHashEntry> entries;
  bool more = false;
  Status s = store_->AaeKeys(req.first, req.last, after, req.limit, kMaxAaeReplyBytes, &entries,
                             &more);
  if (!s.ok()) return Fail(req, s);
  sp::Reply r;
  r.key_hashes.reserve(entries.size());
  for (auto& e : entries) r.key_hashes.push_back(sp::AaeKeyItem{std::move(e.key), e.hash});
  r.more = more;
  return r;
}

sp::Reply Server::OpAaeStates(const sp::Request& req) {
  sp::Reply r;
  size_t bytes = 0;
  r.states.reserve(req.keys.size());
  for (const auto& key : req.keys) {
    if (!r.states.empty() && bytes > kMaxAaeReplyBytes) {
      r.more = true;
      break;
    }
    auto got = store_->Get(key);
    if (!got.ok()) return Fail(req, got.status());
    bytes += (*got ? (*got)->size() : 0) + 8;
    r.states.push_back(std::move(*got));
  }
  return r;
}

sp::Reply Server::OpRepairMark(const sp::Request& req) {
  if (store_->aae_tree() == nullptr) return Off(req);
  // `asof` comes from this agent's own clock (an aae_tree reply's `now`); a later time would
  // let compaction drop tombstones written after the repair looked.
  if (req.as_of_ms > sp::DeadlineClockMs() + 1000) {
    return sp::ErrorReply(req.rid, sp::kErrBadRequest,
                          "'asof' is later than this agent's clock: it must be the 'now' of an "
                          "aae_tree reply of this agent");
  }
  std::vector<std::pair<Token, Token>> ranges;
  ranges.reserve(req.ranges.size());
  for (const auto& rg : req.ranges) ranges.emplace_back(rg.first, rg.last);
  Status s = store_->AddRepairMarks(ranges, req.as_of_ms);
  if (!s.ok()) return Fail(req, s);
  return sp::Reply();
}

}  // namespace ringkv::storage
