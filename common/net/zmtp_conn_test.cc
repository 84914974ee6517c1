// Tests of ZmtpConn against real peers: libzmq sockets (cppzmq) in this process over tcp and ipc,
// a raw socket speaking hand-made ZMTP bytes (for splits, encodings and protocol violations),
// and ZmtpConn itself on both ends. Our side is driven with poll(); every wait is bounded, so a
// broken peer makes a test fail, never hang.
#include "common/net/zmtp_conn.h"
#include "common/net/zmtp_test_util.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

// Heap allocations made by the test thread while `t_count_allocs` is set: the steady-state test
// proves that reading and queueing messages allocates nothing.
namespace {
thread_local bool t_count_allocs = false;
std::atomic<long> g_allocs{0};
void* CountedAlloc(size_t n) noexcept {
  if (t_count_allocs) g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

// Every non-aligned form is replaced, so that new and delete always pair (libzmq uses the
// nothrow form; under ASan a form left out would come from its allocator and mismatch ours).
void* operator new(size_t n) {
  if (void* p = CountedAlloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
// GCC flags free() on what it knows came from operator new, not knowing that this operator new
// is malloc underneath.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace ringkv::net {
namespace {

using Clock = std::chrono::steady_clock;
using Type = ZmtpConn::Type;
constexpr int kWaitMs = 5000;  // the bound on every wait for something that should happen

int MsLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

Clock::time_point In(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }

// `n` bytes from a small LCG seeded by `seed`: a shifted or dropped byte shows.
std::string Noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::string UniqueIpcPath() {
  static int counter = 0;
  return "/tmp/ringkv-zmtp-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

// ---------------------------------------------------------------------------------------------
// Driving our side

struct Msg {
  std::vector<std::string> frames;
  bool truncated = false;
};

// One ZmtpConn under test and what it received.
struct Side {
  std::unique_ptr<ZmtpConn> conn;
  std::vector<Msg> got;
  bool echo = false;  // answer each message: its envelope (all but the last frame) + "re:" + last

  void OnMessage(const ZmtpConn::Message& m) {
    Msg copy;
    for (auto f : m.frames) copy.frames.emplace_back(f);
    copy.truncated = m.truncated;
    got.push_back(std::move(copy));
    if (!echo) return;
    std::vector<std::string_view> reply(m.frames.begin(), m.frames.end() - 1);
    const std::string last = "re:" + std::string(m.frames.back());
    reply.push_back(last);
    EXPECT_TRUE(conn->Queue(reply));
  }
};

// Drives `sides` (connect completion, Flush, Read) until done() holds (OK), one of them fails
// (its error), or timeout_ms pass (Timeout). done() may look at libzmq sockets: the poll wakes at
// least every 5 ms to ask it.
Status Pump(const std::vector<Side*>& sides, const std::function<bool()>& done,
            int timeout_ms = kWaitMs) {
  const auto deadline = In(timeout_ms);
  std::vector<pollfd> pfds(sides.size());
  for (;;) {
    if (done()) return Status::OK();
    const int left = MsLeft(deadline);
    if (left == 0) return Status::Timeout("not done in time");
    for (size_t i = 0; i < sides.size(); ++i) {
      ZmtpConn& c = *sides[i]->conn;
      if (c.connecting()) {
        Status s = c.FinishConnect();
        if (!s.ok() && !s.IsIncomplete()) return s;
      }
      const bool writes = c.connecting() || c.WantsWrite();
      pfds[i] = {c.fd(), static_cast<short>((c.connecting() ? 0 : POLLIN) | (writes ? POLLOUT : 0)),
                 0};
    }
    if (poll(pfds.data(), pfds.size(), std::min(left, 5)) < 0 && errno != EINTR) {
      return Status::FromErrno("poll", errno);
    }
    for (size_t i = 0; i < sides.size(); ++i) {
      Side& side = *sides[i];
      ZmtpConn& c = *side.conn;
      if (c.connecting() || pfds[i].revents == 0) continue;
      if (pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
        RINGKV_RETURN_IF_ERROR(c.Read([&](const ZmtpConn::Message& m) { side.OnMessage(m); }));
      }
      if (c.WantsWrite()) RINGKV_RETURN_IF_ERROR(c.Flush());
    }
  }
}

// Drives `sides` for `ms`: OK unless one of them failed meanwhile.
Status PumpFor(const std::vector<Side*>& sides, int ms) {
  Status s = Pump(sides, [] { return false; }, ms);
  return s.code() == Status::Code::kTimeout ? Status::OK() : s;
}

// Drives `side` until it fails: the error (Timeout if it never does).
Status PumpToError(Side& side) { return Pump({&side}, [] { return false; }); }

// A listening socket for our ROUTER (or DEALER) to accept on.
struct Listener {
  int fd = -1;
  std::string bound;
  std::string ipc_path;
  ~Listener() {
    if (fd >= 0) close(fd);
    if (!ipc_path.empty()) unlink(ipc_path.c_str());
  }
};

void Listen(const std::string& endpoint, Listener* l) {
  auto fd = ListenStream(endpoint, &l->bound);
  ASSERT_TRUE(fd.ok()) << endpoint << ": " << fd.status().ToString();
  l->fd = *fd;
  if (endpoint.rfind("ipc://", 0) == 0) l->ipc_path = endpoint.substr(6);
}

// The next connection to `l` as our side of `type`.
void Accept(const Listener& l, Type type, Side* side, ZmtpConn::Limits limits = {}) {
  pollfd p{l.fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, kWaitMs), 1) << "nobody connected";
  const int fd = AcceptStream(l.fd);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  side->conn = std::make_unique<ZmtpConn>(fd, false, type, limits);
}

// Our side of `type` connecting to `endpoint`.
void Connect(const std::string& endpoint, Type type, Side* side) {
  auto fd = ConnectStream(endpoint);
  ASSERT_TRUE(fd.ok()) << endpoint << ": " << fd.status().ToString();
  side->conn = std::make_unique<ZmtpConn>(*fd, true, type);
}

// ---------------------------------------------------------------------------------------------
// libzmq peers

zmq::socket_t ZmqSocket(zmq::context_t& ctx, zmq::socket_type type) {
  zmq::socket_t s(ctx, type);
  s.set(zmq::sockopt::linger, 0);
  return s;
}

// One whole message from `s` if there is one now.
bool TryRecv(zmq::socket_t& s, std::vector<std::string>* frames) {
  std::vector<zmq::message_t> parts;
  if (!zmq::recv_multipart(s, std::back_inserter(parts), zmq::recv_flags::dontwait)) return false;
  frames->clear();
  for (auto& p : parts) frames->push_back(p.to_string());
  return true;
}

void ZmqSend(zmq::socket_t& s, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                             : zmq::send_flags::dontwait;
    ASSERT_TRUE(s.send(zmq::buffer(frames[i]), flags).has_value()) << "libzmq would block";
  }
}

using Frames = std::vector<std::string>;

class ZmtpInterop : public ::testing::Test {
 protected:
  // A libzmq socket of `type` with linger 0, to be set up by the test.
  zmq::socket_t Peer(zmq::socket_type type) { return ZmqSocket(ctx_, type); }
  // Connects `peer` to a new listener of ours on `endpoint` and accepts it as `ours`.
  static void ConnectToUs(zmq::socket_t& peer, Side* ours, Type type = Type::kRouter,
                          const std::string& endpoint = "tcp://127.0.0.1:0") {
    Listener l;
    ASSERT_NO_FATAL_FAILURE(Listen(endpoint, &l));
    peer.connect(l.bound);
    ASSERT_NO_FATAL_FAILURE(Accept(l, type, ours));
  }
  void ReqRoundTrips(const std::string& endpoint);

  zmq::context_t ctx_{1};
};

// REQ -> our ROUTER on `endpoint`: requests arrive as ["", body], replies ["", reply] reach it.
void ZmtpInterop::ReqRoundTrips(const std::string& endpoint) {
  zmq::socket_t req = Peer(zmq::socket_type::req);
  Side router;
  ASSERT_NO_FATAL_FAILURE(ConnectToUs(req, &router, Type::kRouter, endpoint));
  const std::vector<std::string> bodies = {"hello", "", Noise(255, 1), Noise(256, 2),
                                           Noise(70000, 3), Noise(3u << 20, 4), "last"};
  for (size_t i = 0; i < bodies.size(); ++i) {
    ASSERT_NO_FATAL_FAILURE(ZmqSend(req, {bodies[i]}));
    Status s = Pump({&router}, [&] { return router.got.size() == i + 1; });
    ASSERT_TRUE(s.ok()) << "request " << i << ": " << s.ToString();
    ASSERT_EQ(router.got[i].frames.size(), 2u);
    EXPECT_EQ(router.got[i].frames[0], "");
    EXPECT_TRUE(router.got[i].frames[1] == bodies[i]) << "request " << i << " differs";
    EXPECT_FALSE(router.got[i].truncated);
    const std::string reply = "re:" + bodies[i];
    ASSERT_TRUE(router.conn->Queue({"", reply}));
    Frames back;
    s = Pump({&router}, [&] { return TryRecv(req, &back); });
    ASSERT_TRUE(s.ok()) << "reply " << i << ": " << s.ToString();
    ASSERT_EQ(back.size(), 1u);
    EXPECT_TRUE(back[0] == reply) << "reply " << i << " differs";
  }
  EXPECT_TRUE(router.conn->ready());
  EXPECT_EQ(router.conn->peer_socket_type(), "REQ");
}

TEST_F(ZmtpInterop, ReqToOurRouterOverTcp) { ReqRoundTrips("tcp://127.0.0.1:0"); }

TEST_F(ZmtpInterop, ReqToOurRouterOverIpc) { ReqRoundTrips("ipc://" + UniqueIpcPath()); }

TEST_F(ZmtpInterop, DealerWithHundredRequestsInFlight) {
  zmq::socket_t dealer = Peer(zmq::socket_type::dealer);
  Side router;
  router.echo = true;
  ASSERT_NO_FATAL_FAILURE(ConnectToUs(dealer, &router, Type::kRouter, "tcp://127.0.0.1:*"));
  for (int i = 0; i < 100; ++i) {
    ASSERT_NO_FATAL_FAILURE(ZmqSend(dealer, {"", "req-" + std::to_string(i)}));
  }
  std::vector<Frames> replies;
  Status s = Pump({&router}, [&] {
    Frames f;
    while (TryRecv(dealer, &f)) replies.push_back(f);
    return replies.size() >= 100;
  });
  ASSERT_TRUE(s.ok()) << s.ToString() << " after " << replies.size() << " replies";
  ASSERT_EQ(replies.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(replies[i], (Frames{"", "re:req-" + std::to_string(i)}));
  }
  EXPECT_EQ(router.conn->peer_socket_type(), "DEALER");
}

TEST_F(ZmtpInterop, ReqWithRoutingId) {
  zmq::socket_t req = Peer(zmq::socket_type::req);
  req.set(zmq::sockopt::routing_id, "client-7");
  Side router;
  router.echo = true;
  ASSERT_NO_FATAL_FAILURE(ConnectToUs(req, &router));
  for (int i = 0; i < 3; ++i) {
    ASSERT_NO_FATAL_FAILURE(ZmqSend(req, {"q" + std::to_string(i)}));
    Frames back;
    Status s = Pump({&router}, [&] { return TryRecv(req, &back); });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(back, (Frames{"re:q" + std::to_string(i)}));
  }
  ASSERT_EQ(router.got.size(), 3u);
  EXPECT_EQ(router.got[0].frames, (Frames{"", "q0"}));
}

TEST_F(ZmtpInterop, ReqCorrelateRelaxedNeedsTheEchoedRequestId) {
  zmq::socket_t req = Peer(zmq::socket_type::req);
  req.set(zmq::sockopt::req_correlate, 1);
  req.set(zmq::sockopt::req_relaxed, 1);
  Side router;
  ASSERT_NO_FATAL_FAILURE(ConnectToUs(req, &router));

  ASSERT_NO_FATAL_FAILURE(ZmqSend(req, {"one"}));
  ASSERT_NO_FATAL_FAILURE(ZmqSend(req, {"two"}));  // relaxed: no reply to "one" needed first
  ASSERT_TRUE(Pump({&router}, [&] { return router.got.size() == 2; }).ok());
  const Msg one = router.got[0], two = router.got[1];
  ASSERT_EQ(one.frames.size(), 3u) << "request id, delimiter, body";
  EXPECT_EQ(one.frames[0].size(), 4u);
  EXPECT_EQ(one.frames[1], "");
  EXPECT_EQ(one.frames[2], "one");
  EXPECT_NE(one.frames[0], two.frames[0]);

  // A reply without the request id, and one to the superseded request, are dropped by the REQ;
  // the one with the current id is what it takes.
  ASSERT_TRUE(router.conn->Queue({"", "no id"}));
  ASSERT_TRUE(router.conn->Queue({one.frames[0], "", "stale"}));
  ASSERT_TRUE(router.conn->Queue({two.frames[0], "", "re:two"}));
  Frames back;
  ASSERT_TRUE(Pump({&router}, [&] { return TryRecv(req, &back); }).ok());
  EXPECT_EQ(back, (Frames{"re:two"})) << "the two queued before it were to be dropped";
}

// libzmq drops a connection whose peer leaves its PINGs unanswered for heartbeat_timeout; ours
// must stay up through 1.5 s of silence and then carry requests again.
TEST_F(ZmtpInterop, AnswersHeartbeats) {
  zmq::socket_t dealer = Peer(zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::heartbeat_ivl, 100);
  dealer.set(zmq::sockopt::heartbeat_timeout, 300);
  Side router;
  router.echo = true;
  ASSERT_NO_FATAL_FAILURE(ConnectToUs(dealer, &router));
  Frames back;
  ASSERT_NO_FATAL_FAILURE(ZmqSend(dealer, {"", "before"}));
  ASSERT_TRUE(Pump({&router}, [&] { return TryRecv(dealer, &back); }).ok());
  EXPECT_EQ(back, (Frames{"", "re:before"}));

  Status idle = PumpFor({&router}, 1500);
  ASSERT_TRUE(idle.ok()) << "the peer dropped the connection: " << idle.ToString();
  ASSERT_NO_FATAL_FAILURE(ZmqSend(dealer, {"", "after"}));
  Status s = Pump({&router}, [&] { return TryRecv(dealer, &back); });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(back, (Frames{"", "re:after"}));
  EXPECT_EQ(router.got.size(), 2u) << "both requests on the one connection";
}

TEST_F(ZmtpInterop, OurDealerToLibzmqRouter) {
  zmq::socket_t router = Peer(zmq::socket_type::router);
  router.bind("tcp://127.0.0.1:*");
  Side dealer;
  ASSERT_NO_FATAL_FAILURE(Connect(router.get(zmq::sockopt::last_endpoint), Type::kDealer, &dealer));
  // Queued while the connect and the handshake are still to come.
  ASSERT_TRUE(dealer.conn->Queue({"", "hi"}));
  ASSERT_TRUE(dealer.conn->Queue({"", Noise(300, 5)}));
  std::vector<Frames> at_router;
  Status s = Pump({&dealer}, [&] {
    Frames f;
    while (TryRecv(router, &f)) at_router.push_back(f);
    return at_router.size() == 2;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(at_router[0].size(), 3u) << "[identity][\"\"][body]";
  EXPECT_FALSE(at_router[0][0].empty());
  EXPECT_EQ(at_router[0][1], "");
  EXPECT_EQ(at_router[0][2], "hi");
  EXPECT_TRUE(at_router[1][2] == Noise(300, 5));

  const std::string id = at_router[0][0];
  ASSERT_NO_FATAL_FAILURE(ZmqSend(router, {id, "", "back"}));
  ASSERT_TRUE(Pump({&dealer}, [&] { return dealer.got.size() == 1; }).ok());
  EXPECT_EQ(dealer.got[0].frames, (Frames{"", "back"}));
  EXPECT_EQ(dealer.conn->peer_socket_type(), "ROUTER");
}

// Our DEALER and our ROUTER, 50 messages queued before the connection exists.
void OursToOurs(const std::string& endpoint) {
  Listener l;
  ASSERT_NO_FATAL_FAILURE(Listen(endpoint, &l));
  Side dealer, router;
  router.echo = true;
  ASSERT_NO_FATAL_FAILURE(Connect(l.bound, Type::kDealer, &dealer));
  std::vector<std::string> bodies;
  for (uint32_t i = 0; i < 50; ++i) bodies.push_back(Noise((i * 7919) % 5000 + (i == 7 ? 1u << 20 : 0), i));
  for (const auto& b : bodies) ASSERT_TRUE(dealer.conn->Queue({"", b}));
  ASSERT_NO_FATAL_FAILURE(Accept(l, Type::kRouter, &router));
  Status s = Pump({&dealer, &router}, [&] { return dealer.got.size() == bodies.size(); });
  ASSERT_TRUE(s.ok()) << s.ToString() << " after " << dealer.got.size();
  for (size_t i = 0; i < bodies.size(); ++i) {
    ASSERT_EQ(dealer.got[i].frames.size(), 2u);
    EXPECT_TRUE(dealer.got[i].frames[1] == "re:" + bodies[i]) << "reply " << i;
  }
  EXPECT_EQ(router.conn->peer_socket_type(), "DEALER");
  EXPECT_EQ(dealer.conn->peer_socket_type(), "ROUTER");
}

TEST(ZmtpOurs, DealerToRouterOverTcp) { OursToOurs("tcp://127.0.0.1:0"); }
TEST(ZmtpOurs, DealerToRouterOverIpc) { OursToOurs("ipc://" + UniqueIpcPath()); }
TEST(ZmtpOurs, DealerToRouterOverAbstractIpc) { OursToOurs("ipc://@" + UniqueIpcPath()); }

TEST(ZmtpOurs, DealerToRouterOverIpv6) {
  std::string bound;
  auto probe = ListenStream("tcp://[::1]:0", &bound);
  if (!probe.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << probe.status().ToString();
  close(*probe);
  OursToOurs("tcp://[::1]:0");
}

// ---------------------------------------------------------------------------------------------
// Raw peers: ZMTP written and read byte by byte by the test

using zmtp_wire::Command;
using zmtp_wire::Frame;
using zmtp_wire::Greeting;
using zmtp_wire::kCommand;
using zmtp_wire::kLong;
using zmtp_wire::kMore;
using zmtp_wire::Message;
using zmtp_wire::Prop;
using zmtp_wire::Ready;

struct WireFrame {
  uint8_t flags = 0;
  std::string body;
};

// Our conn on one end of a socketpair; the test's raw bytes on the other.
class RawPeer {
 public:
  explicit RawPeer(Type type, ZmtpConn::Limits limits = {}) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    side.conn = std::make_unique<ZmtpConn>(sv[0], false, type, limits);
    fd_ = sv[1];
  }
  ~RawPeer() {
    if (fd_ >= 0) close(fd_);
  }
  void Close() {
    close(fd_);
    fd_ = -1;
  }

  // Sends `bytes` (small enough for the socket buffer, or our side is read meanwhile).
  void Send(std::string_view bytes) {
    const auto deadline = In(kWaitMs);
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      ASSERT_TRUE(n < 0 && (errno == EAGAIN || errno == EINTR)) << std::strerror(errno);
      ASSERT_GT(MsLeft(deadline), 0) << "our side never read";
      pollfd p{side.conn->fd(), POLLIN, 0};
      ASSERT_EQ(poll(&p, 1, 10) >= 0, true);
      ASSERT_TRUE(ReadOnce().ok());
    }
  }

  // One Read of our side, with whatever has arrived (a socketpair delivers at once).
  Status ReadOnce() {
    return side.conn->Read([&](const ZmtpConn::Message& m) { side.OnMessage(m); });
  }

  // Sends `bytes` and has our side read them.
  Status Feed(std::string_view bytes) {
    Send(bytes);
    return ReadOnce();
  }

  // The first `n` bytes our side sent that the test has not taken yet.
  std::string Take(size_t n) {
    EXPECT_TRUE(Fill(n)) << "our side sent less than " << n;
    std::string out = in_.substr(0, std::min(n, in_.size()));
    in_.erase(0, out.size());
    return out;
  }

  // The next frame our side sent; false if none came within kWaitMs.
  bool Next(WireFrame* f) {
    if (!Fill(2)) return false;
    const bool is_long = static_cast<uint8_t>(in_[0]) & kLong;
    const size_t header = is_long ? 9 : 2;
    if (!Fill(header)) return false;
    uint64_t size = 0;
    if (is_long) {
      for (size_t i = 1; i < 9; ++i) size = (size << 8) | static_cast<uint8_t>(in_[i]);
    } else {
      size = static_cast<uint8_t>(in_[1]);
    }
    if (!Fill(header + size)) return false;
    f->flags = static_cast<uint8_t>(in_[0]);
    f->body = in_.substr(header, size);
    in_.erase(0, header + size);
    return true;
  }

  // Everything our side sends until it closes or `ms` of silence.
  std::string Rest(int ms = 200) {
    char buf[4096];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, ms) <= 0) break;
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      in_.append(buf, static_cast<size_t>(n));
    }
    std::string out;
    out.swap(in_);
    return out;
  }

  // Greeting and READY both ways; our side's are checked and taken off.
  void Handshake(std::string_view peer_type = "DEALER") {
    ASSERT_TRUE(Feed(Greeting(3, 1, "NULL") + Ready(peer_type)).ok());
    ASSERT_TRUE(side.conn->ready());
    ASSERT_EQ(Take(64).size(), 64u);
    WireFrame ready;
    ASSERT_TRUE(Next(&ready));
    ASSERT_EQ(ready.flags, kCommand);
  }

  int fd() const { return fd_; }
  Side side;

 private:
  // Until `n` bytes of our output are buffered here; false if they do not come.
  bool Fill(size_t n) {
    const auto deadline = In(kWaitMs);
    char buf[64 << 10];
    while (in_.size() < n) {
      if (side.conn->WantsWrite() && !side.conn->Flush().ok()) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, std::min(MsLeft(deadline), 10)) < 0) return false;
      const ssize_t got = recv(fd_, buf, sizeof(buf), 0);
      if (got > 0) in_.append(buf, static_cast<size_t>(got));
      if (got == 0 || MsLeft(deadline) == 0) return false;
    }
    return true;
  }

