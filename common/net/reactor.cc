// Reactor (see reactor.h).
#include "common/net/reactor.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/net/zmq_util.h"

namespace ringkv::net {

namespace {

// A Poller tag: the registration's id (ids of removed fds are never given to new ones, up to
// 2^32 registrations) above the fd.
uint64_t Tag(int fd, uint32_t id) {
  return (static_cast<uint64_t>(id) << 32) | static_cast<uint32_t>(fd);
}
int FdOf(uint64_t tag) { return static_cast<int>(tag & 0xffffffffu); }
uint32_t IdOf(uint64_t tag) { return static_cast<uint32_t>(tag >> 32); }

sigset_t StopSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  return mask;
}

}  // namespace

Reactor::Reactor() {
  if (!poller_.ok()) {
    status_ = Status::FromErrno("epoll_create1", errno);
    return;
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    status_ = Status::FromErrno("eventfd", errno);
    return;
  }
  status_ = Register(wake_fd_, EPOLLIN, Kind::kWake, nullptr, nullptr);
}

Reactor::~Reactor() {
  if (signal_fd_ >= 0) close(signal_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status Reactor::Register(int fd, uint32_t events, Kind kind, FdHandler handler, void* zmq) {
  if (fd < 0) return Status::InvalidArgument("reactor: bad fd " + std::to_string(fd));
  if (fds_.count(fd)) {
    return Status::InvalidArgument("reactor: fd " + std::to_string(fd) + " is registered already");
  }
  const uint32_t id = static_cast<uint32_t>(next_id_++);
  RINGKV_RETURN_IF_ERROR(poller_.Watch(fd, events, Tag(fd, id)));
  std::unique_ptr<FdHandler> h;
  if (kind == Kind::kFd) h = std::make_unique<FdHandler>(std::move(handler));
  fds_.emplace(fd, FdEntry{id, kind, std::move(h), zmq});
  return Status::OK();
}

Status Reactor::AddFd(int fd, uint32_t events, FdHandler handler) {
  RINGKV_RETURN_IF_ERROR(status_);
  return Register(fd, events, Kind::kFd, std::move(handler), nullptr);
}

Status Reactor::SetFdEvents(int fd, uint32_t events) {
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second.kind != Kind::kFd) {
    return Status::InvalidArgument("reactor: fd " + std::to_string(fd) + " is not registered");
  }
  return poller_.Watch(fd, events, Tag(fd, it->second.id));
}

void Reactor::RemoveFd(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second.kind != Kind::kFd) return;
  poller_.Forget(fd);
  dead_fd_handlers_.push_back(std::move(it->second.handler));
  fds_.erase(it);
}

Status Reactor::AddZmq(zmq::socket_t& socket, ZmqHandler handler) {
  RINGKV_RETURN_IF_ERROR(status_);
  void* h = socket.handle();
  if (zmqs_.count(h)) return Status::InvalidArgument("reactor: ZeroMQ socket registered already");
  int fd = -1;
  try {
    fd = socket.get(zmq::sockopt::fd);
  } catch (const zmq::error_t& e) {
    return Status::IOError(std::string("ZMQ_FD: ") + e.what());
  }
  RINGKV_RETURN_IF_ERROR(Register(fd, EPOLLIN, Kind::kZmq, nullptr, h));
  // Ready at once: messages may be queued already, with ZMQ_FD cleared by an earlier call.
  zmqs_.emplace(h, ZmqEntry{fd, std::make_unique<ZmqHandler>(std::move(handler)), true});
  ++zmq_ready_;
  return Status::OK();
}

void Reactor::RemoveZmq(zmq::socket_t& socket) {
  auto it = zmqs_.find(socket.handle());
  if (it == zmqs_.end()) return;
  poller_.Forget(it->second.fd);
  fds_.erase(it->second.fd);
  if (it->second.ready) --zmq_ready_;
  dead_zmq_handlers_.push_back(std::move(it->second.handler));
  zmqs_.erase(it);
}

void Reactor::Kick(zmq::socket_t& socket) {
  auto it = zmqs_.find(socket.handle());
  if (it == zmqs_.end() || it->second.ready) return;
  it->second.ready = true;
  ++zmq_ready_;
}

uint64_t Reactor::AddTimer(int64_t delay_ms, Callback fn, int64_t repeat_ms) {
  const uint64_t id = next_id_++;
  timers_.emplace(id, TimerEntry{std::max<int64_t>(repeat_ms, 0),
                                 std::make_unique<Callback>(std::move(fn))});
  timer_heap_.push(Timer{NowMs() + std::max<int64_t>(delay_ms, 0), id});
  return id;
}

bool Reactor::CancelTimer(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return false;
  // Its heap entry stays and is skipped when it comes up; the function may be running now.
  dead_callbacks_.push_back(std::move(it->second.fn));
  timers_.erase(it);
  return true;
}

Status Reactor::BlockStopSignals() {
  sigset_t mask = StopSignals();
  const int rc = pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  if (rc != 0) return Status::FromErrno("pthread_sigmask", rc);
  return Status::OK();
}

Status Reactor::WatchStopSignals(SignalHandler on_stop) {
  RINGKV_RETURN_IF_ERROR(status_);
  if (signal_fd_ >= 0) return Status::InvalidArgument("reactor: stop signals are watched already");
  sigset_t mask = StopSignals();
  const int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return Status::FromErrno("signalfd", errno);
  Status s = Register(fd, EPOLLIN, Kind::kSignal, nullptr, nullptr);
  if (!s.ok()) {
    close(fd);
    return s;
  }
  signal_fd_ = fd;
  on_signal_ = std::move(on_stop);
  return Status::OK();
}

