// Tests of FrameConn and its TCP helpers over real loopback sockets: framing, limits, close.
#include "common/net/frame_conn.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::net {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWaitMs = 5000;  // the bound on every wait

// A raw fd closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Milliseconds left until `deadline` (at least 0).
int MsLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Polls one fd for `events`; the revents, or 0 on timeout.
short WaitFor(int fd, short events, int timeout_ms = kWaitMs) {
  pollfd p{fd, events, 0};
  int rc;
  do {
    rc = poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc > 0 ? p.revents : 0;
}

// `n` bytes that differ with `seed` and position, so a reordered or shifted byte shows.
std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + (i >> 9) + seed * 71) & 0xff);
  return s;
}

// One frame as it goes on the wire: a 4-byte big-endian length, then the body.
std::string Encode(std::string_view body) {
  const auto n = static_cast<uint32_t>(body.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(body);
  return out;
}

// Sends all of `data` on the non-blocking `fd`, waiting for room as needed.
void SendAll(int fd, std::string_view data) {
  size_t pos = 0;
  while (pos < data.size()) {
    const ssize_t n = send(fd, data.data() + pos, data.size() - pos, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ASSERT_NE(WaitFor(fd, POLLOUT) & POLLOUT, 0) << "socket never became writable";
      continue;
    }
    ASSERT_GT(n, 0) << "send: " << std::strerror(errno);
    pos += static_cast<size_t>(n);
  }
}

// A listening socket on 127.0.0.1 with a kernel-chosen port.
void Listen(Fd* listen_fd, int* port) {
  std::string bound;
  auto fd = ListenTcp("tcp://127.0.0.1:0", &bound);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  listen_fd->Reset(*fd);
  std::string host;
  ASSERT_TRUE(ParseTcpEndpoint(bound, &host, port).ok()) << bound;
  ASSERT_EQ(host, "127.0.0.1");
  ASSERT_NE(*port, 0);
}

// An established loopback connection as two raw non-blocking fds.
void ConnectedPair(Fd* client, Fd* server) {
  Fd listen_fd;
  int port = 0;
  ASSERT_NO_FATAL_FAILURE(Listen(&listen_fd, &port));
  auto c = ConnectTcp("127.0.0.1", port);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  client->Reset(*c);
  ASSERT_NE(WaitFor(listen_fd.get(), POLLIN) & POLLIN, 0) << "no connection to accept";
  server->Reset(AcceptTcp(listen_fd.get()));
  ASSERT_GE(server->get(), 0);
  ASSERT_NE(WaitFor(client->get(), POLLOUT) & POLLOUT, 0) << "connect never finished";
  int err = 0;
  socklen_t len = sizeof(err);
  ASSERT_EQ(getsockopt(client->get(), SOL_SOCKET, SO_ERROR, &err, &len), 0);
  ASSERT_EQ(err, 0) << std::strerror(err);
}

// Reads `conn` into *frames until `want` frames are there, Read fails, or kWaitMs pass.
// Returns the failing Read's status, Timeout, or OK.
Status ReadFrames(FrameConn& conn, std::vector<std::string>* frames, size_t want) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(kWaitMs);
  while (frames->size() < want) {
    const int left = MsLeft(deadline);
    if (left == 0 || WaitFor(conn.fd(), POLLIN, left) == 0) return Status::Timeout("no frame");
    Status s = conn.Read([&](std::string_view f) { frames->emplace_back(f); });
    if (!s.ok()) return s;
  }
  return Status::OK();
}

// Reads `conn` until Read fails (the returned status) or kWaitMs pass (Timeout).
Status ReadToError(FrameConn& conn, std::vector<std::string>* frames) {
  return ReadFrames(conn, frames, SIZE_MAX);
}