  int fd_ = -1;
  std::string in_;
};

// What ZmtpConn sends first: the greeting, exactly as RFC 23 lays it out, and READY.
TEST(ZmtpWire, OurGreetingAndReady) {
  for (Type type : {Type::kRouter, Type::kDealer}) {
    RawPeer peer(type);
    const std::string g = peer.Take(64);
    ASSERT_EQ(g.size(), 64u);
    EXPECT_EQ(static_cast<uint8_t>(g[0]), 0xFF);
    EXPECT_EQ(g[9], 0x7F);
    EXPECT_EQ(g[10], 3) << "major";
    EXPECT_EQ(g[11], 1) << "minor";
    EXPECT_EQ(g.substr(12, 20), std::string("NULL") + std::string(16, '\0'));
    EXPECT_EQ(g[32], 0) << "as-server";
    EXPECT_EQ(g.substr(33), std::string(31, '\0'));
    EXPECT_EQ(peer.Rest(50), "") << "READY waits for the peer's greeting";
    ASSERT_TRUE(peer.Feed(Greeting(3, 1, "NULL")).ok());
    WireFrame ready;
    ASSERT_TRUE(peer.Next(&ready));
    EXPECT_EQ(ready.flags, kCommand);
    const std::string want_type = type == Type::kRouter ? "ROUTER" : "DEALER";
    EXPECT_EQ(ready.body, std::string("\x05READY") + Prop("Socket-Type", want_type) +
                              Prop("Identity", ""));
    EXPECT_FALSE(peer.side.conn->ready()) << "the peer's READY has not come";
  }
}