void Reactor::AddPassHook(Callback hook) { hooks_.push_back(std::move(hook)); }

void Reactor::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  const uint64_t one = 1;
  // Fails only when the counter is saturated: then epoll_wait returns anyway.
  (void)!write(wake_fd_, &one, sizeof(one));
}

void Reactor::DrainWakeFd() {
  uint64_t n;
  (void)!read(wake_fd_, &n, sizeof(n));
}

void Reactor::OnSignalFd() {
  for (int i = 0; i < kBatch; ++i) {
    signalfd_siginfo info{};
    if (read(signal_fd_, &info, sizeof(info)) != static_cast<ssize_t>(sizeof(info))) return;
    if (on_signal_) on_signal_(static_cast<int>(info.ssi_signo));
  }
}

bool Reactor::RunReadyZmq() {
  if (zmq_ready_ == 0) return false;
  ready_scratch_.clear();
  for (auto& [h, e] : zmqs_) {
    if (!e.ready) continue;
    e.ready = false;
    ready_scratch_.push_back(h);
  }
  zmq_ready_ = 0;
  for (void* h : ready_scratch_) {
    auto it = zmqs_.find(h);
    if (it == zmqs_.end()) continue;  // removed by an earlier handler of this round
    const bool more = (*it->second.handler)(kBatch);  // may remove its own socket
    if (!more) continue;
    it = zmqs_.find(h);  // the handler may have removed its socket or added others
    if (it != zmqs_.end() && !it->second.ready) {
      it->second.ready = true;
      ++zmq_ready_;
    }
  }
  return !ready_scratch_.empty();
}

void Reactor::RunDueTimers(int64_t now) {
  // Timers added by these callbacks wait for the next pass, so a callback that adds a timer due
  // at once cannot keep this loop going.
  const uint64_t first_new = next_id_;
  timer_scratch_.clear();
  while (!timer_heap_.empty() && timer_heap_.top().due_ms <= now) {
    const Timer t = timer_heap_.top();
    timer_heap_.pop();
    if (t.id >= first_new) {
      timer_scratch_.push_back(t);
      continue;
    }
    auto it = timers_.find(t.id);
    if (it == timers_.end()) continue;  // cancelled
    if (it->second.repeat_ms > 0) {
      // A repeating timer that fell behind runs once, then keeps its period from now.
      int64_t next = t.due_ms + it->second.repeat_ms;
      if (next <= now) next = now + it->second.repeat_ms;
      timer_heap_.push(Timer{next, t.id});
      Callback& fn = *it->second.fn;  // may cancel itself: CancelTimer keeps it alive
      fn();
    } else {
      std::unique_ptr<Callback> fn = std::move(it->second.fn);
      timers_.erase(it);
      (*fn)();
    }
  }
  for (const Timer& t : timer_scratch_) timer_heap_.push(t);
}

Status Reactor::RunOnce(int max_wait_ms) {
  RINGKV_RETURN_IF_ERROR(status_);
  int64_t wait = max_wait_ms < 0 ? -1 : max_wait_ms;
  if (zmq_ready_ > 0 || stop_requested()) {
    wait = 0;
  } else {
    while (!timer_heap_.empty() && !timers_.count(timer_heap_.top().id)) timer_heap_.pop();
    if (!timer_heap_.empty()) {
      const int64_t until = std::max<int64_t>(0, timer_heap_.top().due_ms - NowMs());
      wait = wait < 0 ? until : std::min(wait, until);
    }
  }
  RINGKV_RETURN_IF_ERROR(poller_.Wait(static_cast<int>(std::min<int64_t>(wait, 1 << 30)), &events_));
  for (const Poller::Event& ev : events_) {
    auto it = fds_.find(FdOf(ev.tag));
    if (it == fds_.end() || it->second.id != IdOf(ev.tag)) continue;  // removed this pass
    switch (it->second.kind) {
      case Kind::kFd:
        (*it->second.handler)(ev.events);  // may remove itself: RemoveFd keeps it alive
        break;
      case Kind::kZmq: {
        auto z = zmqs_.find(it->second.zmq);
        if (z != zmqs_.end() && !z->second.ready) {
          z->second.ready = true;
          ++zmq_ready_;
        }
        break;
      }
      case Kind::kSignal:
        OnSignalFd();
        break;
      case Kind::kWake:
        DrainWakeFd();
        break;
    }
  }
  RunReadyZmq();
  RunDueTimers(NowMs());
  for (size_t i = 0; i < hooks_.size(); ++i) hooks_[i]();
  // Sends made by the handlers and hooks (rule 2): one more round now saves an epoll_wait and,
  // when it finds requests, gets them answered in this pass.
  if (RunReadyZmq()) {
    for (size_t i = 0; i < hooks_.size(); ++i) hooks_[i]();
  }
  dead_fd_handlers_.clear();
  dead_zmq_handlers_.clear();
  dead_callbacks_.clear();
  return Status::OK();
}

Status Reactor::Run() {
  while (!stop_requested()) RINGKV_RETURN_IF_ERROR(RunOnce(-1));
  stop_.store(false, std::memory_order_relaxed);
  return Status::OK();
}

}  // namespace ringkv::net
