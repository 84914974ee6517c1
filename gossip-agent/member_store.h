// How the gossip agent's membership meets ring.db: the conversions between a configured node
// (NodeInfo) and a gossip entry, the ring rows derived from the membership, and the batching of
// writes (one transaction per facts change, coalesced, plus the heartbeats every few seconds,
// never one per heartbeat). docs/ring.md, "ringkv-gossip".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol/gossip_protocol.h"
#include "common/ring/ring.h"
#include "common/ring/ring_store.h"
#include "common/status.h"
#include "gossip-agent/membership.h"

namespace ringkv::gossip {

// A configured node as a gossip entry (heartbeat {0, 0}: any gossiped entry replaces it).
// Config state `down` becomes `normal`: down is a judgement, never a fact.
gp::NodeEntry EntryFromConfig(const NodeInfo& n);
// The ring row of a member, or nullopt when it is not in the ring (removed).
std::optional<NodeInfo> RingNodeOf(const gp::NodeEntry& e);

struct SaverOptions {
  int64_t facts_delay_ms = 100;       // a facts change is written within this (coalesced)
  int64_t heartbeat_every_ms = 5000;  // heartbeats alone are written this often
};

class MemberSaver {
 public:
  MemberSaver(RingStore* store, Replication replication, SaverOptions options = {})
      : store_(store), replication_(std::move(replication)), options_(options) {}

  // Facts changed (Membership's change callback): a save is due within facts_delay_ms.
  void FactsChanged(int64_t now_ms);
  // When the next save is due (for a timer).
  int64_t NextDueMs() const;
  // Saves when due (or `force`): every member, and the ring rows when facts changed. The
  // `forget` ids are removed from the members table. Returns whether the ring version went up.
  Result<bool> MaybeSave(const Membership& m, int64_t now_ms, bool force = false,
                         const std::vector<std::string>& forget = {});

  uint64_t saves() const { return saves_; }

 private:
  RingStore* const store_;
  const Replication replication_;
  const SaverOptions options_;
  bool facts_dirty_ = true;  // the first save writes the ring
  int64_t facts_due_ms_ = 0;
  int64_t last_save_ms_ = -1;
  uint64_t saves_ = 0;
};

}  // namespace ringkv::gossip