// Frames up to 255 bytes carry a 1-byte size, longer ones an 8-byte size; MORE on all but the
// last. Messages queued before the handshake leave after our greeting and READY, and only once
// the peer's READY came.
TEST(ZmtpWire, QueueEncodesShortAndLongFrames) {
  RawPeer peer(Type::kDealer);
  const std::string b255 = Noise(255, 1), b256 = Noise(256, 2);
  ASSERT_TRUE(peer.side.conn->Queue({"", b255, b256, ""}));
  ASSERT_TRUE(peer.side.conn->Queue({"solo"}));
  ASSERT_EQ(peer.Take(64).size(), 64u);
  ASSERT_TRUE(peer.Feed(Greeting(3, 1, "NULL")).ok());
  WireFrame ready;
  ASSERT_TRUE(peer.Next(&ready));
  EXPECT_EQ(ready.flags, kCommand);
  EXPECT_EQ(peer.Rest(50), "") << "no message before the peer's READY";
  ASSERT_TRUE(peer.Feed(Ready("ROUTER")).ok());
  std::string want = Frame(kMore, "") + Frame(kMore, b255) + Frame(kMore, b256) + Frame(0, "") +
                     Frame(0, "solo");
  ASSERT_EQ(want.substr(0, 4), std::string("\x01\x00\x01\xFF", 4));
  ASSERT_EQ(static_cast<uint8_t>(want[2 + 2 + 255]), kMore | kLong);
  const std::string got = peer.Take(want.size());
  EXPECT_TRUE(got == want) << "encoding differs";
  EXPECT_EQ(peer.Rest(50), "") << "nothing more";
}

