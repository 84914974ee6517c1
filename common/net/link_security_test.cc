// Tests of link security in one process (over ipc://, so that no port is used): with it on,
// net::Bind makes a CURVE server whose ZAP handler admits the cluster key and the authorized
// client keys only; a NULL client, an unknown key and a wrong server key get no reply; a key
// added to the authorized file is admitted without a restart; inproc sockets stay plain.
#include "common/net/link_security.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <fstream>
#include <thread>

#include "common/net/zmq_util.h"

namespace ringkv::net {
namespace {

namespace fs = std::filesystem;

// Sends "ping" from a fresh DEALER set up by `setup` and says whether "pong" came back.
bool Answered(zmq::context_t& ctx, const std::string& ep,
              const std::function<void(zmq::socket_t&)>& setup, int wait_ms = 700) {
  auto d = MakeSocket(ctx, zmq::socket_type::dealer);
  if (!d.ok()) return false;
  setup(*d);
  d->connect(ep);  // not net::Connect: the client's options are the test's
  if (!SendDealer(*d, "ping", 1000).ok()) return false;
  auto r = RecvDealer(*d, wait_ms);
  return r.ok() && *r == "pong";
}

TEST(LinkSecurity, ZapAdmitsOnlyAuthorizedCurveClients) {
  char tmpl[] = "/tmp/ringkv-link-security-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto cluster = *GenerateCurveKeyPair();
  auto client = *GenerateCurveKeyPair();
  auto stranger = *GenerateCurveKeyPair();
  const std::string auth = dir + "/authorized";
  std::ofstream(auth) << "public-key = \"" << client.public_key << "\"\n";

  EXPECT_FALSE(LinkSecurityActive());
  EnableLinkSecurity(LinkSecurity{cluster, auth, {client.public_key}});
  ASSERT_TRUE(LinkSecurityActive());

  zmq::context_t ctx;
  {
    auto zap = ZapHandler::Start(ctx);
    ASSERT_TRUE(zap.ok()) << zap.status().ToString();
    auto router = MakeSocket(ctx, zmq::socket_type::router);
    ASSERT_TRUE(router.ok());
    const std::string ep = "ipc://" + dir + "/server";
    ASSERT_TRUE(Bind(*router, ep).ok());
    std::atomic<bool> stop{false};
    std::thread server([&] {
      while (!stop) {
        auto f = RecvFrames(*router, 50);
        if (!f.ok()) continue;
        Envelope env = SplitEnvelope(*f);
        (void)SendRouted(*router, env.route, "pong", 1000);
      }
    });

    auto as = [](const std::string& server_key, const CurveKeyPair& own) {
      return [=](zmq::socket_t& s) { ASSERT_TRUE(SetCurveClient(s, server_key, own).ok()); };
    };
    EXPECT_TRUE(Answered(ctx, ep, as(cluster.public_key, client)));
    EXPECT_TRUE(Answered(ctx, ep, as(cluster.public_key, cluster)));  // a peer agent
    // net::Connect makes a peer agent's link on its own.
    EXPECT_TRUE(Answered(ctx, ep, [&](zmq::socket_t& s) {
      ASSERT_TRUE(ApplyLinkSecurity(s, ep, /*server=*/false).ok());
    }));
    EXPECT_FALSE(Answered(ctx, ep, [](zmq::socket_t&) {}));                // NULL mechanism
    EXPECT_FALSE(Answered(ctx, ep, as(cluster.public_key, stranger)));     // not authorized
    EXPECT_FALSE(Answered(ctx, ep, as(stranger.public_key, client)));      // wrong server key
    EXPECT_GE((*zap)->refused(), 1u);

    // Authorize the stranger: the handler re-reads the file (about once a second).
    std::ofstream(auth, std::ios::app) << stranger.public_key << "\n";
    bool admitted = false;
    for (int i = 0; i < 30 && !admitted; ++i) {
      admitted = Answered(ctx, ep, as(cluster.public_key, stranger), 300);
    }
    EXPECT_TRUE(admitted);
    stop = true;
    server.join();
  }

  // inproc never gets CURVE: a plain pair still talks.
  auto a = MakeSocket(ctx, zmq::socket_type::pair);
  auto b = MakeSocket(ctx, zmq::socket_type::pair);
  ASSERT_TRUE(Bind(*a, "inproc://plain").ok());
  ASSERT_TRUE(Connect(*b, "inproc://plain").ok());
  ASSERT_TRUE(SendFrames(*b, Frames{"x"}, 1000).ok());
  EXPECT_TRUE(RecvFrames(*a, 1000).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ringkv::net
