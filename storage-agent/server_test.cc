// Server tests in one process over ipc:// (no TCP port): requests are load-balanced so a slow
// engine operation does not hold up others, a full queue answers `busy` at once, Stop() finishes
// in-flight work, and the frame-shape checks reply on the request's route. The frontend answers
// ping, stats and in-memory gets itself (the same bytes a worker would send), also while every
// worker is busy, and hands a get that needs the disk to a worker (real engine: uncached block).
// It also runs in-memory updates and syncs in batches, answering each only once its batch is
// written. The direct transport (length-prefixed frames on TCP) serves the same requests, also
// through the workers, and a peer speaking garbage on it loses only its own connection.
#include "storage-agent/server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <set>
#include <thread>

#include "common/net/frame_conn.h"
#include "common/net/zmq_util.h"
#include "common/version/key_state.h"
#include "storage-agent/engine/test_util.h"
#include "storage-agent/memory_engine.h"

namespace ringkv::storage {
namespace {

namespace sp = storage_protocol;

// Where a test engine holds a thread: Pass() counts the arrival and waits (at most 20 s) until
// the gate is open.
class Gate {
 public:
  explicit Gate(bool open) : open_(open) {}
  void Pass() {
    std::unique_lock<std::mutex> l(mu_);
    ++arrivals_;
    cv_.notify_all();
    cv_.wait_for(l, std::chrono::seconds(20), [&] { return open_; });
  }
  void Set(bool open) {
    std::lock_guard<std::mutex> l(mu_);
    open_ = open;
    cv_.notify_all();
  }
  bool WaitArrivals(int n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return arrivals_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_;
  int arrivals_ = 0;
};

// A MemoryEngine whose Get of the key "slow" blocks until Release(). "slow" is marked on disk, so
// the frontend's memory-only read hands it to a worker (as the real engine would).
class GatedEngine : public MemoryEngine {
 public:
  GatedEngine() { SetOnDisk("slow"); }
  using MemoryEngine::Get;
  Result<std::optional<std::string>> Get(std::string_view key) override {
    if (key == "slow") gate_.Pass();
    return MemoryEngine::Get(key);
  }
  void Release() { gate_.Set(true); }
  bool WaitBlocked(int n) { return gate_.WaitArrivals(n); }

 private:
  Gate gate_{false};
};

std::string IpcEndpoint(const char* name) {
  return "ipc:///tmp/ringkv-server-test-" + std::to_string(::getpid()) + "-" + name;
}

struct Harness {
  GatedEngine* engine;
  std::unique_ptr<ReplicaStore> store;
  std::unique_ptr<Server> server;
  zmq::context_t ctx;