// Greeting, READY, commands and messages arriving one byte per read, then a 3 MiB long frame in
// odd pieces: messages come out exactly when their last byte is in, PING gets its PONG.
TEST(ZmtpWire, HandshakeAndMessagesAcrossArbitrarySplits) {
  RawPeer peer(Type::kRouter);
  std::string stream = Greeting(3, 0, "NULL", 'x');  // a 3.0 peer with junk padding
  stream += Command("READY", Prop("socket-type", "DEALER") + Prop("Identity", "peer-1") +
                                 Prop("X-Anything", Noise(300, 9)));
  const size_t ready_end = stream.size();
  stream += Command("PING", std::string("\x00\x0A", 2) + "ctx-1");
  const std::vector<Frames> messages = {
      {"", "a"}, {Noise(255, 2)}, {"", Noise(256, 3)}, {"x", "y", "z"}, {""}};
  std::vector<size_t> message_end;
  for (size_t i = 0; i < messages.size(); ++i) {
    stream += Message(messages[i]);
    message_end.push_back(stream.size());
    if (i == 1) stream += Command("PONG", "ignored") + Command("WHATEVER", "");
  }
  for (size_t sent = 0; sent < stream.size(); ++sent) {
    ASSERT_TRUE(peer.Feed(stream.substr(sent, 1)).ok()) << "at byte " << sent;
    size_t complete = 0;
    while (complete < message_end.size() && message_end[complete] <= sent + 1) ++complete;
    ASSERT_EQ(peer.side.got.size(), complete) << "after byte " << sent;
    ASSERT_EQ(peer.side.conn->ready(), sent + 1 >= ready_end) << "after byte " << sent;
  }
  EXPECT_EQ(peer.side.conn->peer_socket_type(), "DEALER");
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(peer.side.got[i].frames, messages[i]) << "message " << i;
  }

  // A 3 MiB frame with its 8-byte size: header a byte at a time, the body in uneven pieces.
  const std::string big = Noise(3u << 20, 7);
  const std::string big_msg = Frame(kMore, "") + Frame(0, big);
  const std::vector<size_t> pieces = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 7, 65536, 3, 100001};
  size_t sent = 0;
  for (size_t i = 0; sent < big_msg.size(); ++i) {
    const size_t n = std::min(pieces[i % pieces.size()], big_msg.size() - sent);
    ASSERT_TRUE(peer.Feed(std::string_view(big_msg).substr(sent, n)).ok());
    sent += n;
    ASSERT_EQ(peer.side.got.size(), messages.size() + (sent == big_msg.size() ? 1 : 0));
  }
  ASSERT_EQ(peer.side.got.back().frames.size(), 2u);
  EXPECT_TRUE(peer.side.got.back().frames[1] == big);
  // A short frame forced into the long form is still read.
  ASSERT_TRUE(peer.Feed(Frame(0, "abc", /*force_long=*/true)).ok());
  EXPECT_EQ(peer.side.got.back().frames, Frames{"abc"});

  ASSERT_EQ(peer.Take(64).size(), 64u);
  WireFrame ready, pong;
  ASSERT_TRUE(peer.Next(&ready));
  ASSERT_TRUE(peer.Next(&pong));
  EXPECT_EQ(pong.flags, kCommand);
  EXPECT_EQ(pong.body, "\x04PONGctx-1");
}

