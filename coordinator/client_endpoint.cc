// ClientEndpoint (see client_endpoint.h).
#include "coordinator/client_endpoint.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "common/net/link_security.h"
#include "common/net/zmq_util.h"

namespace ringkv::coordinator {

namespace {

// Connections open at once; more are accepted and closed at once (with a log line).
constexpr size_t kMaxConns = 16384;
// A client that leaves this much of its replies unread is disconnected.
constexpr size_t kMaxUnsentBytes = 64u << 20;
// Bytes read from one connection per event, so one busy client cannot starve the others.
constexpr size_t kReadBudget = 1u << 20;
// After an accept error such as EMFILE new connections wait this long.
constexpr int64_t kAcceptPauseMs = 100;
// libzmq transport, after StopAccepting: how long closing the ROUTER may wait for its replies.
constexpr int kDrainLingerMs = 2000;

}  // namespace

ClientEndpoint::ClientEndpoint(zmq::context_t& ctx, net::Reactor* reactor, size_t max_frame_bytes,
                               size_t max_frames, OnMessage on_message)
    : ctx_(ctx), reactor_(reactor), on_message_(std::move(on_message)) {
  limits_.max_frame_bytes = max_frame_bytes;
  limits_.max_frames = max_frames;
  limits_.max_out_bytes = kMaxUnsentBytes;
}

ClientEndpoint::~ClientEndpoint() {
  for (auto& [id, c] : conns_) reactor_->RemoveFd(c.z->fd());
  conns_.clear();
  if (listen_fd_ >= 0) {
    reactor_->RemoveFd(listen_fd_);
    close(listen_fd_);
  }
  if (router_) reactor_->RemoveZmq(router_);
}

Status ClientEndpoint::Bind(const std::string& endpoint, bool libzmq) {
  // Our ZMTP speaks only the NULL mechanism: with link security on, libzmq's ROUTER serves
  // the endpoint as a CURVE server (net::Bind), never a plaintext listener.
  zmtp_ = !libzmq && !net::LinkSecurityActive() && net::IsStreamEndpoint(endpoint);
  if (zmtp_) {
    auto fd = net::ListenStream(endpoint, &bound_);
    if (!fd.ok()) return fd.status();
    listen_fd_ = *fd;
    return Status::OK();
  }
  net::SocketOptions so;
  so.send_hwm = 100000;
  so.recv_hwm = 100000;
  so.max_msg_size = static_cast<int64_t>(limits_.max_frame_bytes);
  auto sock = net::MakeSocket(ctx_, zmq::socket_type::router, so);
  if (!sock.ok()) return sock.status();
  router_ = std::move(*sock);
  RINGKV_RETURN_IF_ERROR(net::Bind(router_, endpoint));
  bound_ = net::LastEndpoint(router_);
  return Status::OK();
}

Status ClientEndpoint::StartServing() {
  if (serving_) return Status::OK();
  serving_ = true;
  if (zmtp_) return WatchListener();
  // Called once at the next pass (messages may have queued already), then on its FD.
  return reactor_->AddZmq(router_, [this](int budget) { return DrainLibzmq(budget); });
}

Status ClientEndpoint::WatchListener() {
  RINGKV_RETURN_IF_ERROR(reactor_->AddFd(listen_fd_, EPOLLIN, [this](uint32_t) { Accept(); }));
  listen_watched_ = true;
  return Status::OK();
}

void ClientEndpoint::OnConnEvents(uint64_t id, uint32_t events) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if ((events & EPOLLOUT) && !it->second.dirty) {
    it->second.dirty = true;
    dirty_.push_back(id);
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ReadConn(id, kReadBudget);
}

void ClientEndpoint::Accept() {
  for (int i = 0; i < 64; ++i) {
    const int fd = net::AcceptStream(listen_fd_);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The listener stays readable: without a pause the loop would spin on it.
        RINGKV_LOG(kWarn) << "client endpoint: accept: " << std::strerror(errno)
                          << "; new clients wait " << kAcceptPauseMs << " ms";
        reactor_->RemoveFd(listen_fd_);
        listen_watched_ = false;
        reactor_->AddTimer(kAcceptPauseMs, [this] {
          if (listen_watched_ || listen_fd_ < 0) return;
          Status s = WatchListener();
          if (!s.ok()) {
            RINGKV_LOG(kError) << "client endpoint: listener: " << s.ToString();
          }
        });
      }
      return;
    }
    if (conns_.size() >= kMaxConns) {
      RINGKV_LOG(kWarn) << "client endpoint: " << kMaxConns
                        << " clients connected already; a new one was closed";
      close(fd);
      continue;
    }
    const uint64_t id = next_conn_id_++;
    Conn& c = conns_[id];
    c.z = std::make_unique<net::ZmtpConn>(fd, false, net::ZmtpConn::Type::kRouter, limits_);
    c.dirty = true;  // our greeting
    dirty_.push_back(id);
    WatchConn(id, c);
  }
}

void ClientEndpoint::ReadConn(uint64_t id, size_t budget) {
  net::ZmtpConn* z = conns_[id].z.get();
  Status s = z->Read(
      [&](const net::ZmtpConn::Message& m) {
        if (!accepting_) return;  // draining: not accepted (see StopAccepting)
        ClientRoute route;
        route.conn = id;
        views_.assign(m.frames.begin(), m.frames.end());
        on_message_(std::move(route), views_, m.truncated);
      },
      budget);
  // A PONG may have been queued.
  if (z->WantsWrite() && !conns_[id].dirty) {
    conns_[id].dirty = true;
    dirty_.push_back(id);
  }
  if (!s.ok()) {
    if (s.code() == Status::Code::kUnavailable) {
      Close(id, nullptr);
    } else {
      Close(id, s.ToString().c_str());
    }
  }
}

