// PeerLinks on 127.0.0.1 (ports 27810-27819): a message reaches the peer named by its id, an
// answer comes back on the same socket from that id, a send to a peer that is not connected
// fails at once and is counted, and a changed endpoint is followed.
#include "gossip-agent/peer_links.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/net/zmq_util.h"

namespace ringkv::gossip {
namespace {

// Sends until the connection is up (ROUTER_MANDATORY refuses before); bounded.
bool SendWhenConnected(PeerLinks& l, const std::string& id, const std::string& body) {
  for (int i = 0; i < 300; ++i) {
    if (l.Send(id, body)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(PeerLinks, AddressesPeersByIdAndCountsFailures) {
  zmq::context_t ctx(1);
  PeerLinks links(ctx);
  ASSERT_TRUE(links.status().ok());
  EXPECT_FALSE(links.Send("nobody", "x"));  // unknown: refused at once, not queued
  EXPECT_EQ(links.send_failures(), 1u);

  auto peer = net::MakeSocket(ctx, zmq::socket_type::router);
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE(net::Bind(*peer, "tcp://127.0.0.1:27811").ok());
  links.Connect("n2", "tcp://127.0.0.1:27811");
  links.Connect("n2", "tcp://127.0.0.1:27811");  // again: nothing new
  EXPECT_EQ(links.size(), 1u);
  ASSERT_TRUE(SendWhenConnected(links, "n2", "syn"));
  auto got = net::RecvFrames(*peer, 2000);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1], "syn");
  // The peer answers by the route it got: it arrives from "n2".
  ASSERT_TRUE(net::SendFrames(*peer, net::Frames{(*got)[0], "ack"}, 1000).ok());
  auto back = net::RecvFrames(links.socket(), 2000);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (net::Frames{"n2", "ack"}));
  // Answers go back by that routing id.
  EXPECT_TRUE(links.Send((*back)[0], "ack2"));
  EXPECT_EQ(net::RecvFrames(*peer, 2000)->back(), "ack2");

  // n2 moves: the link follows.
  auto moved = net::MakeSocket(ctx, zmq::socket_type::router);
  ASSERT_TRUE(moved.ok());
  ASSERT_TRUE(net::Bind(*moved, "tcp://127.0.0.1:27812").ok());
  links.Connect("n2", "tcp://127.0.0.1:27812");
  EXPECT_EQ(links.size(), 1u);
  for (int i = 0; i < 300; ++i) {
    links.Send("n2", "syn2");
    auto m = net::RecvFrames(*moved, 10);
    if (m.ok()) {
      EXPECT_EQ(m->back(), "syn2");
      return;
    }
  }
  FAIL() << "nothing reached n2's new endpoint";
}

}  // namespace
}  // namespace ringkv::gossip