TEST(ZmtpWire, AcceptsLaterVersions) {
  RawPeer peer(Type::kDealer);
  ASSERT_TRUE(peer.Feed(Greeting(4, 7, "NULL") + Ready("ROUTER") + Message({"", "hi"})).ok());
  EXPECT_TRUE(peer.side.conn->ready());
  ASSERT_EQ(peer.side.got.size(), 1u);
  EXPECT_EQ(peer.side.got[0].frames, (Frames{"", "hi"}));
}

TEST(ZmtpWire, PingContextIsEchoedUpTo16Bytes) {
  RawPeer peer(Type::kRouter);
  ASSERT_NO_FATAL_FAILURE(peer.Handshake());
  ASSERT_TRUE(peer.Feed(Command("PING", std::string(2, '\0'))).ok());
  ASSERT_TRUE(peer.Feed(Command("PING", std::string(2, '\0') + "0123456789abcdef")).ok());
  WireFrame a, b;
  ASSERT_TRUE(peer.Next(&a));
  ASSERT_TRUE(peer.Next(&b));
  EXPECT_EQ(a.body, "\x04PONG");
  EXPECT_EQ(b.body, "\x04PONG0123456789abcdef");
}

// ---------------------------------------------------------------------------------------------
// Refusals: each ends the connection with an error Status

