// ClientEndpoint with real libzmq clients, served both ways (our ZMTP and libzmq's ROUTER): a
// REQ and a DEALER get their replies on their envelopes, nothing is read before serving starts,
// a reply to a client that left is dropped, a garbage peer is closed without harming the rest,
// StopAccepting (the drain) reads what clients had sent and then nothing more.
#include "coordinator/client_endpoint.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/net/frame_conn.h"
#include "common/net/reactor_test_util.h"

namespace ringkv::coordinator {
namespace {

class ClientEndpointTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    // Echoes every request body with "re:" in front (what the coordinator does with a route).
    ClientEndpoint::OnMessage echo = [this](ClientRoute route, std::vector<std::string_view>& f,
                                            bool truncated) {
      ++messages_;
      last_truncated_ = truncated;
      last_frames_ = f.size();
      size_t delim = 0;
      while (delim < f.size() && !f[delim].empty()) ++delim;
      for (size_t i = 0; i < delim && delim < f.size(); ++i) route.envelope.emplace_back(f[i]);
      last_route_ = route;
      ep_->Send(route, "re:" + std::string(f.empty() ? "" : f.back()));
    };
    ep_ = std::make_unique<ClientEndpoint>(ctx_, &reactor_, 1u << 20, 8, echo);
    ASSERT_TRUE(ep_->Bind("tcp://127.0.0.1:0", /*libzmq=*/GetParam()).ok());
    EXPECT_STREQ(ep_->transport(), GetParam() ? "libzmq" : "zmtp");
  }

  // Runs reactor passes (the endpoint flushed after each, as the coordinator's pass hook does)
  // for up to `ms`, until `done` holds.
  template <typename Done>
  bool Serve(int ms, Done done) {
    return net::RunUntil(reactor_, done, [this] { ep_->Flush(); }, ms);
  }

  zmq::socket_t Client(zmq::socket_type type) {
    zmq::socket_t s(ctx_, type);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::rcvtimeo, 0);
    s.connect(ep_->endpoint());
    return s;
  }

  static bool TryRecv(zmq::socket_t& s, std::vector<std::string>* out) {
    out->clear();
    while (true) {
      zmq::message_t m;
      if (!s.recv(m, zmq::recv_flags::dontwait)) return !out->empty();
      out->push_back(m.to_string());
      if (!m.more()) return true;
    }
  }

  zmq::context_t ctx_;
  net::Reactor reactor_;
  std::unique_ptr<ClientEndpoint> ep_;
  int messages_ = 0;
  bool last_truncated_ = false;
  size_t last_frames_ = 0;
  ClientRoute last_route_;
};

TEST_P(ClientEndpointTest, ReqGetsItsReplyOnlyOnceServing) {
  auto req = Client(zmq::socket_type::req);
  req.send(zmq::str_buffer("hello"));
  EXPECT_FALSE(Serve(300, [&] { return messages_ > 0; })) << "read before StartServing";
  ASSERT_TRUE(ep_->StartServing().ok());
  std::vector<std::string> reply;
  ASSERT_TRUE(Serve(5000, [&] { return TryRecv(req, &reply); }));
  ASSERT_EQ(reply.size(), 1u);  // REQ strips the delimiter
  EXPECT_EQ(reply[0], "re:hello");
  EXPECT_EQ(last_frames_, 2u);  // ["", "hello"] as a ROUTER sees it, without the identity
  EXPECT_TRUE(last_route_.envelope.empty());
  // Again on the same socket.
  req.send(zmq::str_buffer("again"));
  ASSERT_TRUE(Serve(5000, [&] { return TryRecv(req, &reply); }));
  EXPECT_EQ(reply[0], "re:again");
}

TEST_P(ClientEndpointTest, DealerEnvelopeIsEchoedAndManyRepliesArrive) {
  ASSERT_TRUE(ep_->StartServing().ok());
  auto dealer = Client(zmq::socket_type::dealer);
  for (int i = 0; i < 100; ++i) {
    dealer.send(zmq::str_buffer("tag"), zmq::send_flags::sndmore);
    dealer.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(std::to_string(i)));
  }
  int got = 0;
  std::vector<std::string> reply;
  ASSERT_TRUE(Serve(5000, [&] {
    while (TryRecv(dealer, &reply)) {
      EXPECT_EQ(reply.size(), 3u);
      if (reply.size() == 3) {
        EXPECT_EQ(reply[0], "tag");
        EXPECT_EQ(reply[1], "");
        EXPECT_EQ(reply[2], "re:" + std::to_string(got));
      }
      ++got;
    }
    return got == 100;
  }));
}

