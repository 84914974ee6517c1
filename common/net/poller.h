// Poller: a level-triggered epoll set for one thread's event loop, with the interest of every
// fd remembered so that asking again for what is already registered costs no system call.
//
// Why epoll and not zmq_poll: zmq_poll rebuilds its pollfd array and, for every ZeroMQ socket,
// runs a getpid() and a poll() of the socket's mailbox on each call (libzmq 4.3). On the VM
// this project is measured on a system call costs about 1 us, and the coordinator's loop made
// about 7 of them per client request that way. Here a pass is one epoll_wait; ZeroMQ sockets
// join through their ZMQ_FD (readable when the socket has commands to process: the owner then
// drains the socket until EAGAIN, and again after every send on it).
//
// Owners must Forget() an fd before closing it: the kernel drops a closed fd from the epoll set
// on its own, and a new fd with the same number would then look registered here.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace ringkv::net {

class Poller {
 public:
  struct Event {
    uint64_t tag;     // what the owner registered the fd with
    uint32_t events;  // EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ...
  };

  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // False when epoll_create1 failed (then every call fails).
  bool ok() const { return epfd_ >= 0; }
  // Registers fd for `events` (EPOLLIN and/or EPOLLOUT) under `tag`, or changes what it was
  // registered for. No system call when fd is already registered with both unchanged.
  Status Watch(int fd, uint32_t events, uint64_t tag);
  // Drops fd from the set (nothing when it is not registered).
  void Forget(int fd);
  bool Watched(int fd) const { return regs_.count(fd) != 0; }
  // Waits up to timeout_ms (0: only what is ready; -1: forever) and fills *out with the ready
  // fds' tags and events (cleared first; at most 256 per call). EINTR gives an empty result.
  Status Wait(int timeout_ms, std::vector<Event>* out);

 private:
  struct Reg {
    uint32_t events;
    uint64_t tag;
  };
  int epfd_ = -1;
  std::unordered_map<int, Reg> regs_;
  std::vector<epoll_event> buf_;
};

}  // namespace ringkv::net