Status RefusalOf(std::string_view bytes, Type type = Type::kRouter, std::string* sent = nullptr) {
  RawPeer peer(type);
  peer.Send(bytes);
  Status s = PumpToError(peer.side);
  if (sent != nullptr) *sent = peer.Rest();
  return s;
}

TEST(ZmtpRefuses, HttpRequest) {
  Status s = RefusalOf("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
}

TEST(ZmtpRefuses, Zmtp2Peer) {
  // libzmq 3.x: signature, revision 1, socket type, then its identity as a ZMTP 2.0 frame.
  std::string g = Greeting(3, 1, "NULL").substr(0, 10);
  g += std::string("\x01\x05\x00\x00", 4);
  Status s = RefusalOf(g);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("version 1"), std::string::npos) << s.ToString();
}

TEST(ZmtpRefuses, Zmtp1PeerWithLongIdentity) {
  // ZMTP 1.0: 0xFF, an 8-byte length, then a flags byte where 0x7F belongs.
  Status s = RefusalOf(std::string("\xFF\0\0\0\0\0\0\x01\x01\x00", 10));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
}

TEST(ZmtpRefuses, PlainMechanismWithAnErrorCommand) {
  std::string sent;
  Status s = RefusalOf(Greeting(3, 1, "PLAIN"), Type::kRouter, &sent);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("PLAIN"), std::string::npos) << s.ToString();
  // Our greeting, then ERROR with the reason (no READY: that is the NULL mechanism's).
  ASSERT_GT(sent.size(), 64u);
  const std::string error = sent.substr(64);
  ASSERT_GE(error.size(), 9u);
  EXPECT_EQ(error[0], kCommand);
  EXPECT_EQ(error.substr(2, 6), "\x05""ERROR");
  EXPECT_EQ(static_cast<size_t>(static_cast<uint8_t>(error[8])), error.size() - 9);
  EXPECT_NE(error.find("PLAIN"), std::string::npos);
}

TEST(ZmtpRefuses, IncompatibleSocketTypesWithAnErrorCommand) {
  for (auto [type, peer_type] : {std::pair{Type::kRouter, "PUB"}, std::pair{Type::kRouter, "REP"},
                                 std::pair{Type::kDealer, "REQ"}, std::pair{Type::kDealer, "PUSH"}}) {
    std::string sent;
    Status s = RefusalOf(Greeting(3, 1, "NULL") + Ready(peer_type), type, &sent);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << peer_type << ": " << s.ToString();
    EXPECT_NE(s.message().find(peer_type), std::string::npos) << s.ToString();
    EXPECT_NE(sent.find("ERROR"), std::string::npos) << peer_type;
  }
}

TEST(ZmtpRefuses, MalformedHandshakes) {
  const std::string g = Greeting(3, 1, "NULL");
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"PING before READY", g + Command("PING", std::string(2, '\0'))},
      {"message before READY", g + Message({"", "x"})},
      {"READY without Socket-Type", g + Command("READY", Prop("Identity", ""))},
      {"property longer than READY",
       g + Command("READY", Prop("Socket-Type", "REQ") + std::string("\x03" "abc\x00\x00\x01\x00", 8))},
      {"empty property name", g + Command("READY", std::string("\x00\x00\x00\x00\x00", 5))},
      {"command name past its frame", g + Frame(kCommand, "\x09READY")},
      {"ERROR from the peer", g + Command("ERROR", "\x07go away")},
  };
  for (const auto& [what, bytes] : cases) {
    Status s = RefusalOf(bytes);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << what << ": " << s.ToString();
  }
  Status s = RefusalOf(g + Command("ERROR", "\x07go away"));
  EXPECT_NE(s.message().find("go away"), std::string::npos) << s.ToString();
}

TEST(ZmtpRefuses, FrameOverTheLimitBeforeItsBody) {
  for (bool is_command : {false, true}) {
    ZmtpConn::Limits limits;
    limits.max_frame_bytes = 1024;
    RawPeer peer(Type::kRouter, limits);
    ASSERT_NO_FATAL_FAILURE(peer.Handshake());
    ASSERT_TRUE(peer.Feed(Message({"", Noise(1024, 1)})).ok()) << "at the limit is fine";
    // Only the header of a 1 TiB frame: the error must not wait for any of its body.
    std::string header(1, static_cast<char>((is_command ? kCommand : 0) | kLong));
    for (int i = 7; i >= 0; --i) header.push_back(static_cast<char>((uint64_t{1} << 40) >> (8 * i)));
    Status s = peer.Feed(header);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
    ASSERT_EQ(peer.side.got.size(), 1u);
  }
}

