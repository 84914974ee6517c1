// Reactor: the one event loop every ringkv agent runs on its serving thread. It owns a Poller
// (poller.h: level-triggered epoll) and dispatches to handlers registered for
//   - plain fds (TCP listeners and connections, pipes, eventfds): called with the ready events;
//   - ZeroMQ sockets, joined through their ZMQ_FD (see THE ZEROMQ RULE below);
//   - one-shot and repeating timers on the monotonic clock (net::NowMs(), cancellable);
//   - the stop signals SIGTERM and SIGINT, read from a signalfd;
//   - end-of-pass hooks, run once after every pass's handlers (group commit, flushing queued
//     writes: work that is cheaper done once for everything a pass received).
// Run() loops until Stop(), which any thread may call.
//
// Why: the coordinator, the storage agent's frontend and the gossip agent each had their own loop
// (an epoll loop, a zmq_poll loop rebuilt every pass, a zmq_poll loop with a signalfd) and each
// program its own way to learn of SIGTERM. One loop gives them one set of rules: one epoll_wait
// per pass and no system call per registered socket (zmq_poll costs a getpid() and a poll() per
// ZeroMQ socket per call in libzmq 4.3), a bounded batch per handler call so that one busy fd
// cannot starve the others, and one signal path.
//
// THE ZEROMQ RULE. A ZeroMQ socket's ZMQ_FD is not a readiness fd: it is readable when the socket
// has internal commands to process, and processing them (which any zmq_recv, zmq_send or
// ZMQ_EVENTS query may do) clears it while messages stay queued. So:
//   1. A ZmqHandler, once called, must receive with ZMQ_DONTWAIT until the receive fails with
//      EAGAIN (then it returns false) or until it has taken `budget` messages (then it returns
//      true and the reactor calls it again in the next pass, without waiting). A non-blocking
//      receive processes the socket's pending commands before it says EAGAIN (libzmq 4.3), so
//      EAGAIN is the same answer as ZMQ_EVENTS without POLLIN, at the same price (a getpid()
//      and a poll() of the mailbox when it is empty); a command that arrives later makes
//      ZMQ_FD readable again, so epoll wakes the reactor for it.
//   2. After every send on a registered socket, its owner calls Kick(socket): the send may have
//      processed commands (cleared ZMQ_FD) that made messages readable. The reactor then calls
//      the socket's handler again in the same pass (after the hooks) or the next one, so nothing
//      waits for an fd event that will not come. Kick itself costs no system call, and a socket
//      kicked many times in a pass is drained once more, not once per send.
// Breaking either rule leaves messages stuck in a socket until some unrelated event arrives.
//
// Threads: everything except Stop() must be called on the thread that runs the reactor. Handlers
// may add and remove fds, sockets and timers (their own included) while being dispatched; an fd
// or socket removed during a pass gets no further events from that pass.
//
// Signals: the stop signals reach the signalfd only if they are blocked in every thread; a program
// calls BlockStopSignals() first thing in main, before it creates any thread (threads inherit the
// mask), then WatchStopSignals() on its reactor.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "common/net/poller.h"
#include "common/status.h"

namespace ringkv::net {

class Reactor {
 public:
  // Called with the ready events (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP).
  using FdHandler = std::function<void(uint32_t events)>;
  // Takes at most `budget` messages (THE ZEROMQ RULE); true when it stopped at the budget.
  using ZmqHandler = std::function<bool(int budget)>;
  using Callback = std::function<void()>;
  // Called with the signal number (SIGTERM or SIGINT).
  using SignalHandler = std::function<void(int signo)>;

  // Messages a ZmqHandler may take per call; fd handlers are asked to keep to it too.
  static constexpr int kBatch = 64;

  Reactor();
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Not ok when the epoll set or the wake-up eventfd could not be created (every call fails).
  const Status& status() const { return status_; }

  // Registers `fd` for `events` (EPOLLIN and/or EPOLLOUT; 0 parks it: only errors and hang-ups
  // are reported). The caller keeps owning fd and must RemoveFd() it before closing it.
  Status AddFd(int fd, uint32_t events, FdHandler handler);
  // Changes what a registered fd is watched for. No system call when unchanged.
  Status SetFdEvents(int fd, uint32_t events);
  // Forgets fd (nothing when it is not registered).
  void RemoveFd(int fd);
  bool HasFd(int fd) const { return fds_.count(fd) != 0; }