// Flushes `from` (already holding queued frames) while reading `to` until `count` frames
// arrived and nothing is left unsent.
void Transfer(FrameConn& from, FrameConn& to, size_t count, std::vector<std::string>* got) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(2 * kWaitMs);
  while (from.WantsWrite() || got->size() < count) {
    ASSERT_GT(MsLeft(deadline), 0) << "stuck: " << got->size() << " of " << count
                                   << " frames, " << from.unsent_bytes() << " bytes unsent";
    pollfd p[2] = {{from.fd(), static_cast<short>(from.WantsWrite() ? POLLOUT : 0), 0},
                   {to.fd(), POLLIN, 0}};
    const int rc = poll(p, 2, 200);
    ASSERT_TRUE(rc >= 0 || errno == EINTR) << std::strerror(errno);
    if (rc <= 0) continue;
    if (p[0].revents != 0) {
      Status s = from.Flush();
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    if (p[1].revents != 0) {
      Status s = to.Read([&](std::string_view f) { got->emplace_back(f); });
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_LE(got->size(), count) << "more frames than were sent";
  }
}

void ExpectSameFrames(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    // Not EXPECT_EQ: a failure would print megabytes.
    EXPECT_EQ(got[i].size(), want[i].size()) << "frame " << i;
    EXPECT_TRUE(got[i] == want[i]) << "frame " << i << " differs";
  }
}

TEST(ParseTcpEndpoint, AcceptsHostAndPort) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseTcpEndpoint("tcp://127.0.0.1:7100", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7100);
  ASSERT_TRUE(ParseTcpEndpoint("tcp://storage-1.local:65535", &host, &port).ok());
  EXPECT_EQ(host, "storage-1.local");
  EXPECT_EQ(port, 65535);
}

TEST(ParseTcpEndpoint, WildcardPortIsZero) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseTcpEndpoint("tcp://127.0.0.1:*", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 0);
  port = -1;
  ASSERT_TRUE(ParseTcpEndpoint("tcp://*:*", &host, &port).ok());
  EXPECT_EQ(host, "*");
  EXPECT_EQ(port, 0);
}

TEST(ParseTcpEndpoint, RejectsMalformed) {
  for (const char* bad : {"udp://x:1", "tcp://:5", "tcp://h:99999", "tcp://h:65536", "tcp://h:abc",
                          "tcp://h:12x", "tcp://h:", "tcp://h", "127.0.0.1:5", "", "tcp://h:+5",
                          "tcp://h: 5", "tcp://h:-0"}) {
    std::string host;
    int port = -1;
    Status s = ParseTcpEndpoint(bad, &host, &port);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << "'" << bad << "': " << s.ToString();
  }
}

TEST(ListenTcp, ReportsTheBoundPort) {
  Fd listen_fd;
  int port = 0;
  ASSERT_NO_FATAL_FAILURE(Listen(&listen_fd, &port));
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  EXPECT_EQ(ntohs(addr.sin_port), port);
  EXPECT_EQ(AcceptTcp(listen_fd.get()), -1) << "nobody connected yet";
}

TEST(ListenTcp, RejectsBadEndpoint) {
  std::string bound;
  auto fd = ListenTcp("udp://127.0.0.1:0", &bound);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), Status::Code::kInvalidArgument);
}

TEST(FrameConn, RoundTripBothWays) {
  Fd listen_fd;
  int port = 0;
  ASSERT_NO_FATAL_FAILURE(Listen(&listen_fd, &port));
  auto cfd = ConnectTcp("127.0.0.1", port);
  ASSERT_TRUE(cfd.ok()) << cfd.status().ToString();
  FrameConn client(*cfd, /*connecting=*/true);
  ASSERT_NE(WaitFor(listen_fd.get(), POLLIN) & POLLIN, 0);
  const int sfd = AcceptTcp(listen_fd.get());
  ASSERT_GE(sfd, 0);
  FrameConn server(sfd, /*connecting=*/false);

  const std::vector<std::string> requests = {
      "hello", "", Pattern(3u << 20, 1), Pattern(1, 2), "", Pattern(65536, 3), Pattern(70001, 4),
      "last"};
  // Output queued while connecting waits for the connection.
  ASSERT_TRUE(client.Queue(requests[0]));
  ASSERT_TRUE(client.Flush().ok());
  EXPECT_EQ(client.unsent_bytes(), 4 + requests[0].size());

  ASSERT_NE(WaitFor(client.fd(), POLLOUT) & POLLOUT, 0);
  Status s = client.FinishConnect();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(client.connecting());

  for (size_t i = 1; i < requests.size(); ++i) ASSERT_TRUE(client.Queue(requests[i]));
  std::vector<std::string> got;
  ASSERT_NO_FATAL_FAILURE(Transfer(client, server, requests.size(), &got));
  ExpectSameFrames(got, requests);
  EXPECT_EQ(client.unsent_bytes(), 0u);

  const std::vector<std::string> replies = {Pattern(3u << 20, 9), "", "ok", Pattern(100000, 8)};
  for (const auto& r : replies) ASSERT_TRUE(server.Queue(r));
  std::vector<std::string> got_replies;
  ASSERT_NO_FATAL_FAILURE(Transfer(server, client, replies.size(), &got_replies));
  ExpectSameFrames(got_replies, replies);
}