  Harness(const char* name, int threads, size_t max_queue, std::string direct = "",
          uint64_t deadline_tolerance_ms = 1000) {
    auto e = std::make_unique<GatedEngine>();
    engine = e.get();
    store = std::make_unique<ReplicaStore>(std::move(e), 77);
    ServerOptions o;
    o.listen = IpcEndpoint(name);
    o.node_id = "n-test";
    o.threads = threads;
    o.max_queue = max_queue;
    o.direct_listen = std::move(direct);
    o.deadline_tolerance_ms = deadline_tolerance_ms;
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
  h.engine->SetOnDisk("other");  // served by the second worker, not by the frontend
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
  for (const char* k : {"d2", "d3", "d4"}) h.engine->SetOnDisk(k);  // these need a worker
  auto c = h.Dealer();
  Send(c, "get", 1, "slow");  // occupies the only worker
  ASSERT_TRUE(h.engine->WaitBlocked(1));
  Send(c, "get", 2, "d2");  // queued
  Send(c, "get", 3, "d3");  // queued
  Send(c, "get", 4, "d4");  // queue full
  auto r = Recv(c, 2000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rid, 4u);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->code, sp::kErrBusy);
  // What the frontend answers itself needs no queue slot: still served.
  Send(c, "ping", 5);
  r = Recv(c, 2000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rid, 5u);
  EXPECT_TRUE(r->ok);
  h.engine->Release();
  std::set<uint64_t> rids;
  for (int i = 0; i < 3; ++i) {
    auto x = Recv(c);
    ASSERT_TRUE(x.ok());
    EXPECT_TRUE(x->ok);
    rids.insert(x->rid);
  }
  EXPECT_EQ(rids, (std::set<uint64_t>{1, 2, 3}));
  Send(c, "stats", 6);
  auto st = Recv(c);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->stats.at("busy"), 1u);
}

sp::Request UpdateRequest(uint64_t rid, const std::string& key, const std::string& value) {
  sp::Request r;
  r.op = "update";
  r.rid = rid;
  r.key = key;
  r.value = value;
  return r;
}

std::string GetBody(uint64_t rid, const std::string& key) {
  sp::Request r;
  r.op = "get";
  r.rid = rid;
  r.key = key;
  return sp::EncodeRequest(r);
}

TEST(Server, InlineGetSendsTheSameBytesAsAWorker) {
  Harness h("inline", 2, 16);
  auto c = h.Dealer();
  ASSERT_TRUE(net::SendDealer(c, sp::EncodeRequest(UpdateRequest(1, "k", "value")), 1000).ok());
  auto up = Recv(c);
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE(up->ok) << up->message;
  h.engine->CorruptKey("bad");

  for (const std::string key : {"k", "absent", "bad"}) {
    const uint64_t reads = h.engine->memory_only_reads();
    const std::string body = GetBody(7, key);
    ASSERT_TRUE(net::SendDealer(c, body, 1000).ok());
    auto got = net::RecvDealer(c, 3000);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    // HandleBody is the worker's code path: the frontend's reply must be byte for byte the same.
    EXPECT_EQ(*got, h.server->HandleBody(body)) << key;
    EXPECT_EQ(h.engine->memory_only_reads(), reads + 1) << key << " was not read in memory";
  }
  auto r = sp::DecodeReply(h.server->HandleBody(GetBody(8, "k")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, up->state);
  r = sp::DecodeReply(h.server->HandleBody(GetBody(9, "bad")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, sp::kErrCorruption);
  Send(c, "stats", 10);
  auto st = Recv(c);
  ASSERT_TRUE(st.ok());
  EXPECT_GE(st->stats.at("inline"), 3u);
}

TEST(Server, GetWithTheOpAsStr8IsServedByAWorker) {
  Harness h("str8", 2, 16);
  auto c = h.Dealer();
  ASSERT_TRUE(net::SendDealer(c, sp::EncodeRequest(UpdateRequest(1, "k", "value")), 1000).ok());
  auto up = Recv(c);
  ASSERT_TRUE(up.ok() && up->ok);
  // {"op": "get" as str8, "rid": 5, "k": "k"}: valid MessagePack the frontend's pre-check skips.
  const char raw[] = "\x83\xa2op\xd9\x03get\xa3rid\x05\xa1k\xa1k";
  const std::string body(raw, sizeof(raw) - 1);
  const uint64_t reads = h.engine->memory_only_reads();
  ASSERT_TRUE(net::SendDealer(c, body, 1000).ok());
  auto r = Recv(c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rid, 5u);
  ASSERT_TRUE(r->ok) << r->message;
  EXPECT_EQ(r->state, up->state);
  EXPECT_EQ(h.engine->memory_only_reads(), reads);  // the worker's normal read answered
}

TEST(Server, FrontendAnswersInMemoryGetsWhileEveryWorkerIsBusy) {
  Harness h("busyworkers", 1, 16);
  auto c = h.Dealer();
  ASSERT_TRUE(net::SendDealer(c, sp::EncodeRequest(UpdateRequest(1, "hot", "h")), 1000).ok());
  ASSERT_TRUE(net::SendDealer(c, sp::EncodeRequest(UpdateRequest(2, "cold", "c")), 1000).ok());
  auto u1 = Recv(c), u2 = Recv(c);
  ASSERT_TRUE(u1.ok() && u2.ok());
  ASSERT_TRUE(u1->ok && u2->ok);
  const std::string cold_state = u1->rid == 2 ? *u1->state : *u2->state;
  h.engine->SetOnDisk("cold");

  Send(c, "get", 3, "slow");  // occupies the only worker
  ASSERT_TRUE(h.engine->WaitBlocked(1));
  Send(c, "get", 4, "cold");  // needs the disk: waits for the worker
  Send(c, "get", 5, "hot");   // in memory: answered by the frontend at once
  auto r = Recv(c, 2000);
  ASSERT_TRUE(r.ok()) << "an in-memory get waited for a worker: " << r.status().ToString();
  EXPECT_EQ(r->rid, 5u);
  ASSERT_TRUE(r->state.has_value());
  EXPECT_EQ(Recv(c, 100).status().code(), Status::Code::kTimeout);  // "cold" still queued
  h.engine->Release();
  std::map<uint64_t, sp::Reply> rest;
  for (int i = 0; i < 2; ++i) {
    auto x = Recv(c);
    ASSERT_TRUE(x.ok()) << x.status().ToString();
    rest[x->rid] = *x;
  }
  ASSERT_EQ(rest.count(4), 1u);
  ASSERT_TRUE(rest[4].ok) << rest[4].message;
  EXPECT_EQ(rest[4].state, cold_state);
}

// Options of a real engine in `dir` for these tests: no background compaction.
engine::Options RealEngineOptions(const std::string& dir, engine::SyncMode mode) {
  engine::Options eo;
  eo.dir = dir;
  eo.sync_mode = mode;
  eo.background_compaction = false;
  return eo;
}

// A DEALER connected to `server`, in `ctx`.
zmq::socket_t ConnectedDealer(zmq::context_t& ctx, const Server& server) {
  auto c = net::MakeSocket(ctx, zmq::socket_type::dealer);
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE(net::Connect(*c, server.endpoint()).ok());
  return std::move(*c);
}

TEST(Server, RealEngineGetOfAnUncachedBlockGoesToAWorkerThenInline) {
  engine::testing::TempDir dir;
  auto store = ReplicaStore::Open(RealEngineOptions(dir.path(), engine::SyncMode::kNone));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ServerOptions o;
  o.listen = IpcEndpoint("real");
  o.threads = 2;
  Server server(store->get(), o);
  ASSERT_TRUE(server.Start().ok());
  zmq::context_t ctx;
  std::optional<zmq::socket_t> c(ConnectedDealer(ctx, server));
  auto stat = [&](const char* name) -> uint64_t {
    Send(*c, "stats", 99);
    auto st = Recv(*c);
    EXPECT_TRUE(st.ok());
    return st.ok() ? st->stats.at(name) : 0;
  };

  const std::string big(100u << 10, 'b');  // over the inline size bound
  ASSERT_TRUE(net::SendDealer(*c, sp::EncodeRequest(UpdateRequest(1, "k", "v")), 1000).ok());
  auto up = Recv(*c);
  ASSERT_TRUE(up.ok() && up->ok);
  ASSERT_TRUE(net::SendDealer(*c, sp::EncodeRequest(UpdateRequest(2, "big", big)), 1000).ok());
  auto upbig = Recv(*c);
  ASSERT_TRUE(upbig.ok() && upbig->ok);

  uint64_t inl = stat("inline");
  Send(*c, "get", 3, "k");  // in the memtable
  auto g = Recv(*c);
  ASSERT_TRUE(g.ok() && g->ok);
  EXPECT_EQ(g->state, up->state);
  // The get and the stats request before it; a stats reply does not count its own request.
  EXPECT_EQ(stat("inline"), inl + 2);

  Send(*c, "flush", 4);  // the data block is now on disk only
  ASSERT_TRUE(Recv(*c).ok());
  const uint64_t misses = stat("block_cache_misses");
  inl = stat("inline");
  Send(*c, "get", 5, "k");  // a worker reads the block
  g = Recv(*c);
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->ok) << g->message;
  EXPECT_EQ(g->state, up->state);
  EXPECT_EQ(stat("inline"), inl + 1);  // only the stats request before
  EXPECT_EQ(stat("block_cache_misses"), misses + 1);
  inl = stat("inline");
  Send(*c, "get", 6, "k");  // the block is cached now: the frontend answers
  g = Recv(*c);
  ASSERT_TRUE(g.ok() && g->ok);
  EXPECT_EQ(g->state, up->state);
  EXPECT_EQ(stat("inline"), inl + 2);

  inl = stat("inline");
  Send(*c, "get", 7, "big");  // a big state is left to a worker even when in memory
  g = Recv(*c);
  ASSERT_TRUE(g.ok() && g->ok);
  EXPECT_EQ(g->state, upbig->state);
  Send(*c, "get", 8, "big");
  g = Recv(*c);
  ASSERT_TRUE(g.ok() && g->ok);
  EXPECT_EQ(g->state, upbig->state);
  EXPECT_EQ(stat("inline"), inl + 1);
  server.Stop();
}

// A MemoryEngine whose WriteBatch (the frontend's group commit) blocks while the gate is
// closed, and fails while `fail` is set.
class GatedBatchEngine : public MemoryEngine {
 public:
  Status WriteBatch(const std::vector<engine::WriteOp>& batch) override {
    gate_.Pass();
    if (fail_.load()) return Status::IOError("injected commit-log failure");
    return MemoryEngine::WriteBatch(batch);
  }
  void SetGate(bool open, bool fail = false) {
    fail_ = fail;
    gate_.Set(open);
  }
  bool WaitBatches(int n) { return gate_.WaitArrivals(n); }

 private:
  Gate gate_{true};
  std::atomic<bool> fail_{false};
};

// The frontend runs an in-memory update itself, but its reply leaves only once the engine's
// batch write returned; a failed batch write answers an error, keeps nothing and leaves the
// key writable; after a slow batch the workers take the writes for a while.
TEST(Server, FrontendWriteIsAnsweredOnlyAfterItsBatchIsWritten) {
  auto e = std::make_unique<GatedBatchEngine>();
  GatedBatchEngine* engine = e.get();
  ReplicaStore store(std::move(e), 77);
  ServerOptions o;
  o.listen = IpcEndpoint("gatedbatch");
  o.threads = 1;
  Server server(&store, o);
  ASSERT_TRUE(server.Start().ok());
  zmq::context_t ctx;
  std::optional<zmq::socket_t> c(ConnectedDealer(ctx, server));
  auto update = [&](uint64_t rid, const std::string& key, int timeout_ms = 3000) {
    EXPECT_TRUE(
        net::SendDealer(*c, sp::EncodeRequest(UpdateRequest(rid, key, "v")), 1000).ok());
    return Recv(*c, timeout_ms);
  };
  auto inline_writes = [&] {
    Send(*c, "stats", 99);
    auto st = Recv(*c);
    EXPECT_TRUE(st.ok() && st->ok);
    return st.ok() ? st->stats.at("inline_writes") : 0;
  };

  engine->SetGate(true, /*fail=*/true);
  auto r = update(1, "k1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rid, 1u);
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->message.find("injected"), std::string::npos) << r->message;
  Send(*c, "get", 2, "k1");
  auto g = Recv(*c);
  ASSERT_TRUE(g.ok() && g->ok);
  EXPECT_FALSE(g->state.has_value()) << "a failed batch left its write behind";
  engine->SetGate(true, /*fail=*/false);
  r = update(3, "k1");
  ASSERT_TRUE(r.ok() && r->ok) << "the key's stripe stayed locked after a failed batch";
  EXPECT_EQ(inline_writes(), 2u);

  engine->SetGate(false);
  ASSERT_TRUE(net::SendDealer(*c, sp::EncodeRequest(UpdateRequest(4, "k2", "v")), 1000).ok());
  ASSERT_TRUE(engine->WaitBatches(3));
  EXPECT_EQ(Recv(*c, 200).status().code(), Status::Code::kTimeout)
      << "an update was answered before its batch was written";
  engine->SetGate(true);
  r = Recv(*c);
  ASSERT_TRUE(r.ok() && r->ok) << (r.ok() ? r->message : r.status().ToString());
  EXPECT_EQ(r->rid, 4u);
  EXPECT_EQ(inline_writes(), 3u);

  // That batch took over 200 ms: for the next half second a worker runs the writes.
  r = update(5, "k3");
  ASSERT_TRUE(r.ok() && r->ok);
  EXPECT_EQ(inline_writes(), 3u) << "a write ran on the frontend right after a slow batch";
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  r = update(6, "k4");
  ASSERT_TRUE(r.ok() && r->ok);
  EXPECT_EQ(inline_writes(), 4u) << "writes never came back to the frontend";
  server.Stop();
}

// Pipelined writes on a real engine with group commit: the frontend batches them (fewer batches
// than writes), two blind updates of one key in one burst both survive as siblings (the second
// reads the first's durable state), a sync that changes nothing is answered too, and every
// acknowledged state is what a reopened engine holds.
TEST(Server, FrontendBatchesPipelinedWritesOnARealEngine) {
  engine::testing::TempDir dir;
  const engine::Options eo = RealEngineOptions(dir.path(), engine::SyncMode::kBatch);
  std::map<std::string, std::string> acked;  // key -> state of its last update reply
  std::string same_state;
  {
    auto store = ReplicaStore::Open(eo);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ServerOptions o;
    o.listen = IpcEndpoint("batchreal");
    o.threads = 1;
    Server server(store->get(), o);
    ASSERT_TRUE(server.Start().ok());
    zmq::context_t ctx;
    std::optional<zmq::socket_t> c(ConnectedDealer(ctx, server));
    constexpr int kKeys = 40;
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(net::SendDealer(*c,
                                  sp::EncodeRequest(UpdateRequest(
                                      i + 1, "key" + std::to_string(i), "v" + std::to_string(i))),
                                  1000)
                      .ok());
    }
    ASSERT_TRUE(net::SendDealer(*c, sp::EncodeRequest(UpdateRequest(100, "same", "a")), 1000).ok());
    ASSERT_TRUE(net::SendDealer(*c, sp::EncodeRequest(UpdateRequest(101, "same", "b")), 1000).ok());
    std::set<uint64_t> counters;
    for (int i = 0; i < kKeys + 2; ++i) {
      auto r = Recv(*c);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_TRUE(r->ok) << r->message;
      ASSERT_TRUE(r->dot.has_value() && r->state.has_value());
      EXPECT_TRUE(counters.insert(r->dot->counter).second) << "dot counter issued twice";
      if (r->rid <= kKeys) acked["key" + std::to_string(r->rid - 1)] = *r->state;
    }
    Send(*c, "get", 200, "same");
    auto g = Recv(*c);
    ASSERT_TRUE(g.ok() && g->ok && g->state.has_value());
    auto st = version::KeyState::Decode(*g->state);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->VersionCount(), 2u) << "a blind write of the same key was lost";
    same_state = *g->state;

    // A sync carrying what the replica already has changes nothing and is still answered.
    sp::Request sync;
    sync.op = "sync";
    sync.rid = 300;
    sync.key = "same";
    sync.state = same_state;
    ASSERT_TRUE(net::SendDealer(*c, sp::EncodeRequest(sync), 1000).ok());
    auto sr = Recv(*c);
    ASSERT_TRUE(sr.ok() && sr->ok) << (sr.ok() ? sr->message : sr.status().ToString());

    Send(*c, "stats", 400);
    auto stats = Recv(*c);
    ASSERT_TRUE(stats.ok() && stats->ok);
    const uint64_t writes = stats->stats.at("inline_writes");
    const uint64_t batches = stats->stats.at("write_batches");
    std::printf("%llu frontend writes in %llu batches\n", static_cast<unsigned long long>(writes),
                static_cast<unsigned long long>(batches));
    EXPECT_GE(writes, static_cast<uint64_t>(kKeys));
    EXPECT_LT(batches, writes) << "pipelined writes were never grouped";
    server.Stop();
  }
  auto reopened = ReplicaStore::Open(eo);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  for (const auto& [k, state] : acked) {
    auto got = (*reopened)->Get(k);
    ASSERT_TRUE(got.ok() && got->has_value()) << k;
    EXPECT_EQ(**got, state) << k;
  }
  auto got = (*reopened)->Get("same");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, same_state);
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

// A blocking client of the direct transport for tests: every wait is bounded.
class DirectClient {
 public:
  explicit DirectClient(const std::string& endpoint) {
    std::string host;
    int port = 0;
    EXPECT_TRUE(net::ParseTcpEndpoint(endpoint, &host, &port).ok());
    auto fd = net::ConnectTcp(host, port);
    EXPECT_TRUE(fd.ok()) << fd.status().ToString();
    conn_ = std::make_unique<net::FrameConn>(fd.ok() ? *fd : -1, true);
    EXPECT_TRUE(Wait(POLLOUT, 3000));
    EXPECT_TRUE(conn_->FinishConnect().ok());
  }
  // Sends raw bytes, bypassing the framing (for garbage).
  void SendRaw(std::string_view bytes) {
    ASSERT_EQ(::send(conn_->fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void Send(std::string_view body) {
    ASSERT_TRUE(conn_->Queue(body));
    while (conn_->WantsWrite()) {
      ASSERT_TRUE(conn_->Flush().ok());
      if (conn_->WantsWrite()) {
        ASSERT_TRUE(Wait(POLLOUT, 3000));
      }
    }
  }
  void Send(const sp::Request& r) { Send(sp::EncodeRequest(r)); }
  // The next reply; Timeout when none came, Unavailable once the server closed the connection.
  Result<sp::Reply> Recv(int timeout_ms = 3000) {
    const int64_t deadline = net::NowMs() + timeout_ms;
    while (got_.empty()) {
      if (closed_) return Status::Unavailable("closed by the server");
      const int64_t left = deadline - net::NowMs();
      if (left <= 0 || !Wait(POLLIN, static_cast<int>(left))) return Status::Timeout("no reply");
      Status s = conn_->Read([&](std::string_view body) { got_.emplace_back(body); });
      if (!s.ok()) closed_ = true;
    }
    std::string body = std::move(got_.front());
    got_.erase(got_.begin());
    return sp::DecodeReply(body);
  }

 private:
  bool Wait(short events, int timeout_ms) {
    pollfd p{conn_->fd(), events, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }
  std::unique_ptr<net::FrameConn> conn_;
  std::vector<std::string> got_;
  bool closed_ = false;
};

sp::Request Op(const std::string& op, uint64_t rid, const std::string& key = "") {
  sp::Request r;
  r.op = op;
  r.rid = rid;
  r.key = key;
  return r;
}

// A ping over a fresh DEALER on the harness's ROUTER.
Result<sp::Reply> RouterPing(Harness& h) {
  auto dealer = h.Dealer();
  Send(dealer, "ping", 1);
  return Recv(dealer);
}

TEST(Server, DirectTransportServesWhatTheRouterServes) {
  Harness h("direct", 2, 16, "tcp://127.0.0.1:0");
  ASSERT_FALSE(h.server->direct_endpoint().empty());
  // The ROUTER's ping advertises the direct port.
  auto pong = RouterPing(h);
  ASSERT_TRUE(pong.ok() && pong->ok) << pong.status().ToString();
  std::string host;
  int port = 0;
  ASSERT_TRUE(net::ParseTcpEndpoint(h.server->direct_endpoint(), &host, &port).ok());
  EXPECT_EQ(pong->direct_port, static_cast<uint32_t>(port));
  ASSERT_NE(port, 0);

  DirectClient c(h.server->direct_endpoint());
  c.Send(UpdateRequest(2, "k", "v1"));  // in memory: on the frontend, in a batch
  auto up = c.Recv();
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  ASSERT_TRUE(up->ok) << up->message;
  EXPECT_EQ(up->rid, 2u);
  c.Send(GetBody(3, "k"));
  auto got = c.Recv();
  ASSERT_TRUE(got.ok() && got->ok);
  EXPECT_EQ(got->rid, 3u);
  EXPECT_EQ(got->state, up->state);
  // A scan always runs on a worker: its reply comes back over the same connection.
  sp::Request scan = Op("scan", 4);
  scan.first = 0;
  scan.last = ~Token{0};
  scan.limit = 10;
  c.Send(scan);
  auto scanned = c.Recv();
  ASSERT_TRUE(scanned.ok()) << scanned.status().ToString();
  ASSERT_TRUE(scanned->ok) << scanned->message;
  EXPECT_EQ(scanned->rid, 4u);
  ASSERT_EQ(scanned->items.size(), 1u);
  EXPECT_EQ(scanned->items[0].key, "k");
  // A malformed body gets its error on the connection, which stays open.
  c.Send(std::string("\xc1 not msgpack"));
  auto bad = c.Recv();
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->code, sp::kErrBadRequest);
  c.Send(Op("stats", 5));
  auto stats = c.Recv();
  ASSERT_TRUE(stats.ok() && stats->ok);
  EXPECT_EQ(stats->stats["direct_requests"], 5u);
  EXPECT_EQ(stats->stats["direct_connections"], 1u);
}

TEST(Server, DirectPeerSpeakingGarbageLosesOnlyItsConnection) {
  Harness h("direct-garbage", 2, 16, "tcp://127.0.0.1:0");
  DirectClient good(h.server->direct_endpoint());
  DirectClient liar(h.server->direct_endpoint());
  // A frame header announcing 1 GiB: over the limit, so the server closes that connection.
  liar.SendRaw(std::string("\x40\x00\x00\x00garbage", 11));
  auto r = liar.Recv();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  // Everyone else is still served, on both transports.
  good.Send(Op("ping", 7));
  auto pong = good.Recv();
  ASSERT_TRUE(pong.ok() && pong->ok) << pong.status().ToString();
  EXPECT_EQ(pong->rid, 7u);
  auto zpong = RouterPing(h);
  ASSERT_TRUE(zpong.ok() && zpong->ok);
}

TEST(Server, DirectConnectionClosedBeforeItsWorkerReplyIsHarmless) {
  Harness h("direct-closed", 2, 16, "tcp://127.0.0.1:0");
  {
    DirectClient c(h.server->direct_endpoint());
    c.Send(GetBody(1, "slow"));  // held by the engine on a worker
    ASSERT_TRUE(h.engine->WaitBlocked(1));
  }  // closed while its request is in flight
  DirectClient other(h.server->direct_endpoint());
  other.Send(Op("ping", 2));
  ASSERT_TRUE(other.Recv().ok());
  h.engine->Release();  // the worker's reply has no connection to go to: dropped
  other.Send(GetBody(3, "slow"));
  auto got = other.Recv();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->rid, 3u);
  EXPECT_TRUE(got->ok);
}

TEST(Server, DirectTransportOffAdvertisesNoPort) {
  Harness h("direct-off", 1, 16, "off");
  EXPECT_TRUE(h.server->direct_endpoint().empty());
  auto pong = RouterPing(h);
  ASSERT_TRUE(pong.ok() && pong->ok);
  EXPECT_EQ(pong->direct_port, 0u);
}

// An early update is answered twice: at once with its state (dur: false) while the batch's
// write is still held, then with a durable ack once it is written, or an error ack (dur: true)
// when the write fails, which then keeps nothing. Over ZeroMQ and over the direct transport.
TEST(Server, EarlyUpdateRepliesBeforeItsWriteAndAcksItAfter) {
  auto e = std::make_unique<GatedBatchEngine>();
  GatedBatchEngine* engine = e.get();
  ReplicaStore store(std::move(e), 77);
  ServerOptions o;
  o.listen = IpcEndpoint("early");
  o.direct_listen = "tcp://127.0.0.1:0";
  o.threads = 1;
  Server server(&store, o);
  ASSERT_TRUE(server.Start().ok());
  zmq::context_t ctx;
  zmq::socket_t c = ConnectedDealer(ctx, server);
  sp::Request up = UpdateRequest(1, "k", "v1");
  up.early = true;

  engine->SetGate(false);
  ASSERT_TRUE(net::SendDealer(c, sp::EncodeRequest(up), 1000).ok());
  auto first = Recv(c);
  ASSERT_TRUE(first.ok()) << "no early reply while the write is held: "
                          << first.status().ToString();
  EXPECT_EQ(first->rid, 1u);
  ASSERT_TRUE(first->ok) << first->message;
  EXPECT_EQ(first->durable, std::optional<bool>(false));
  ASSERT_TRUE(first->state.has_value() && first->dot.has_value());
  ASSERT_TRUE(engine->WaitBatches(1));
  EXPECT_EQ(Recv(c, 200).status().code(), Status::Code::kTimeout)
      << "durable ack before the write";
  engine->SetGate(true);
  auto ack = Recv(c);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->rid, 1u);
  EXPECT_TRUE(ack->ok);
  EXPECT_EQ(ack->durable, std::optional<bool>(true));
  EXPECT_FALSE(ack->state.has_value());

  // (After the slow batch above, writes run on a worker for half a second: wait that out.)
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  DirectClient d(server.direct_endpoint());
  // Without `early` a frontend update is answered once, after its write.
  d.Send(UpdateRequest(9, "k2", "v"));
  auto plain = d.Recv();
  ASSERT_TRUE(plain.ok() && plain->ok);
  EXPECT_FALSE(plain->durable.has_value());
  EXPECT_EQ(d.Recv(200).status().code(), Status::Code::kTimeout) << "a second reply";

  // A failed write: the early reply, then an error ack; the key keeps its last durable state.
  engine->SetGate(true, /*fail=*/true);
  sp::Request up2 = UpdateRequest(2, "k", "v2");
  up2.early = true;
  d.Send(up2);
  auto early2 = d.Recv();
  ASSERT_TRUE(early2.ok() && early2->ok);
  EXPECT_EQ(early2->durable, std::optional<bool>(false));
  auto failed = d.Recv();
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_EQ(failed->rid, 2u);
  EXPECT_FALSE(failed->ok);
  EXPECT_EQ(failed->code, sp::kErrIo);
  EXPECT_EQ(failed->durable, std::optional<bool>(true));
  engine->SetGate(true);
  d.Send(GetBody(3, "k"));
  auto got = d.Recv();
  ASSERT_TRUE(got.ok() && got->ok);
  EXPECT_EQ(got->state, first->state) << "a failed early write was kept";

  // Its state went to the coordinator and is gone here: this actor issues no more dots
  // (docs/versioning.md, "Actor ids"; a restart takes a new actor id).
  d.Send(UpdateRequest(4, "k2", "v"));
  auto refused = d.Recv();
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->ok) << "a dot issued after a lost early state";
  EXPECT_NE(refused->message.find("new actor id"), std::string::npos) << refused->message;
  server.Stop();
}

// A get, update or sync whose deadline is past (beyond the tolerance) is answered `expired` and
// not run, on the frontend and on a worker alike, also when it expired while queued; one within
// the tolerance, one with a future deadline and one without any run as before. Counted by op.
TEST(Server, RequestsPastTheirDeadlineAreDroppedAndCounted) {
  Harness h("deadline", 1, 16, "tcp://127.0.0.1:0", /*deadline_tolerance_ms=*/1000);
  auto c = h.Dealer();
  const uint64_t now = sp::DeadlineClockMs();
  auto run = [&](sp::Request r) {
    EXPECT_TRUE(net::SendDealer(c, sp::EncodeRequest(r), 1000).ok());
    auto reply = Recv(c);
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply.ok() ? reply->rid : 0, r.rid);
    return reply.ok() ? *reply : sp::ErrorReply(0, "no reply", "");
  };
  auto state_of = [&](const std::string& key) {
    Send(c, "get", 50, key);
    auto g = Recv(c);
    EXPECT_TRUE(g.ok() && g->ok);
    return g.ok() ? g->state : std::nullopt;
  };