TEST(ZmtpRefuses, CommandInsideAMessage) {
  RawPeer peer(Type::kRouter);
  ASSERT_NO_FATAL_FAILURE(peer.Handshake());
  Status s = peer.Feed(Frame(kMore, "first") + Command("PING", std::string(2, '\0')) +
                       Frame(0, "last"));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(peer.side.got.empty());
}

// libzmq sockets of types a ROUTER or a DEALER may not talk to.
TEST_F(ZmtpInterop, RefusesLibzmqPubAndPush) {
  {
    zmq::socket_t pub = Peer(zmq::socket_type::pub);
    Side router;
    ASSERT_NO_FATAL_FAILURE(ConnectToUs(pub, &router));
    Status s = PumpToError(router);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
    EXPECT_EQ(router.conn->peer_socket_type(), "PUB");
  }
  {
    zmq::socket_t push = Peer(zmq::socket_type::push);
    push.bind("tcp://127.0.0.1:*");
    Side dealer;
    ASSERT_NO_FATAL_FAILURE(Connect(push.get(zmq::sockopt::last_endpoint), Type::kDealer, &dealer));
    Status s = PumpToError(dealer);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
    EXPECT_EQ(dealer.conn->peer_socket_type(), "PUSH");
  }
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(ZmtpLimits, TooManyFramesAreDroppedAndMarked) {
  ZmtpConn::Limits limits;
  limits.max_frames = 3;
  RawPeer peer(Type::kRouter, limits);
  ASSERT_NO_FATAL_FAILURE(peer.Handshake());
  const Frames long_one = {"", "a", "b", Noise(100000, 1), "c", Noise(70000, 2)};
  const Frames next = {"", "next"};
  const std::string stream = Message(long_one) + Message(next) + Message(long_one);
  const std::vector<size_t> pieces = {1, 7, 1000, 65536, 3, 40000};
  size_t sent = 0;
  for (size_t i = 0; sent < stream.size(); ++i) {
    const size_t n = std::min(pieces[i % pieces.size()], stream.size() - sent);
    ASSERT_TRUE(peer.Feed(std::string_view(stream).substr(sent, n)).ok());
    sent += n;
  }
  ASSERT_EQ(peer.side.got.size(), 3u);
  for (size_t i : {0, 2}) {
    EXPECT_EQ(peer.side.got[i].frames, (Frames{"", "a", "b"})) << i;
    EXPECT_TRUE(peer.side.got[i].truncated) << i;
  }
  EXPECT_EQ(peer.side.got[1].frames, next);
  EXPECT_FALSE(peer.side.got[1].truncated);
}

TEST_F(ZmtpInterop, LibzmqMessageOverMaxFrames) {
  zmq::socket_t dealer = Peer(zmq::socket_type::dealer);
  Side router;
  ASSERT_NO_FATAL_FAILURE(ConnectToUs(dealer, &router));  // default Limits: 32 frames kept
  Frames forty = {""};
  for (int i = 1; i < 40; ++i) forty.push_back("f" + std::to_string(i));
  ASSERT_NO_FATAL_FAILURE(ZmqSend(dealer, forty));
  ASSERT_NO_FATAL_FAILURE(ZmqSend(dealer, {"", "next"}));
  ASSERT_TRUE(Pump({&router}, [&] { return router.got.size() == 2; }).ok());
  EXPECT_EQ(router.got[0].frames, Frames(forty.begin(), forty.begin() + 32));
  EXPECT_TRUE(router.got[0].truncated);
  EXPECT_EQ(router.got[1].frames, (Frames{"", "next"}));
  EXPECT_FALSE(router.got[1].truncated);
}

TEST(ZmtpLimits, QueueRefusesWhatItCannotSend) {
  ZmtpConn::Limits limits;
  limits.max_frame_bytes = 1000;
  RawPeer peer(Type::kDealer, limits);
  const size_t before = peer.side.conn->unsent_bytes();
  EXPECT_FALSE(peer.side.conn->Queue({"", Noise(1001, 1)}));
  EXPECT_FALSE(peer.side.conn->Queue({}));
  EXPECT_EQ(peer.side.conn->unsent_bytes(), before) << "a refused message queues nothing";
  EXPECT_TRUE(peer.side.conn->Queue({"", Noise(1000, 1)}));
}

// A peer that never reads: Queue says no once max_out_bytes would be passed; Flush never blocks.
TEST(ZmtpLimits, BackpressureFromAPeerThatDoesNotRead) {
  ZmtpConn::Limits limits;
  limits.max_out_bytes = 1u << 20;
  RawPeer peer(Type::kDealer, limits);
  ASSERT_NO_FATAL_FAILURE(peer.Handshake("ROUTER"));
  const std::string body = Noise(64 << 10, 3);
  size_t accepted = 0;
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    const size_t unsent = peer.side.conn->unsent_bytes();
    if (!peer.side.conn->Queue({"", body})) {
      refused = true;
      EXPECT_GT(unsent + body.size() + 2 + 9, limits.max_out_bytes);
      EXPECT_EQ(peer.side.conn->unsent_bytes(), unsent);
      break;
    }
    ++accepted;
    const auto start = Clock::now();
    Status s = peer.side.conn->Flush();
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(200)) << "Flush blocked";
    ASSERT_LE(peer.side.conn->unsent_bytes(), limits.max_out_bytes);
  }
  EXPECT_TRUE(refused);
  EXPECT_GT(accepted * body.size(), limits.max_out_bytes) << "the kernel took some";
  EXPECT_TRUE(peer.side.conn->WantsWrite());
}