TEST(FrameConn, BacklogThroughSmallSocketBuffers) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  // Small kernel buffers: every Flush stops early, leaving a long backlog in the output buffer
  // that is sent (and compacted) piece by piece while more frames are appended behind it.
  const int small = 16 << 10;
  ASSERT_EQ(setsockopt(client.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  ASSERT_EQ(setsockopt(server.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  FrameConn from(client.Release(), false);
  FrameConn to(server.Release(), false);

  std::vector<std::string> frames = {Pattern(3u << 20, 1)};
  for (unsigned i = 0; i < 24; ++i) frames.push_back(Pattern(1000 + i * 17011, i + 2));
  frames.push_back("");
  size_t queued = 0;
  std::vector<std::string> got;
  const auto deadline = Clock::now() + std::chrono::milliseconds(4 * kWaitMs);
  while (queued < frames.size() || from.WantsWrite() || got.size() < frames.size()) {
    ASSERT_GT(MsLeft(deadline), 0) << got.size() << " of " << frames.size() << " frames";
    while (queued < frames.size() && from.unsent_bytes() < (3u << 19)) {
      ASSERT_TRUE(from.Queue(frames[queued++]));
    }
    pollfd p[2] = {{from.fd(), static_cast<short>(from.WantsWrite() ? POLLOUT : 0), 0},
                   {to.fd(), POLLIN, 0}};
    if (poll(p, 2, 200) <= 0) continue;
    if (p[0].revents != 0) {
      ASSERT_TRUE(from.Flush().ok());
    }
    if (p[1].revents != 0) {
      ASSERT_TRUE(to.Read([&](std::string_view f) { got.emplace_back(f); }, 32u << 10).ok());
    }
  }
  ExpectSameFrames(got, frames);
}

// Sends `stream` from the raw `peer` in pieces of the cycling `sizes`; after every piece, checks
// that `conn` has handed out exactly the frames whose last byte was sent, never a partial one.
void SendInPiecesAndCheck(int peer, FrameConn& conn, const std::vector<std::string>& frames,
                          const std::vector<size_t>& sizes) {
  std::string stream;
  std::vector<size_t> frame_end;  // stream offset just past each frame
  for (const auto& f : frames) {
    stream += Encode(f);
    frame_end.push_back(stream.size());
  }
  std::vector<std::string> got;
  size_t sent = 0;
  for (size_t piece = 0; sent < stream.size(); ++piece) {
    const size_t n = std::min(sizes[piece % sizes.size()], stream.size() - sent);
    ASSERT_NO_FATAL_FAILURE(SendAll(peer, std::string_view(stream).substr(sent, n)));
    sent += n;
    size_t complete = 0;
    while (complete < frame_end.size() && frame_end[complete] <= sent) ++complete;
    if (complete > got.size()) {
      Status s = ReadFrames(conn, &got, complete);
      ASSERT_TRUE(s.ok()) << s.ToString() << " after " << sent << " bytes";
    } else {
      // The piece arrives (poll), yet completes no frame: nothing must come out.
      ASSERT_NE(WaitFor(conn.fd(), POLLIN) & POLLIN, 0) << "piece never arrived";
      Status s = conn.Read([&](std::string_view f) { got.emplace_back(f); });
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_EQ(got.size(), complete) << "after " << sent << " of " << stream.size() << " bytes";
  }
  ExpectSameFrames(got, frames);
}

TEST(FrameConn, FramesSentByteByByte) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  FrameConn conn(server.Release(), false);
  SendInPiecesAndCheck(client.get(), conn, {"hello", "", Pattern(300, 5), "z"}, {1});
}

TEST(FrameConn, FramesSentInOddPieces) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  FrameConn conn(server.Release(), false);
  // Headers split 1+3, 2+2, 3+1; bodies split; pieces ending one frame and starting the next.
  SendInPiecesAndCheck(client.get(), conn,
                       {Pattern(10, 1), "", Pattern(7, 2), Pattern(1000, 3), "", "ab", Pattern(33, 4)},
                       {1, 3, 2, 5, 7, 13, 2, 64, 3, 1});
}

TEST(FrameConn, LargeFramesSentInPieces) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  FrameConn conn(server.Release(), false);
  // Bodies longer than one 64 KiB read, arriving a piece at a time after smaller frames.
  SendInPiecesAndCheck(client.get(), conn,
                       {Pattern(10, 1), Pattern(150000, 2), "x", Pattern(200003, 3), ""},
                       {50001, 3, 65536, 70000});
}

TEST(FrameConn, OversizedFrameIsInvalidArgument) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  FrameConn::Limits limits;
  limits.max_frame_bytes = 1024;
  FrameConn conn(server.Release(), false, limits);

  const std::string at_limit = Pattern(1024, 6);
  std::string stream = Encode("first") + Encode(at_limit);
  stream += std::string{0x00, 0x10, 0x00, 0x00};  // announces 1 MiB
  stream += "some of its body";
  ASSERT_NO_FATAL_FAILURE(SendAll(client.get(), stream));

  std::vector<std::string> got;
  Status s = ReadToError(conn, &got);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  ExpectSameFrames(got, {"first", at_limit});
}

