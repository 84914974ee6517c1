// Poller (see poller.h).
#include "common/net/poller.h"

#include <unistd.h>

#include <cerrno>

namespace ringkv::net {

namespace {
constexpr int kMaxEvents = 256;
}  // namespace

Poller::Poller() : epfd_(epoll_create1(EPOLL_CLOEXEC)), buf_(kMaxEvents) {}

Poller::~Poller() {
  if (epfd_ >= 0) close(epfd_);
}

Status Poller::Watch(int fd, uint32_t events, uint64_t tag) {
  auto it = regs_.find(fd);
  if (it != regs_.end() && it->second.events == events && it->second.tag == tag) {
    return Status::OK();
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  const int op = it == regs_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epfd_, op, fd, &ev) != 0) return Status::FromErrno("epoll_ctl", errno);
  regs_[fd] = Reg{events, tag};
  return Status::OK();
}

void Poller::Forget(int fd) {
  auto it = regs_.find(fd);
  if (it == regs_.end()) return;
  epoll_event ev{};
  (void)epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);  // fails only if already closed: then gone
  regs_.erase(it);
}

Status Poller::Wait(int timeout_ms, std::vector<Event>* out) {
  out->clear();
  const int n = epoll_wait(epfd_, buf_.data(), kMaxEvents, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return Status::OK();
    return Status::FromErrno("epoll_wait", errno);
  }
  for (int i = 0; i < n; ++i) out->push_back(Event{buf_[i].data.u64, buf_[i].events});
  return Status::OK();
}

}  // namespace ringkv::net