// Reading and answering messages reuses buffers: no heap allocation per message.
TEST(ZmtpLimits, SteadyStateAllocatesNothing) {
  RawPeer peer(Type::kRouter);
  ASSERT_NO_FATAL_FAILURE(peer.Handshake());
  const std::string batch = [] {
    std::string b;
    for (int i = 0; i < 100; ++i) b += Message({"id", "", Noise(100 + i, i)});
    return b;
  }();
  size_t seen = 0;
  ZmtpConn& conn = *peer.side.conn;
  const std::function<void(const ZmtpConn::Message&)> on_message =
      [&](const ZmtpConn::Message& m) {
        ++seen;
        const std::vector<std::string_view>& reply = m.frames;  // echo as is
        EXPECT_TRUE(conn.Queue(reply));
      };
  std::string sink;
  auto round = [&] {
    peer.Send(batch);
    ASSERT_TRUE(conn.Read(on_message).ok());
    ASSERT_TRUE(conn.Flush().ok());
    sink = peer.Rest(0);
  };
  for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(round());  // buffers reach their size
  g_allocs = 0;
  t_count_allocs = true;
  peer.Send(batch);
  Status s = conn.Read(on_message);
  Status f = conn.Flush();
  t_count_allocs = false;
  ASSERT_TRUE(s.ok() && f.ok());
  EXPECT_EQ(seen, 400u);
  EXPECT_EQ(g_allocs.load(), 0) << "allocations while reading 100 messages and queueing replies";
}

// ---------------------------------------------------------------------------------------------
// Ends

TEST(ZmtpEnds, PeerCloseIsUnavailableAfterEarlierMessages) {
  RawPeer peer(Type::kRouter);
  ASSERT_NO_FATAL_FAILURE(peer.Handshake());
  peer.Send(Message({"", "one"}) + Message({"", Noise(200000, 4)}));
  peer.Close();
  Status s = PumpToError(peer.side);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  ASSERT_EQ(peer.side.got.size(), 2u);
  EXPECT_EQ(peer.side.got[0].frames, (Frames{"", "one"}));
}

TEST_F(ZmtpInterop, LibzmqPeerCloseIsUnavailable) {
  zmq::socket_t req = Peer(zmq::socket_type::req);
  Side router;
  ASSERT_NO_FATAL_FAILURE(ConnectToUs(req, &router));
  ASSERT_NO_FATAL_FAILURE(ZmqSend(req, {"x"}));
  ASSERT_TRUE(Pump({&router}, [&] { return router.got.size() == 1; }).ok());
  req.close();
  Status s = PumpToError(router);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
}

TEST(ZmtpEnds, ConnectToAClosedPortFails) {
  std::string bound;
  auto fd = ListenStream("tcp://127.0.0.1:0", &bound);
  ASSERT_TRUE(fd.ok());
  close(*fd);  // nothing listens there any more
  Side dealer;
  ASSERT_NO_FATAL_FAILURE(Connect(bound, Type::kDealer, &dealer));
  Status s = Pump({&dealer}, [] { return false; });
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("connect"), std::string::npos) << s.ToString();
}

TEST(ZmtpEnds, ConnectToAMissingIpcPathFails) {
  auto fd = ConnectStream("ipc://" + UniqueIpcPath());
  EXPECT_FALSE(fd.ok());
}

// ---------------------------------------------------------------------------------------------
// Endpoints

TEST(StreamEndpoint, Recognized) {
  for (const char* good : {"tcp://127.0.0.1:5", "tcp://[::1]:5", "tcp://*:*", "tcp://0.0.0.0:0",
                           "tcp://host.example:80", "ipc:///tmp/x.sock", "ipc://@abstract"}) {
    EXPECT_TRUE(IsStreamEndpoint(good)) << good;
  }
  const std::vector<std::string> bad_ones = {"udp://x:1", "tcp://h",    "tcp://:5",
                                             "tcp://h:99999", "ipc://", "inproc://x",
                                             "",          "ipc://" + std::string(120, 'p')};
  for (const auto& bad : bad_ones) {
    EXPECT_FALSE(IsStreamEndpoint(bad)) << bad;
  }
}

TEST(StreamEndpoint, ListenReportsTheRealPortAndTakesConnections) {
  for (const char* endpoint : {"tcp://127.0.0.1:0", "tcp://*:*", "tcp://0.0.0.0:0",
                               "tcp://localhost:0"}) {
    Listener l;
    ASSERT_NO_FATAL_FAILURE(Listen(endpoint, &l));
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    ASSERT_EQ(getsockname(l.fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::string port = std::to_string(ntohs(addr.sin_port));
    EXPECT_NE(port, "0");
    EXPECT_EQ(l.bound.substr(l.bound.rfind(':') + 1), port) << endpoint;
    Side dealer, router;
    ASSERT_NO_FATAL_FAILURE(Connect("tcp://127.0.0.1:" + port, Type::kDealer, &dealer));
    ASSERT_NO_FATAL_FAILURE(Accept(l, Type::kRouter, &router));
    ASSERT_TRUE(Pump({&dealer, &router}, [&] { return dealer.conn->ready() && router.conn->ready(); })
                    .ok())
        << endpoint;
  }
}

TEST(StreamEndpoint, IpcReplacesAStaleSocketButNoOtherFile) {
  const std::string path = UniqueIpcPath();
  std::string bound;
  auto first = ListenStream("ipc://" + path, &bound);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(bound, "ipc://" + path);
  close(*first);  // the socket file stays behind, as after a crash
  auto second = ListenStream("ipc://" + path, &bound);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  close(*second);
  unlink(path.c_str());
  { std::ofstream(path) << "not a socket"; }
  auto third = ListenStream("ipc://" + path, &bound);
  EXPECT_FALSE(third.ok());
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << "a regular file must survive";
  unlink(path.c_str());
}

TEST(StreamEndpoint, ConnectNeedsAHost) {
  EXPECT_FALSE(ConnectStream("tcp://*:5555").ok());
  EXPECT_FALSE(ConnectStream("udp://127.0.0.1:5555").ok());
  EXPECT_FALSE(ConnectStream("tcp://no-such-host.invalid:5555").ok());
}

}  // namespace
}  // namespace ringkv::net
