// A storage agent as an anti-entropy replica (see aae_replica_zmq.h).
#include "gossip-agent/aae_replica_zmq.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "common/net/reactor.h"
#include "common/net/zmq_util.h"

namespace ringkv::gossip {

namespace sp = storage_protocol;

ZmqAaeReplica::ZmqAaeReplica(zmq::context_t& ctx, std::string node, std::string endpoint,
                             ZmqReplicaOptions options, const std::atomic<bool>* stop)
    : ctx_(ctx),
      node_(std::move(node)),
      endpoint_(std::move(endpoint)),
      opts_(options),
      stop_(stop) {}

Status ZmqAaeReplica::Failed(const std::string& what) {
  sock_ = zmq::socket_t();
  return Status::Unavailable(node_ + " (" + endpoint_ + "): " + what);
}

Status ZmqAaeReplica::Open() {
  if (sock_) return Status::OK();
  net::SocketOptions so;
  so.immediate = true;  // a send to an agent that is down waits for the connection, not a queue
  so.send_hwm = opts_.sync_window * 2;
  so.recv_hwm = opts_.sync_window * 2;
  so.max_msg_size = static_cast<int64_t>(sp::kMaxFrameBytes);
  auto s = net::MakeSocket(ctx_, zmq::socket_type::dealer, so);
  if (!s.ok()) return s.status();
  RINGKV_RETURN_IF_ERROR(net::Connect(*s, endpoint_));
  sock_ = std::move(*s);
  return Status::OK();
}

Status ZmqAaeReplica::Send(sp::Request& req) {
  RINGKV_RETURN_IF_ERROR(Open());
  req.rid = next_rid_++;
  const std::string body = sp::EncodeRequest(req);
  // Waits for the connection in slices, so that a stop is seen.
  for (int waited = 0;; waited += 100) {
    if (stop_ && *stop_) return Failed("stopping");
    Status s = net::SendFrames(sock_, std::vector<std::string_view>{"", body}, 100);
    if (s.ok()) break;
    if (s.code() != Status::Code::kTimeout || waited + 100 >= opts_.timeout_ms) {
      return Failed("not reachable: " + s.ToString());
    }
  }
  io_ += body.size();
  return Status::OK();
}

Result<sp::Reply> ZmqAaeReplica::Receive() {
  for (int waited = 0; waited < opts_.timeout_ms; waited += 100) {
    if (stop_ && *stop_) return Failed("stopping");
    auto frames = net::RecvFrames(sock_, 100, 4);
    if (!frames.ok()) {
      if (frames.status().code() == Status::Code::kTimeout) continue;
      return Failed(frames.status().ToString());
    }
    if (frames->empty()) continue;
    io_ += frames->back().size();
    auto reply = sp::DecodeReply(frames->back());
    if (!reply.ok()) return Failed("unreadable reply: " + reply.status().message());
    return reply;
  }
  return Failed("no reply within " + std::to_string(opts_.timeout_ms) + " ms");
}

Result<sp::Reply> ZmqAaeReplica::Call(sp::Request req) {
  for (int attempt = 0;; ++attempt) {
    RINGKV_RETURN_IF_ERROR(Send(req));
    for (;;) {
      auto reply = Receive();
      if (!reply.ok()) return reply.status();
      if (reply->rid != req.rid) continue;  // a stray reply to an abandoned request
      if (reply->ok) return reply;
      if (reply->code == sp::kErrBusy && attempt < opts_.busy_retries) break;
      return Status::IOError(node_ + ": " + req.op + " refused: " + reply->code + ": " +
                             reply->message);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * (attempt + 1)));
  }
}

