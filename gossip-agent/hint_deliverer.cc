// Hint delivery to storage agents (see hint_deliverer.h).
#include "gossip-agent/hint_deliverer.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>

#include "common/logging.h"
#include "common/net/zmq_util.h"
#include "common/protocol/storage_protocol.h"

namespace ringkv::gossip {

namespace sp = storage_protocol;

namespace {
int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace


struct HintDeliverer::Target {
  std::string node;
  std::string endpoint;
  zmq::socket_t sock;                 // DEALER to the target's storage agent; closed when idle
  std::map<uint64_t, Hint> inflight;  // by rid
  std::set<int64_t> inflight_ids;     // hint ids in flight, so none is sent twice at once
  int64_t oldest_sent_ms = 0;         // of the syncs in flight
  int64_t retry_at_ms = 0;
  int backoff_ms = 0;
  bool warned_unknown = false;
};

HintDeliverer::HintDeliverer(zmq::context_t& ctx, HintStore* store, EndpointOf endpoint_of,
                             HintDeliveryOptions options)
    : ctx_(ctx), store_(store), endpoint_of_(std::move(endpoint_of)), opts_(options) {}

HintDeliverer::~HintDeliverer() = default;

HintDeliverer::Target& HintDeliverer::TargetFor(const std::string& node) {
  auto& slot = targets_[node];
  if (!slot) {
    slot = std::make_unique<Target>();
    slot->node = node;
  }
  return *slot;
}

void HintDeliverer::Fail(Target& t, int64_t now_ms, const std::string& why) {
  ++stats_.failures;
  t.backoff_ms = t.backoff_ms == 0 ? opts_.backoff_min_ms
                                   : std::min(opts_.backoff_max_ms, t.backoff_ms * 2);
  t.retry_at_ms = now_ms + t.backoff_ms;
  RINGKV_LOG(kInfo) << "hint delivery to " << t.node << " paused " << t.backoff_ms
                    << " ms: " << why;
  if (!t.inflight.empty()) {
    // Replies to these may still come; a fresh socket makes sure none is mistaken for another.
    t.sock = zmq::socket_t();
    t.inflight.clear();
    t.inflight_ids.clear();
  }
}

void HintDeliverer::Fill(Target& t, int64_t now_ms) {
  if (now_ms < t.retry_at_ms) return;
  const size_t window = static_cast<size_t>(std::max(1, opts_.window));
  // Ask the store only when at least half the window is free: one query per batch, not per ack.
  if (t.inflight.size() > window / 2) return;
  const std::string endpoint = endpoint_of_(t.node);
  if (endpoint.empty()) {
    if (!t.warned_unknown) {
      RINGKV_LOG(kWarn) << "hints for " << t.node << " wait: that node is not in the ring";
      t.warned_unknown = true;
    }
    t.retry_at_ms = now_ms + opts_.backoff_max_ms;
    return;
  }
  t.warned_unknown = false;
  if (endpoint != t.endpoint) {
    t.sock = zmq::socket_t();
    t.inflight.clear();
    t.inflight_ids.clear();
    t.endpoint = endpoint;
  }
  if (!t.sock) {
    net::SocketOptions so;
    so.immediate = true;  // a send to a storage agent that is down fails at once (EAGAIN)
    so.send_hwm = static_cast<int>(window) * 2;
    so.recv_hwm = static_cast<int>(window) * 2;
    so.max_msg_size = static_cast<int64_t>(sp::kMaxFrameBytes);
    auto s = net::MakeSocket(ctx_, zmq::socket_type::dealer, so);
    if (!s.ok()) {
      Fail(t, now_ms, s.status().ToString());
      return;
    }
    Status c = net::Connect(*s, endpoint);
    if (!c.ok()) {
      Fail(t, now_ms, c.ToString());
      return;
    }
    t.sock = std::move(*s);
    // The connection needs a moment; the first sends come at the next tick.
    t.retry_at_ms = now_ms + 50;
    return;
  }
  auto hints = store_->Oldest(t.node, window + t.inflight.size());
  if (!hints.ok()) {
    Fail(t, now_ms, hints.status().ToString());
    return;
  }
  const int64_t cutoff = opts_.max_age_ms > 0 ? WallMs() - opts_.max_age_ms : INT64_MIN;
  for (Hint& h : *hints) {
    if (t.inflight.size() >= window) break;
    if (t.inflight_ids.count(h.id)) continue;
    if (h.created_ms < cutoff) continue;  // past the window: the next Expire() drops it
    sp::Request req;
    req.op = std::string(sp::kSync);
    req.rid = next_rid_++;
    req.key = h.key;
    req.state = h.state;
    const std::string body = sp::EncodeRequest(req);
    zmq::message_t empty;
    if (zmq_msg_send(empty.handle(), t.sock.handle(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(t.sock.handle(), body.data(), body.size(), ZMQ_DONTWAIT) < 0) {
      // Not connected (the target is down) or its queue is full: try again a little later,
      // without counting it as a failure.
      t.retry_at_ms = now_ms + opts_.backoff_min_ms;
      break;
    }
    if (t.inflight.empty()) t.oldest_sent_ms = now_ms;
    t.inflight_ids.insert(h.id);
    t.inflight.emplace(req.rid, std::move(h));
  }
}

// Hints are stamped with the wall clock of the holder when first stored (GossipService), so the
// window is measured on the same clock.
void HintDeliverer::Expire() {
  if (opts_.max_age_ms <= 0) return;
  auto n = store_->Expire(WallMs() - opts_.max_age_ms);
  if (!n.ok()) {
    RINGKV_LOG(kWarn) << "hint expiry: " << n.status().ToString();
    return;
  }
  if (*n > 0) {
    stats_.expired += *n;
    RINGKV_LOG(kInfo) << *n << " hints older than " << opts_.max_age_ms
                      << " ms dropped undelivered (anti-entropy repairs them); "
                      << stats_.expired << " so far";
  }
}

void HintDeliverer::Tick(int64_t now_ms) {
  if (now_ms >= next_rescan_ms_) {
    next_rescan_ms_ = now_ms + opts_.rescan_ms;
    Expire();
    auto nodes = store_->Targets();
    if (!nodes.ok()) {
      RINGKV_LOG(kWarn) << "hint delivery: " << nodes.status().ToString();
    } else {
      std::set<std::string> pending(nodes->begin(), nodes->end());
      for (const auto& n : pending) TargetFor(n);
      for (auto it = targets_.begin(); it != targets_.end();) {
        if (!pending.count(it->first) && it->second->inflight.empty()) {
          it = targets_.erase(it);  // nothing left for it: close its socket
        } else {
          ++it;
        }
      }
    }
  }
  for (auto& [node, t] : targets_) {
    if (!t->inflight.empty() && now_ms - t->oldest_sent_ms >= opts_.timeout_ms) {
      Fail(*t, now_ms, "no reply from " + t->endpoint + " within " +
                           std::to_string(opts_.timeout_ms) + " ms");
    }
    Fill(*t, now_ms);
  }
}

std::vector<zmq::pollitem_t> HintDeliverer::PollItems() {
  polled_.clear();
  std::vector<zmq::pollitem_t> items;
  for (auto& [node, t] : targets_) {
    if (!t->sock || t->inflight.empty()) continue;
    polled_.push_back(t.get());
    items.push_back(zmq::pollitem_t{t->sock.handle(), 0, ZMQ_POLLIN, 0});
  }
  return items;
}

void HintDeliverer::OnReadable(size_t index, int64_t now_ms) {
  if (index >= polled_.size()) return;
  Target& t = *polled_[index];
  // The hints acknowledged by this pass's replies are removed in one transaction (one fsync).
  std::vector<std::pair<int64_t, int64_t>> delivered;
  bool failed = false;
  // Bounded: at most one reply per sync in flight, plus strays.
  for (size_t n = 0; t.sock && n < 4 * static_cast<size_t>(opts_.window) + 4 && !failed; ++n) {
    auto frames = net::RecvFrames(t.sock, 0, 4);
    if (!frames.ok()) break;
    if (frames->empty()) continue;
    auto reply = sp::DecodeReply(frames->back());
    if (!reply.ok()) {
      Fail(t, now_ms, "unreadable reply: " + reply.status().message());
      failed = true;
      break;
    }
    auto it = t.inflight.find(reply->rid);
    if (it == t.inflight.end()) continue;  // a stray from before a reconnect
    Hint h = std::move(it->second);
    t.inflight.erase(it);
    t.inflight_ids.erase(h.id);
    if (!reply->ok) {
      Fail(t, now_ms, "sync of a hinted key refused: " + reply->code + ": " + reply->message);
      failed = true;
      break;
    }
    delivered.emplace_back(h.id, h.seq);
    t.backoff_ms = 0;
    if (!t.inflight.empty()) t.oldest_sent_ms = now_ms;  // progress resets the timeout
  }
  if (!delivered.empty()) {
    Status r = store_->RemoveAll(delivered);
    if (!r.ok()) {
      // Still stored: delivered again later, which the replica merges (sync is idempotent).
      RINGKV_LOG(kWarn) << "hint delivery: " << r.ToString();
    } else {
      stats_.delivered += delivered.size();
    }
  }
  if (!failed) Fill(t, now_ms);
}

int64_t HintDeliverer::NextWakeMs(int64_t now_ms) const {
  int64_t wake = next_rescan_ms_;
  for (const auto& [node, t] : targets_) {
    if (!t->inflight.empty()) wake = std::min(wake, t->oldest_sent_ms + opts_.timeout_ms);
    if (t->retry_at_ms > now_ms) wake = std::min(wake, t->retry_at_ms);
  }
  return std::max(wake, now_ms);
}

}  // namespace ringkv::gossip