TEST_P(ClientEndpointTest, TooManyFramesAreMarkedTruncated) {
  ASSERT_TRUE(ep_->StartServing().ok());
  auto dealer = Client(zmq::socket_type::dealer);
  for (int i = 0; i < 20; ++i) dealer.send(zmq::str_buffer("f"), zmq::send_flags::sndmore);
  dealer.send(zmq::str_buffer("last"));
  ASSERT_TRUE(Serve(5000, [&] { return messages_ == 1; }));
  EXPECT_TRUE(last_truncated_);
  EXPECT_EQ(last_frames_, 8u);
}

TEST_P(ClientEndpointTest, ReplyToAClientThatLeftIsDropped) {
  ASSERT_TRUE(ep_->StartServing().ok());
  {
    auto req = Client(zmq::socket_type::req);
    req.send(zmq::str_buffer("x"));
    ASSERT_TRUE(Serve(5000, [&] { return messages_ == 1; }));
  }
  // The socket is closed; let the endpoint notice, then reply on its old route.
  Serve(300, [] { return false; });
  ep_->Send(last_route_, "late");
  ep_->Flush();
  auto req = Client(zmq::socket_type::req);  // and the endpoint still serves
  req.send(zmq::str_buffer("y"));
  std::vector<std::string> reply;
  ASSERT_TRUE(Serve(5000, [&] { return TryRecv(req, &reply); }));
  EXPECT_EQ(reply[0], "re:y");
}

TEST(ClientEndpointZmtpTest, GarbagePeerIsClosedAndOthersServed) {
  zmq::context_t ctx;
  net::Reactor reactor;
  ClientEndpoint::OnMessage none = [](ClientRoute, std::vector<std::string_view>&, bool) {};
  ClientEndpoint ep(ctx, &reactor, 1u << 20, 8, none);
  ASSERT_TRUE(ep.Bind("tcp://127.0.0.1:0", false).ok());
  ASSERT_TRUE(ep.StartServing().ok());
  std::string host;
  int port = 0;
  ASSERT_TRUE(net::ParseTcpEndpoint(ep.endpoint(), &host, &port).ok());
  const int raw = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(raw, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const char junk[] = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_EQ(write(raw, junk, sizeof(junk) - 1), static_cast<ssize_t>(sizeof(junk) - 1));
  bool seen = false, closed = false;
  for (int i = 0; i < 250 && !closed; ++i) {
    ASSERT_TRUE(reactor.RunOnce(20).ok());
    ep.Flush();
    seen = seen || ep.connections() == 1;
    closed = seen && ep.connections() == 0;
  }
  EXPECT_TRUE(closed) << "the garbage peer is still connected";
  close(raw);
}

// The drain's first step (the coordinator's SIGTERM): requests already on a connection are read
// by StopAccepting itself and answered; after it nothing is read, new clients are refused.
TEST_P(ClientEndpointTest, StopAcceptingReadsWhatWasSentThenNothing) {
  ASSERT_TRUE(ep_->StartServing().ok());
  auto dealer = Client(zmq::socket_type::dealer);
  std::vector<std::string> reply;
  dealer.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
  dealer.send(zmq::str_buffer("hello"));
  ASSERT_TRUE(Serve(5000, [&] { return TryRecv(dealer, &reply); }));
  for (int i = 0; i < 5; ++i) {
    dealer.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer("b" + std::to_string(i)));
  }
  // libzmq's I/O thread writes them to the connection meanwhile (no reactor pass runs).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int before = messages_;
  ep_->StopAccepting();
  EXPECT_EQ(messages_, before + 5) << "StopAccepting did not read what was waiting";
  int got = 0;
  ASSERT_TRUE(Serve(5000, [&] {
    while (TryRecv(dealer, &reply)) ++got;
    return got == 5;
  }));
  dealer.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
  dealer.send(zmq::str_buffer("late"));
  auto fresh = Client(zmq::socket_type::req);
  fresh.send(zmq::str_buffer("new"));
  EXPECT_FALSE(Serve(500, [&] {
    return messages_ > before + 5 || TryRecv(dealer, &reply) || TryRecv(fresh, &reply);
  })) << "a request was accepted after StopAccepting";
  EXPECT_FALSE(ep_->HasUnsent());
}

INSTANTIATE_TEST_SUITE_P(Transports, ClientEndpointTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "libzmq" : "zmtp"; });

}  // namespace
}  // namespace ringkv::coordinator