  // Registers a ZeroMQ socket (it must outlive its registration). The handler is called once at
  // the next pass, in case messages are queued already.
  Status AddZmq(zmq::socket_t& socket, ZmqHandler handler);
  void RemoveZmq(zmq::socket_t& socket);
  // Rule 2: call after every send on a registered socket. Costs no system call.
  void Kick(zmq::socket_t& socket);

  // Runs `fn` once, `delay_ms` from now (repeat_ms > 0: then every repeat_ms). Returns an id
  // for CancelTimer; ids are never reused. Timers due at the same time run in the order added.
  uint64_t AddTimer(int64_t delay_ms, Callback fn, int64_t repeat_ms = 0);
  // False when no such timer is pending (it ran, as a one-shot, or was cancelled).
  bool CancelTimer(uint64_t id);

  // Reads SIGTERM and SIGINT from a signalfd and calls `on_stop` for each; they must be blocked
  // already (BlockStopSignals), or they keep their default action.
  Status WatchStopSignals(SignalHandler on_stop);
  // Blocks SIGTERM and SIGINT in the calling thread (and every thread it creates afterwards).
  static Status BlockStopSignals();

  // Runs `hook` at the end of every pass, after the handlers, in the order added.
  void AddPassHook(Callback hook);

  // One pass: waits at most max_wait_ms (-1: no bound) for an event or the next timer (no wait
  // when a ZeroMQ handler has more to do), then runs the ready handlers, the due timers and the
  // hooks. An error only when epoll fails.
  Status RunOnce(int max_wait_ms);
  // Runs passes until Stop(); clears the stop request on return so Run() can be called again.
  Status Run();
  // Makes Run() return after the current pass. Safe from any thread and from handlers.
  void Stop();
  bool stop_requested() const { return stop_.load(std::memory_order_relaxed); }

 private:
  enum class Kind : uint8_t { kFd, kZmq, kSignal, kWake };
  // Handlers are held by pointer: one removed while it runs moves to a dead_* list and its
  // closure stays where it is until the end of the pass.
  struct FdEntry {
    uint32_t id;  // with the fd, the Poller tag: an event of a removed entry is skipped
    Kind kind;
    std::unique_ptr<FdHandler> handler;  // kFd
    void* zmq = nullptr;  // kZmq: the socket handle
  };
  struct ZmqEntry {
    int fd;  // its ZMQ_FD
    std::unique_ptr<ZmqHandler> handler;
    bool ready = false;  // to be called (fd event, Kick, or a handler that hit its budget)
  };
  struct Timer {
    int64_t due_ms;
    uint64_t id;
    bool operator>(const Timer& o) const {
      return due_ms != o.due_ms ? due_ms > o.due_ms : id > o.id;
    }
  };
  struct TimerEntry {
    int64_t repeat_ms;
    std::unique_ptr<Callback> fn;
  };

  // Calls the handlers of ready ZeroMQ sockets once each; true when any ran.
  bool RunReadyZmq();
  void RunDueTimers(int64_t now);
  void OnSignalFd();
  void DrainWakeFd();
  Status Register(int fd, uint32_t events, Kind kind, FdHandler handler, void* zmq);

  Status status_;
  Poller poller_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;    // eventfd: Stop() from another thread interrupts epoll_wait
  int signal_fd_ = -1;
  SignalHandler on_signal_;
  uint64_t next_id_ = 1;
  std::unordered_map<int, FdEntry> fds_;          // by fd (plain, ZMQ_FD, signalfd, eventfd)
  std::unordered_map<void*, ZmqEntry> zmqs_;      // by socket handle
  size_t zmq_ready_ = 0;                          // entries with ready set (a hint, >= exact)
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timer_heap_;
  std::unordered_map<uint64_t, TimerEntry> timers_;  // pending; cancelled ones are erased
  std::vector<Callback> hooks_;
  std::vector<Poller::Event> events_;
  std::vector<void*> ready_scratch_;
  std::vector<Timer> timer_scratch_;
  // Handlers removed during a pass live until its end: one may be running (removing itself).
  std::vector<std::unique_ptr<FdHandler>> dead_fd_handlers_;
  std::vector<std::unique_ptr<ZmqHandler>> dead_zmq_handlers_;
  std::vector<std::unique_ptr<Callback>> dead_callbacks_;
};

}  // namespace ringkv::net