  sp::Request up = UpdateRequest(1, "stale", "v");
  up.deadline_ms = now - 5000;
  sp::Reply r = run(up);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, sp::kErrExpired) << r.message;
  EXPECT_FALSE(state_of("stale").has_value()) << "an expired update was written";

  // A valid state to sync: another key's, written normally.
  r = run(UpdateRequest(2, "source", "s"));
  ASSERT_TRUE(r.ok && r.state.has_value());
  sp::Request sync;
  sync.op = "sync";
  sync.rid = 3;
  sync.key = "stale-sync";
  sync.state = *r.state;
  sync.deadline_ms = now - 5000;
  r = run(sync);
  EXPECT_EQ(r.code, sp::kErrExpired);
  EXPECT_FALSE(state_of("stale-sync").has_value()) << "an expired sync was written";

  sp::Request get;
  get.op = "get";
  get.rid = 4;
  get.key = "source";
  get.deadline_ms = now - 5000;
  EXPECT_EQ(run(get).code, sp::kErrExpired);
  // The worker's path (HandleBody) drops it too.
  auto worker = sp::DecodeReply(h.server->HandleBody(sp::EncodeRequest(up)));
  ASSERT_TRUE(worker.ok());
  EXPECT_EQ(worker->code, sp::kErrExpired);

  // Within the tolerance, in the future, or without a deadline: run.
  up.rid = 5;
  up.deadline_ms = sp::DeadlineClockMs() - 300;
  EXPECT_TRUE(run(up).ok);
  sync.rid = 6;
  sync.deadline_ms = sp::DeadlineClockMs() + 60000;
  EXPECT_TRUE(run(sync).ok);
  EXPECT_TRUE(state_of("stale-sync").has_value());
  up.rid = 7;
  up.deadline_ms = 0;
  EXPECT_TRUE(run(up).ok);

  // Expired while it waited for the (only, busy) worker.
  h.engine->SetOnDisk("cold");  // a get of it needs a worker
  Send(c, "get", 8, "slow");
  ASSERT_TRUE(h.engine->WaitBlocked(1));
  get.rid = 9;
  get.key = "cold";
  get.deadline_ms = sp::DeadlineClockMs() - 1000 + 200;  // expires (past the tolerance) in 200 ms
  ASSERT_TRUE(net::SendDealer(c, sp::EncodeRequest(get), 1000).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  h.engine->Release();
  auto first = Recv(c);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->rid, 8u);
  EXPECT_TRUE(first->ok);
  auto queued = Recv(c);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->rid, 9u);
  EXPECT_EQ(queued->code, sp::kErrExpired) << "a request that expired in the queue was run";

  // The direct transport carries the deadline too (the same body).
  DirectClient direct(h.server->direct_endpoint());
  up.rid = 11;
  up.key = "stale-direct";
  up.deadline_ms = sp::DeadlineClockMs() - 5000;
  direct.Send(up);
  auto d = direct.Recv();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->rid, 11u);
  EXPECT_EQ(d->code, sp::kErrExpired);
  EXPECT_FALSE(state_of("stale-direct").has_value());
  up.rid = 12;
  up.deadline_ms = sp::DeadlineClockMs() + 60000;
  direct.Send(up);
  d = direct.Recv();
  ASSERT_TRUE(d.ok() && d->ok) << (d.ok() ? d->message : d.status().ToString());
  EXPECT_TRUE(state_of("stale-direct").has_value());

  Send(c, "stats", 10);
  auto st = Recv(c);
  ASSERT_TRUE(st.ok() && st->ok);
  // One by the frontend, one by HandleBody, one over the direct transport.
  EXPECT_EQ(st->stats.at("expired_updates"), 3u);
  EXPECT_EQ(st->stats.at("expired_syncs"), 1u);
  EXPECT_EQ(st->stats.at("expired_gets"), 2u);
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