TEST(FrameConn, QueueRefusesOversizedBody) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  FrameConn::Limits limits;
  limits.max_frame_bytes = 1024;
  FrameConn conn(client.Release(), false, limits);
  EXPECT_FALSE(conn.Queue(Pattern(1025, 1)));
  EXPECT_FALSE(conn.Queue(Pattern(1u << 20, 1)));
  EXPECT_EQ(conn.unsent_bytes(), 0u) << "a refused frame must queue nothing";
  EXPECT_FALSE(conn.WantsWrite());
  EXPECT_TRUE(conn.Queue(Pattern(1024, 1)));
  EXPECT_EQ(conn.unsent_bytes(), 4u + 1024u);
}

TEST(FrameConn, PeerCloseIsUnavailableAfterEarlierFrames) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  FrameConn conn(server.Release(), false);
  std::vector<std::string> want = {"one", Pattern(200000, 7), ""};
  {
    FrameConn peer(client.Release(), false);
    for (const auto& f : want) ASSERT_TRUE(peer.Queue(f));
    const auto deadline = Clock::now() + std::chrono::milliseconds(kWaitMs);
    while (peer.WantsWrite()) {
      // The receiver is not reading yet; 200 KB fits the loopback buffers.
      ASSERT_GT(MsLeft(deadline), 0) << "could not flush before closing";
      ASSERT_NE(WaitFor(peer.fd(), POLLOUT, MsLeft(deadline)) & POLLOUT, 0);
      ASSERT_TRUE(peer.Flush().ok());
    }
  }  // closes the peer's socket
  std::vector<std::string> got;
  Status s = ReadToError(conn, &got);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  ExpectSameFrames(got, want);
}

TEST(FrameConn, PeerCloseMidFrameDeliversOnlyWholeFrames) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  FrameConn conn(server.Release(), false);
  const std::string partial = Encode(Pattern(500, 8)).substr(0, 200);
  ASSERT_NO_FATAL_FAILURE(SendAll(client.get(), Encode("whole") + partial));
  client.Reset();
  std::vector<std::string> got;
  Status s = ReadToError(conn, &got);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  ExpectSameFrames(got, {"whole"});
}

