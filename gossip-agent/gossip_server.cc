// The gossip agent's reactor loop (see gossip_server.h).
#include "gossip-agent/gossip_server.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include "common/logging.h"
#include "common/net/zmq_util.h"
#include "common/ring/ring_store.h"
#include "gossip-agent/hint_store.h"
#include "gossip-agent/gossip_service.h"

namespace ringkv::gossip {

namespace {

// Closes the signalfd on every way out of RunGossipAgent.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Receives one whole multipart message without waiting; false when none is queued. Frames past
// kMaxFrames are read and dropped (so the socket stays in step) and flagged in *truncated.
bool RecvMessage(zmq::socket_t& s, std::vector<std::string>* frames, bool* truncated) {
  frames->clear();
  *truncated = false;
  zmq::message_t msg;
  if (!s.recv(msg, zmq::recv_flags::dontwait)) return false;
  frames->emplace_back(msg.to_string());
  while (msg.more()) {
    // The rest of a multipart message is already queued: this never waits.
    if (!s.recv(msg, zmq::recv_flags::none)) break;
    if (frames->size() < kMaxFrames) {
      frames->emplace_back(msg.to_string());
    } else {
      *truncated = true;
    }
  }
  return true;
}

// Replies to one request. Envelope: the routing frames up to the first empty frame (REQ peers
// and DEALERs that send [empty][body]), or just the identity when there is no empty frame
// (a DEALER sending [body]); the reply goes back in the same shape.
void Serve(zmq::socket_t& router, GossipService& service, const std::vector<std::string>& frames,
           bool truncated) {
  size_t delim = 0;
  for (size_t i = 1; i < frames.size(); ++i) {
    if (frames[i].empty()) {
      delim = i;
      break;
    }
  }
  const size_t route_end = delim ? delim : 1;
  const size_t body_begin = delim ? delim + 1 : 1;
  const size_t body_frames = frames.size() - body_begin;
  std::string reply;
  if (truncated || body_frames != 1) {
    reply = GossipService::ErrorReply(
        kErrBadRequest, "expected exactly one body frame after the envelope, got " +
                            (truncated ? "more than " + std::to_string(kMaxFrames)
                                       : std::to_string(body_frames)));
  } else {
    reply = service.Handle(frames[body_begin]);
  }
  try {
    for (size_t i = 0; i < route_end; ++i) {
      if (!router.send(zmq::buffer(frames[i]), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        RINGKV_LOG(kWarn) << "reply dropped: peer queue full";
        return;
      }
    }
    if (delim) router.send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    router.send(zmq::buffer(reply), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    // A peer that vanished mid-reply costs only its reply.
    RINGKV_LOG(kWarn) << "reply dropped: " << e.what();
  }
}

}  // namespace

Status RunGossipAgent(const GossipOptions& opts, zmq::context_t& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(opts.data_dir, ec);
  if (ec) return Status::IOError("create data dir " + opts.data_dir + ": " + ec.message());
  const std::string db_path = opts.data_dir + "/ring.db";
  auto store = RingStore::Open(db_path);
  if (!store.ok()) return store.status();
  auto changed = (*store)->Seed(opts.cluster.nodes, opts.cluster.replication);
  if (!changed.ok()) return changed.status();
  auto version = (*store)->Version();
  if (!version.ok()) return version.status();
  RINGKV_LOG(kInfo) << "ring " << db_path << " version " << *version
                    << (*changed ? " (seeded from configuration)" : " (already up to date)")
                    << ": " << opts.cluster.nodes.size() << " nodes, replication "
                    << opts.cluster.replication.ToString();

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  Fd sfd(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (sfd.get() < 0) return Status::FromErrno("signalfd", errno);

  auto hints = HintStore::Open(opts.data_dir + "/hints.db", opts.hint_max_bytes);
  if (!hints.ok()) return hints.status();
  if ((*hints)->count() > 0) {
    RINGKV_LOG(kInfo) << (*hints)->count() << " hints pending (" << (*hints)->bytes()
                      << " bytes)";
  }
  // Storage endpoints by node id, from the ring store, re-read at most once a second.
  RingSnapshot ring;
  int64_t ring_read_ms = -1;
  auto endpoint_of = [&](const std::string& node) -> std::string {
    const int64_t now = net::NowMs();
    if (ring_read_ms < 0 || now - ring_read_ms >= 1000) {
      auto snap = (*store)->Load();
      if (snap.ok()) ring = std::move(*snap);
      ring_read_ms = now;
    }
    for (const NodeInfo& n : ring.nodes) {
      if (n.id == node) return n.storage_endpoint;
    }
    return "";
  };
  HintDeliverer deliverer(ctx, hints->get(), endpoint_of, opts.delivery);
  GossipService service(opts.cluster.node_id, store->get(), hints->get(), &deliverer);
  try {
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
    router.set(zmq::sockopt::sndhwm, 1000);
    router.set(zmq::sockopt::rcvhwm, 1000);
    try {
      router.bind(opts.listen);
    } catch (const zmq::error_t& e) {
      return Status::IOError("bind " + opts.listen + ": " + e.what());
    }
    RINGKV_LOG(kInfo) << "node " << opts.cluster.node_id << " serving on " << opts.listen
                      << " (static membership: no gossip between agents yet)";
    std::vector<std::string> frames;
    for (;;) {
      int64_t now = net::NowMs();
      deliverer.Tick(now);
      std::vector<zmq::pollitem_t> items = {{router.handle(), 0, ZMQ_POLLIN, 0},
                                            {nullptr, sfd.get(), ZMQ_POLLIN, 0}};
      const std::vector<zmq::pollitem_t> delivery_items = deliverer.PollItems();
      items.insert(items.end(), delivery_items.begin(), delivery_items.end());
      const int64_t wait = std::min<int64_t>(kPollIntervalMs, deliverer.NextWakeMs(now) - now);
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(std::max<int64_t>(0, wait)));
      now = net::NowMs();
      for (size_t i = 2; i < items.size(); ++i) {
        if (items[i].revents & ZMQ_POLLIN) deliverer.OnReadable(i - 2, now);
      }
      if (items[1].revents & ZMQ_POLLIN) {
        signalfd_siginfo info{};
        ssize_t n = read(sfd.get(), &info, sizeof(info));
        const char* name = (n == sizeof(info) && info.ssi_signo == SIGINT) ? "SIGINT" : "SIGTERM";
        RINGKV_LOG(kInfo) << "stopping on " << name;
        break;
      }
      if (items[0].revents & ZMQ_POLLIN) {
        // Bounded batch so the signalfd is looked at even under a flood of requests.
        bool truncated = false;
        for (int i = 0; i < kMaxMessagesPerWakeup && RecvMessage(router, &frames, &truncated);
             ++i) {
          Serve(router, service, frames, truncated);
        }
      }
    }
  } catch (const zmq::error_t& e) {
    return Status::IOError(std::string("zeromq: ") + e.what());
  }
  RINGKV_LOG(kInfo) << "stopped";
  return Status::OK();
}

}  // namespace ringkv::gossip