Result<AaeTree> ZmqAaeReplica::Tree(const std::vector<AaeRange>& ranges, uint32_t parts) {
  sp::Request req;
  req.op = std::string(sp::kAaeTree);
  for (const AaeRange& r : ranges) req.ranges.push_back({r.first, r.last});
  req.parts = parts;
  auto reply = Call(std::move(req));
  if (!reply.ok()) return reply.status();
  AaeTree t;
  t.ready = reply->ready.value_or(false);
  t.now_ms = static_cast<int64_t>(reply->now_ms);
  for (auto& tree : reply->trees) {
    std::vector<AaeSum> sums;
    sums.reserve(tree.size());
    for (const sp::AaePart& p : tree) sums.push_back({p.hash, p.count});
    t.trees.push_back(std::move(sums));
  }
  return t;
}

Result<AaeKeyPage> ZmqAaeReplica::Keys(const AaeRange& range, uint32_t limit,
                                       const std::optional<std::pair<Token, std::string>>& after) {
  sp::Request req;
  req.op = std::string(sp::kAaeKeys);
  req.first = range.first;
  req.last = range.last;
  req.limit = std::clamp<uint32_t>(limit, 1, sp::kMaxAaeKeysLimit);
  if (after) {
    req.after_token = after->first;
    req.after_key = after->second;
  }
  auto reply = Call(std::move(req));
  if (!reply.ok()) return reply.status();
  AaeKeyPage page;
  page.more = reply->more;
  for (sp::AaeKeyItem& i : reply->key_hashes) page.items.push_back({std::move(i.key), i.hash});
  return page;
}

Result<std::vector<std::optional<std::string>>> ZmqAaeReplica::States(
    const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  // Bounded: each round trip returns at least one state or fails.
  while (out.size() < keys.size()) {
    sp::Request req;
    req.op = std::string(sp::kAaeStates);
    const size_t n = std::min<size_t>(sp::kMaxAaeStatesKeys, keys.size() - out.size());
    req.keys.assign(keys.begin() + static_cast<ptrdiff_t>(out.size()),
                    keys.begin() + static_cast<ptrdiff_t>(out.size() + n));
    auto reply = Call(std::move(req));
    if (!reply.ok()) return reply.status();
    if (reply->states.empty() || reply->states.size() > n) {
      return Failed("aae_states answered " + std::to_string(reply->states.size()) + " of " +
                    std::to_string(n) + " states");
    }
    for (auto& s : reply->states) out.push_back(std::move(s));
  }
  return out;
}

Status ZmqAaeReplica::Sync(const std::vector<std::pair<std::string, std::string>>& items) {
  std::map<uint64_t, size_t> inflight;  // rid -> item
  std::vector<int> busy(items.size(), 0);
  std::vector<size_t> queue;
  for (size_t i = items.size(); i-- > 0;) queue.push_back(i);  // popped from the back: in order
  while (!queue.empty() || !inflight.empty()) {
    while (!queue.empty() && inflight.size() < static_cast<size_t>(opts_.sync_window)) {
      const size_t i = queue.back();
      sp::Request req;
      req.op = std::string(sp::kSync);
      req.key = items[i].first;
      req.state = items[i].second;
      RINGKV_RETURN_IF_ERROR(Send(req));
      inflight[req.rid] = i;
      queue.pop_back();
    }
    auto reply = Receive();
    if (!reply.ok()) return reply.status();
    auto it = inflight.find(reply->rid);
    if (it == inflight.end()) continue;
    const size_t i = it->second;
    inflight.erase(it);
    if (reply->ok) continue;
    if (reply->code == sp::kErrBusy && busy[i]++ < opts_.busy_retries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      queue.push_back(i);
      continue;
    }
    return Status::IOError(node_ + ": sync refused: " + reply->code + ": " + reply->message);
  }
  return Status::OK();
}

Status ZmqAaeReplica::Mark(const std::vector<AaeRange>& ranges, int64_t as_of_ms) {
  sp::Request req;
  req.op = std::string(sp::kRepairMark);
  for (const AaeRange& r : ranges) req.ranges.push_back({r.first, r.last});
  req.as_of_ms = static_cast<uint64_t>(as_of_ms);
  auto reply = Call(std::move(req));
  return reply.ok() ? Status::OK() : reply.status();
}

}  // namespace ringkv::gossip