TEST(FrameConn, PeerCloseSeenInTheSameReadAsTheLastFrames) {
  // A short stream and one of exactly one 64 KiB read chunk (small enough to sit unread in the
  // receive buffer), so that one Read meets both the frames and the close.
  for (size_t total : {size_t{1000}, size_t{65536}}) {
    SCOPED_TRACE(total);
    Fd client, server;
    ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
    FrameConn conn(server.Release(), false);
    const std::vector<std::string> want = {"a", Pattern(total - 5 - 4, 2)};
    ASSERT_NO_FATAL_FAILURE(SendAll(client.get(), Encode(want[0]) + Encode(want[1])));
    client.Reset();
    // Everything, close included, is in the kernel before the first Read.
    ASSERT_NE(WaitFor(conn.fd(), POLLRDHUP) & POLLRDHUP, 0);
    std::vector<std::string> got;
    Status s = ReadToError(conn, &got);
    EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
    ExpectSameFrames(got, want);
  }
}

TEST(FrameConn, QueueStopsAtMaxOutBytesWhenPeerDoesNotRead) {
  Fd client, server;
  ASSERT_NO_FATAL_FAILURE(ConnectedPair(&client, &server));
  FrameConn::Limits limits;
  limits.max_out_bytes = 1u << 20;
  FrameConn conn(client.Release(), false, limits);
  const std::string frame = Pattern(64u << 10, 3);

  size_t queued_bytes = 0;  // on the wire, headers included
  bool refused = false;
  // The kernel takes some megabytes before the socket would block; 256 MiB is far beyond that.
  while (queued_bytes < (256u << 20)) {
    const size_t before = conn.unsent_bytes();
    if (!conn.Queue(frame)) {
      refused = true;
      EXPECT_EQ(conn.unsent_bytes(), before) << "a refused frame must queue nothing";
      EXPECT_GT(before + 4 + frame.size(), limits.max_out_bytes) << "refused while there was room";
      break;
    }
    queued_bytes += 4 + frame.size();
    ASSERT_LE(conn.unsent_bytes(), limits.max_out_bytes);
    Status s = conn.Flush();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_LE(conn.unsent_bytes(), limits.max_out_bytes);
  }
  ASSERT_TRUE(refused) << "Queue never refused; " << queued_bytes << " bytes queued";
  EXPECT_GT(conn.unsent_bytes(), limits.max_out_bytes - 4 - frame.size());

  // Once the peer reads everything, the output drains and Queue accepts again.
  size_t received = 0;
  std::string buf(1u << 20, '\0');
  const auto deadline = Clock::now() + std::chrono::milliseconds(2 * kWaitMs);
  while (received < queued_bytes) {
    ASSERT_GT(MsLeft(deadline), 0) << received << " of " << queued_bytes << " bytes drained";
    ASSERT_TRUE(conn.Flush().ok());
    if ((WaitFor(server.get(), POLLIN, 200) & POLLIN) == 0) continue;
    const ssize_t n = recv(server.get(), buf.data(), buf.size(), 0);
    ASSERT_TRUE(n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        << n << " " << std::strerror(errno);
    if (n > 0) received += static_cast<size_t>(n);
  }
  EXPECT_EQ(received, queued_bytes);
  EXPECT_FALSE(conn.WantsWrite());
  EXPECT_TRUE(conn.Queue(frame));
}

TEST(FrameConn, ConnectToClosedPortFails) {
  int port = 0;
  {
    Fd listen_fd;
    ASSERT_NO_FATAL_FAILURE(Listen(&listen_fd, &port));
  }  // closed: nothing listens on `port` now
  auto fd = ConnectTcp("127.0.0.1", port);
  if (!fd.ok()) {
    // The kernel may refuse at once; that is an error too, and not "still connecting".
    EXPECT_FALSE(fd.status().IsIncomplete()) << fd.status().ToString();
    return;
  }
  FrameConn conn(*fd, /*connecting=*/true);
  EXPECT_NE(WaitFor(conn.fd(), POLLOUT), 0) << "connect neither finished nor failed";
  Status s = conn.FinishConnect();
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.IsIncomplete()) << s.ToString();
  EXPECT_TRUE(conn.connecting());
}

}  // namespace
}  // namespace ringkv::net
