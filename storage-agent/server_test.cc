// Server tests in one process over ipc:// (no TCP port): requests are load-balanced so a slow
// engine operation does not hold up others, a full queue answers `busy` at once, Stop() finishes
// in-flight work, and the frame-shape checks reply on the request's route.
#include "storage-agent/server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <set>
#include <thread>

#include "common/net/zmq_util.h"
#include "storage-agent/memory_engine.h"

namespace ringkv::storage {
namespace {

namespace sp = storage_protocol;

// A MemoryEngine whose Get of the key "slow" blocks until Release().
class GatedEngine : public MemoryEngine {
 public:
  Result<std::optional<std::string>> Get(std::string_view key) override {
    if (key == "slow") {
      std::unique_lock<std::mutex> l(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait_for(l, std::chrono::seconds(20), [&] { return released_; });
    }
    return MemoryEngine::Get(key);
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool WaitBlocked(int n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool released_ = false;
};

std::string IpcEndpoint(const char* name) {
  return "ipc:///tmp/ringkv-server-test-" + std::to_string(::getpid()) + "-" + name;
}

struct Harness {
  GatedEngine* engine;
  std::unique_ptr<ReplicaStore> store;
  std::unique_ptr<Server> server;
  zmq::context_t ctx;

  Harness(const char* name, int threads, size_t max_queue) {
    auto e = std::make_unique<GatedEngine>();
    engine = e.get();
    store = std::make_unique<ReplicaStore>(std::move(e), 77);
    ServerOptions o;
    o.listen = IpcEndpoint(name);
    o.node_id = "n-test";
    o.threads = threads;
    o.max_queue = max_queue;
    server = std::make_unique<Server>(store.get(), o);
    Status s = server->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  ~Harness() {
    engine->Release();
    server->Stop();
  }
  zmq::socket_t Dealer() {
    auto s = net::MakeSocket(ctx, zmq::socket_type::dealer);
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(net::Connect(*s, server->endpoint()).ok());
    return std::move(*s);
  }
};

void Send(zmq::socket_t& s, const std::string& op, uint64_t rid, const std::string& key = "") {
  sp::Request r;
  r.op = op;
  r.rid = rid;
  r.key = key;
  ASSERT_TRUE(net::SendDealer(s, sp::EncodeRequest(r), 1000).ok());
}

Result<sp::Reply> Recv(zmq::socket_t& s, int timeout_ms = 3000) {
  auto body = net::RecvDealer(s, timeout_ms);
  if (!body.ok()) return body.status();
  return sp::DecodeReply(*body);
}

TEST(Server, PingAndBasicOps) {
  Harness h("basic", 2, 16);
  auto c = h.Dealer();
  Send(c, "ping", 1);
  auto r = Recv(c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rid, 1u);
  EXPECT_EQ(r->actor, 77u);
  EXPECT_EQ(r->node, "n-test");
  sp::Request up;
  up.op = "update";
  up.rid = 2;
  up.key = "k";
  up.value = "v";
  ASSERT_TRUE(net::SendDealer(c, sp::EncodeRequest(up), 1000).ok());
  r = Recv(c);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->ok) << r->message;
  ASSERT_TRUE(r->dot.has_value());
  EXPECT_EQ(r->dot->actor, 77u);
  Send(c, "get", 3, "k");
  auto g = Recv(c);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->state, r->state);
}

TEST(Server, SlowOperationDoesNotStallOthers) {
  Harness h("slow", 2, 16);
  auto slow = h.Dealer();
  auto fast = h.Dealer();
  Send(slow, "get", 1, "slow");
  ASSERT_TRUE(h.engine->WaitBlocked(1));
  int64_t start = net::NowMs();
  for (uint64_t i = 0; i < 50; ++i) {
    Send(fast, "get", 100 + i, "other");
    auto r = Recv(fast, 2000);
    ASSERT_TRUE(r.ok()) << "request " << i << " stalled behind the slow one";
    EXPECT_EQ(r->rid, 100 + i);
  }
  std::printf("50 requests served in %lld ms while one worker was blocked\n",
              static_cast<long long>(net::NowMs() - start));
  EXPECT_EQ(Recv(slow, 50).status().code(), Status::Code::kTimeout);
  h.engine->Release();
  auto r = Recv(slow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rid, 1u);
  EXPECT_TRUE(r->ok);
}

TEST(Server, FullQueueAnswersBusyAtOnce) {
  Harness h("busy", 1, 2);
  auto c = h.Dealer();
  Send(c, "get", 1, "slow");  // occupies the only worker
  ASSERT_TRUE(h.engine->WaitBlocked(1));
  Send(c, "ping", 2);  // queued
  Send(c, "ping", 3);  // queued
  Send(c, "ping", 4);  // queue full
  auto r = Recv(c, 2000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rid, 4u);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->code, sp::kErrBusy);
  h.engine->Release();
  std::set<uint64_t> rids;
  for (int i = 0; i < 3; ++i) {
    auto x = Recv(c);
    ASSERT_TRUE(x.ok());
    EXPECT_TRUE(x->ok);
    rids.insert(x->rid);
  }
  EXPECT_EQ(rids, (std::set<uint64_t>{1, 2, 3}));
  Send(c, "stats", 5);
  auto st = Recv(c);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->stats.at("busy"), 1u);
}

TEST(Server, StopFinishesInFlightWork) {
  Harness h("stop", 2, 16);
  auto c = h.Dealer();
  Send(c, "get", 9, "slow");
  ASSERT_TRUE(h.engine->WaitBlocked(1));
  std::thread stopper([&] { h.server->Stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  h.engine->Release();
  auto r = Recv(c, 5000);
  stopper.join();
  ASSERT_TRUE(r.ok()) << "in-flight request lost at Stop: " << r.status().ToString();
  EXPECT_EQ(r->rid, 9u);
  EXPECT_TRUE(r->ok);
}

TEST(Server, BadFrameShapesGetErrorsOnTheirRoute) {
  Harness h("frames", 2, 16);
  auto c = h.Dealer();
  ASSERT_TRUE(net::SendFrames(c, net::Frames{"", "a", "b"}, 1000).ok());
  auto r = Recv(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, sp::kErrBadRequest);
  ASSERT_TRUE(net::SendFrames(c, net::Frames{""}, 1000).ok());
  r = Recv(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, sp::kErrBadRequest);
  ASSERT_TRUE(net::SendFrames(c, net::Frames(12, "x"), 1000).ok());
  r = Recv(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, sp::kErrBadRequest);
  Send(c, "ping", 3);
  r = Recv(c);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok);
}

TEST(Server, BindFailureIsReported) {
  ReplicaStore store(std::make_unique<MemoryEngine>(), 1);
  ServerOptions o;
  o.listen = "tcp://256.1.1.1:1";
  Server s(&store, o);
  Status st = s.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bind"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::storage