void ClientEndpoint::Close(uint64_t id, const char* why) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (why != nullptr) {
    RINGKV_LOG(kInfo) << "client connection " << id << " closed: " << why;
  }
  doomed_.push_back(id);
}

void ClientEndpoint::WatchConn(uint64_t id, Conn& c) {
  const uint32_t events = EPOLLIN | (c.z->WantsWrite() ? EPOLLOUT : 0u);
  if (events == c.events) return;
  Status s = c.events == 0 ? reactor_->AddFd(c.z->fd(), events,
                                             [this, id](uint32_t ev) { OnConnEvents(id, ev); })
                           : reactor_->SetFdEvents(c.z->fd(), events);
  c.events = events;
  if (!s.ok()) {
    RINGKV_LOG(kWarn) << "client connection " << id << ": " << s.ToString();
    doomed_.push_back(id);
  }
}

void ClientEndpoint::Send(const ClientRoute& route, std::string_view body) {
  if (route.conn == 0) {
    if (!router_) return;
    void* s = router_.handle();
    reactor_->Kick(router_);  // a send may process commands that made requests readable
    if (zmq_send(s, route.identity.data(), route.identity.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
      return;
    for (const std::string& f : route.envelope) {
      if (zmq_send(s, f.data(), f.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return;
    }
    zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, body.data(), body.size(), ZMQ_DONTWAIT);
    return;
  }
  auto it = conns_.find(route.conn);
  if (it == conns_.end()) return;  // the client left
  send_views_.clear();
  for (const std::string& f : route.envelope) send_views_.emplace_back(f);
  send_views_.emplace_back();
  send_views_.push_back(body);
  if (!it->second.z->Queue(send_views_)) {
    Close(route.conn, "it reads none of its replies");
    return;
  }
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_.push_back(route.conn);
  }
}

void ClientEndpoint::Flush() {
  for (uint64_t id : dirty_) {
    auto it = conns_.find(id);
    if (it == conns_.end() || !it->second.dirty) continue;
    it->second.dirty = false;
    Status s = it->second.z->Flush();
    if (!s.ok()) {
      Close(id, s.ToString().c_str());
      continue;
    }
    WatchConn(id, it->second);
  }
  dirty_.clear();
  for (uint64_t id : doomed_) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    reactor_->RemoveFd(it->second.z->fd());  // before the ZmtpConn closes it
    conns_.erase(it);
  }
  doomed_.clear();
}

void ClientEndpoint::StopAccepting() {
  if (!accepting_) return;
  if (listen_fd_ >= 0) {
    if (listen_watched_) reactor_->RemoveFd(listen_fd_);
    listen_watched_ = false;
    close(listen_fd_);
    listen_fd_ = -1;
  }
  if (router_) {
    // libzmq's ROUTER stays bound: unbinding would also drop the connections it accepted, and
    // with them the replies still to come. Its replies leave from libzmq's I/O thread: the
    // socket's close at exit waits (bounded) until they are written.
    router_.set(zmq::sockopt::linger, kDrainLingerMs);
  }
  // What clients sent before this moment is in the connections' kernel buffers (or libzmq's
  // queue): read all of it now, so every request sent before the signal is accepted and
  // answered. Connections stay open (and are read, to keep level-triggered epoll quiet) for the
  // replies; what they bring from now on is discarded.
  if (serving_) {
    if (zmtp_) {
      std::vector<uint64_t> ids;
      ids.reserve(conns_.size());
      for (const auto& [id, c] : conns_) ids.push_back(id);
      for (uint64_t id : ids) ReadConn(id, limits_.max_frame_bytes + (1u << 20));
    } else {
      for (int i = 0; i < 1024 && DrainLibzmq(1024); ++i) {
      }
    }
  }
  accepting_ = false;
}

bool ClientEndpoint::HasUnsent() const {
  for (const auto& [id, c] : conns_) {
    if (c.z->WantsWrite()) return true;
  }
  return false;
}

bool ClientEndpoint::DrainLibzmq(int budget) {
  void* s = router_.handle();
  for (int n = 0; n < budget; ++n) {
    zmq::message_t identity;
    if (zmq_msg_recv(identity.handle(), s, ZMQ_DONTWAIT) < 0) return false;
    std::vector<zmq::message_t> parts;
    bool truncated = false;
    bool more = identity.more();
    while (more) {
      zmq::message_t part;
      if (zmq_msg_recv(part.handle(), s, 0) < 0) break;
      more = part.more();
      if (parts.size() < limits_.max_frames) {
        parts.push_back(std::move(part));
      } else {
        truncated = true;
      }
    }
    if (!accepting_) continue;  // draining: not accepted (see StopAccepting)
    ClientRoute route;
    route.identity.assign(static_cast<const char*>(identity.data()), identity.size());
    std::vector<std::string_view> frames;
    frames.reserve(parts.size());
    for (auto& p : parts) frames.emplace_back(static_cast<const char*>(p.data()), p.size());
    on_message_(std::move(route), frames, truncated);
  }
  return true;
}

}  // namespace ringkv::coordinator
