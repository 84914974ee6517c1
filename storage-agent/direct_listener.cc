// DirectListener (see direct_listener.h).
#include "storage-agent/direct_listener.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "common/net/stream_conn.h"
#include "common/protocol/storage_protocol.h"

namespace ringkv::storage {

namespace {

// Direct connections open at once; more are accepted and closed at once (with a log line).
constexpr size_t kMaxDirectConns = 1024;
// A direct peer that leaves this much of our replies unread is dropped.
constexpr size_t kMaxDirectUnsentBytes = 256u << 20;
constexpr size_t kDirectRouteSize = 10;
// How long new connections wait after an accept error (the listener stays readable: without a
// pause the loop would spin on it).
constexpr int64_t kAcceptPauseMs = 100;

}  // namespace

std::string DirectRoute(uint64_t id) {
  std::string r(kDirectRouteSize, '\0');
  r[1] = 'D';
  for (int i = 0; i < 8; ++i) r[2 + i] = static_cast<char>(id >> (8 * (7 - i)));
  return r;
}

uint64_t DirectConnOf(const std::string& first_route_frame) {
  if (first_route_frame.size() != kDirectRouteSize || first_route_frame[0] != '\0' ||
      first_route_frame[1] != 'D') {
    return 0;
  }
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | static_cast<unsigned char>(first_route_frame[2 + i]);
  return id;
}

DirectListener::DirectListener(net::Reactor* reactor, ServerCounters* counters,
                               OnRequest on_request)
    : reactor_(reactor), counters_(counters), on_request_(std::move(on_request)) {
  limits_.max_frame_bytes = storage_protocol::kMaxFrameBytes;
  limits_.max_out_bytes = kMaxDirectUnsentBytes;
}

DirectListener::~DirectListener() {
  for (auto& [id, c] : conns_) {
    if (c.watched) reactor_->RemoveFd(c.conn->fd());  // before FrameConn closes it
  }
  conns_.clear();
  if (listen_fd_ >= 0) {
    reactor_->RemoveFd(listen_fd_);
    close(listen_fd_);
  }
  if (listen_pause_timer_) reactor_->CancelTimer(listen_pause_timer_);
}

Status DirectListener::Listen(const std::string& endpoint) {
  auto fd = net::ListenTcp(endpoint, &endpoint_);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  std::string host;
  int port = 0;
  (void)net::ParseTcpEndpoint(endpoint_, &host, &port);
  port_ = static_cast<uint32_t>(port);
  return reactor_->AddFd(listen_fd_, EPOLLIN, [this](uint32_t) { OnAccept(); });
}

void DirectListener::OnAccept() {
  if (!reading_) return;
  for (int i = 0; i < net::Reactor::kBatch; ++i) {
    const int fd = net::AcceptTcp(listen_fd_);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        RINGKV_LOG(kWarn) << "direct transport: accept: " << std::strerror(errno)
                          << "; new connections wait " << kAcceptPauseMs << " ms";
        (void)reactor_->SetFdEvents(listen_fd_, 0);
        listen_pause_timer_ = reactor_->AddTimer(kAcceptPauseMs, [this] {
          listen_pause_timer_ = 0;
          if (reading_) (void)reactor_->SetFdEvents(listen_fd_, EPOLLIN);
        });
      }
      break;
    }
    if (conns_.size() >= kMaxDirectConns) {
      RINGKV_LOG(kWarn) << "direct transport: " << kMaxDirectConns
                        << " connections open already; a new one was closed";
      close(fd);
      continue;
    }
    const uint64_t id = next_conn_id_++;
    Conn& c = conns_[id];
    c.conn = std::make_unique<net::FrameConn>(fd, false, limits_);
    Watch(id, c, EPOLLIN);
  }
  counters_->direct_connections = conns_.size();
}

void DirectListener::Watch(uint64_t id, Conn& c, uint32_t events) {
  if (events == c.watched) return;
  const int fd = c.conn->fd();
  Status s;
  if (events == 0) {
    reactor_->RemoveFd(fd);
  } else if (c.watched == 0) {
    s = reactor_->AddFd(fd, events, [this, id](uint32_t ev) { OnConnEvents(id, ev); });
  } else {
    s = reactor_->SetFdEvents(fd, events);
  }
  if (!s.ok()) {
    RINGKV_LOG(kWarn) << "direct connection " << id << ": " << s.ToString() << ": closed";
    doomed_.push_back(id);
    return;
  }
  c.watched = events;
}

void DirectListener::OnConnEvents(uint64_t id, uint32_t events) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (!reading_) {
    // Draining: only writable is watched; an error or hang-up means the replies cannot go.
    if (events & (EPOLLERR | EPOLLHUP)) doomed_.push_back(id);
    return;
  }
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;  // writable: EndPass writes
  Status rs = it->second.conn->Read([&](std::string_view body) { on_request_(id, body); });
  if (!rs.ok()) {
    if (rs.code() != Status::Code::kUnavailable) {
      RINGKV_LOG(kWarn) << "direct connection " << id << ": " << rs.ToString() << ": closed";
    }
    doomed_.push_back(id);
  }
}

void DirectListener::Reply(uint64_t id, std::string_view body) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;  // closed meanwhile
  if (!it->second.conn->Queue(body)) {
    RINGKV_LOG(kWarn) << "direct connection " << id << " reads none of its "
                      << it->second.conn->unsent_bytes() << " bytes of replies: closed";
    doomed_.push_back(id);
  }
}

void DirectListener::WriteAll() {
  for (auto& [id, c] : conns_) {
    if (!c.conn->WantsWrite()) continue;
    Status fs = c.conn->Flush();
    if (!fs.ok()) {
      RINGKV_LOG(kWarn) << "direct connection " << id << ": " << fs.ToString() << ": closed";
      doomed_.push_back(id);
    }
  }
}

void DirectListener::EndPass() {
  WriteAll();
  for (uint64_t id : doomed_) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;  // doomed twice
    if (it->second.watched) reactor_->RemoveFd(it->second.conn->fd());
    conns_.erase(it);
  }
  doomed_.clear();
  for (auto& [id, c] : conns_) {
    Watch(id, c, (reading_ ? EPOLLIN : 0u) | (c.conn->WantsWrite() ? EPOLLOUT : 0u));
  }
  counters_->direct_connections = conns_.size();
}

void DirectListener::StopReading() {
  reading_ = false;
  if (listen_fd_ >= 0) (void)reactor_->SetFdEvents(listen_fd_, 0);
  for (auto& [id, c] : conns_) Watch(id, c, c.conn->WantsWrite() ? EPOLLOUT : 0u);
}

}  // namespace ringkv::storage
