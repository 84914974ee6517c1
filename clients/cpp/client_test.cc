// Unit tests of the C++ client against fake coordinators (a ROUTER in a thread): request
// encoding, reply and error mapping, Lazy Pirate failover, and Resolve.
#include "clients/cpp/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "common/msgpack_util.h"

namespace ringkv::client {
namespace {

using Clock = std::chrono::steady_clock;

// What the fake saw of one request.
struct Seen {
  std::string op, key, value, ctx;
  std::string r, w, consistency;  // ints rendered as decimal, strings as they are
  int64_t timeout_ms = -1;
  bool has_ctx = false;
};

std::string FieldText(const mp::MapView& m, const char* name) {
  const msgpack::object* o = m.Find(name);
  if (!o) return "";
  if (o->type == msgpack::type::POSITIVE_INTEGER) return std::to_string(o->via.u64);
  auto b = mp::AsBytes(*o);
  return b ? std::string(*b) : "?";
}

// The reply a handler builds: a map written by `body`, with v, ok and the echoed id added.
struct ReplySpec {
  bool ok = true;
  std::string error_code, error_message;
  std::function<void(mp::Packer&, uint32_t*)> extra;  // packs extra fields, counts them
  std::string raw;     // when non-empty, sent as the body instead of a map
  bool drop = false;   // send nothing
};

// A fake coordinator: a ROUTER bound on a free port of 22900-22999, answering in its thread.
class FakeCoordinator {
 public:
  using Handler = std::function<ReplySpec(const Seen&)>;

  explicit FakeCoordinator(Handler h) : handler_(std::move(h)), socket_(ctx_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    for (int port = 22900; port < 23000; ++port) {
      try {
        endpoint_ = "tcp://127.0.0.1:" + std::to_string(port);
        socket_.bind(endpoint_);
        break;
      } catch (const zmq::error_t&) {
        endpoint_.clear();
      }
    }
    if (endpoint_.empty()) throw std::runtime_error("no free port in 22900-22999");
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeCoordinator() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  int requests() const { return requests_; }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  void Run() {
    while (!stop_) {
      zmq::pollitem_t items[] = {{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(20));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      do {
        frames.emplace_back();
        (void)socket_.recv(frames.back(), zmq::recv_flags::none);
      } while (frames.back().more());
      ++requests_;
      const zmq::message_t& body = frames.back();
      auto decoded = mp::Decode(std::string_view(static_cast<const char*>(body.data()), body.size()));
      ASSERT_TRUE(decoded.ok());
      auto m = mp::MapView::Of(decoded->root());
      ASSERT_TRUE(m.ok());
      Seen s;
      s.op = FieldText(*m, "op");
      s.key = FieldText(*m, "key");
      s.value = FieldText(*m, "value");
      s.has_ctx = m->Find("ctx") != nullptr;
      s.ctx = FieldText(*m, "ctx");
      s.r = FieldText(*m, "r");
      s.w = FieldText(*m, "w");
      s.consistency = FieldText(*m, "consistency");
      auto t = m->Int("timeout_ms");
      if (t.ok() && t.value()) s.timeout_ms = *t.value();
      // Keys and values go out as bin.
      if (const auto* k = m->Find("key")) {
        EXPECT_EQ(k->type, msgpack::type::BIN);
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(s);
      }
      ReplySpec spec = handler_(s);
      if (spec.drop) continue;
      std::string out = spec.raw;
      if (out.empty()) {
        mp::Buffer extra_buf;
        mp::Packer extra(extra_buf);
        uint32_t n_extra = 0;
        if (spec.extra) spec.extra(extra, &n_extra);
        mp::Buffer buf;
        mp::Packer p(buf);
        const msgpack::object* id = m->Find("id");
        p.pack_map(2 + (id ? 1 : 0) + (spec.ok ? 0 : 1) + n_extra);
        mp::PackStr(p, "v");
        p.pack(1);
        mp::PackStr(p, "ok");
        p.pack(spec.ok);
        if (id) {
          mp::PackStr(p, "id");
          mp::PackObject(p, *id);
        }
        if (!spec.ok) {
          mp::PackStr(p, "error");
          p.pack_map(2);
          mp::PackStr(p, "code");
          mp::PackStr(p, spec.error_code);
          mp::PackStr(p, "message");
          mp::PackStr(p, spec.error_message);
        }
        out.assign(buf.data(), buf.size());
        out.append(extra_buf.data(), extra_buf.size());
      }
      for (size_t i = 0; i + 1 < frames.size(); ++i) socket_.send(frames[i], zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(out), zmq::send_flags::none);
    }
  }

  Handler handler_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<Seen> seen_;
};

// Replies to a get with these values and ctx.
ReplySpec GetReply(std::vector<std::string> values, std::string ctx) {
  ReplySpec r;
  r.extra = [values, ctx](mp::Packer& p, uint32_t* n) {
    *n = 4;
    mp::PackStr(p, "found");
    p.pack(!values.empty());
    mp::PackStr(p, "values");
    p.pack_array(static_cast<uint32_t>(values.size()));
    for (const auto& v : values) mp::PackBin(p, v);
    mp::PackStr(p, "ctx");
    mp::PackBin(p, ctx);
    mp::PackStr(p, "acks");
    p.pack(2);
  };
  return r;
}

ReplySpec WriteReply(std::string ctx) {
  ReplySpec r;
  r.extra = [ctx](mp::Packer& p, uint32_t* n) {
    *n = 2;
    mp::PackStr(p, "ctx");
    mp::PackBin(p, ctx);
    mp::PackStr(p, "acks");
    p.pack(3);
  };
  return r;
}

TEST(ClientTest, GetPutDeleteEncodeAndDecode) {
  FakeCoordinator fake([](const Seen& s) {
    if (s.op == "get") return GetReply({"v1", "v2"}, "CTX");
    if (s.op == "put" || s.op == "delete") return WriteReply("CTX2");
    return ReplySpec{};
  });
  Options o;
  o.endpoints = {fake.endpoint()};
  o.timeout_ms = 1500;
  o.r = "2";
  o.w = "quorum";
  o.consistency = "strong";
  Client c(o);
  Error err;
  auto g = c.Get("k", &err);
  ASSERT_TRUE(g.has_value()) << err.message;
  EXPECT_FALSE(err);
  EXPECT_TRUE(g->found);
  EXPECT_EQ(g->values, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(g->ctx, "CTX");
  EXPECT_EQ(g->acks, 2);

  auto p = c.Put("k", std::string("a\0b", 3), g->ctx, &err);
  ASSERT_TRUE(p.has_value()) << err.message;
  EXPECT_EQ(p->ctx, "CTX2");
  EXPECT_EQ(p->acks, 3);

  auto blind = c.Put("k", "x", "", &err);
  ASSERT_TRUE(blind.has_value());
  auto d = c.Delete("k", "", &err);
  ASSERT_TRUE(d.has_value());

  auto seen = fake.seen();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].op, "get");
  EXPECT_EQ(seen[0].key, "k");
  EXPECT_EQ(seen[0].r, "2");  // a number goes out as an integer
  EXPECT_EQ(seen[0].w, "");
  EXPECT_EQ(seen[0].consistency, "strong");
  EXPECT_EQ(seen[0].timeout_ms, 1500);
  EXPECT_EQ(seen[1].op, "put");
  EXPECT_EQ(seen[1].value, std::string("a\0b", 3));
  EXPECT_EQ(seen[1].ctx, "CTX");
  EXPECT_EQ(seen[1].w, "quorum");
  EXPECT_EQ(seen[1].r, "");
  EXPECT_FALSE(seen[2].has_ctx);  // blind put: no ctx field at all
  EXPECT_EQ(seen[3].op, "delete");
  EXPECT_FALSE(seen[3].has_ctx);
}

TEST(ClientTest, PingAndStatus) {
  FakeCoordinator fake([](const Seen& s) {
    ReplySpec r;
    if (s.op == "ping") {
      r.extra = [](mp::Packer& p, uint32_t* n) {
        *n = 1;
        mp::PackStr(p, "node");
        mp::PackStr(p, "n7");
      };
    } else {
      r.extra = [](mp::Packer& p, uint32_t* n) {
        *n = 6;
        mp::PackStr(p, "node");
        mp::PackStr(p, "n1");
        mp::PackStr(p, "dc");
        mp::PackStr(p, "dc1");
        mp::PackStr(p, "n");
        p.pack(3);
        mp::PackStr(p, "max_item_bytes");
        p.pack(10240);
        mp::PackStr(p, "max_siblings");
        p.pack(64);
        mp::PackStr(p, "members");
        p.pack_array(2);
        for (const char* id : {"n1", "n2"}) {
          p.pack_map(4);
          mp::PackStr(p, "node");
          mp::PackStr(p, id);
          mp::PackStr(p, "dc");
          mp::PackStr(p, "dc1");
          mp::PackStr(p, "state");
          mp::PackStr(p, "normal");
          mp::PackStr(p, "client_endpoint");
          mp::PackStr(p, std::string("tcp://x/") + id);
        }
      };
    }
    return r;
  });
  Client c(Options{.endpoints = {fake.endpoint()}});
  Error err;
  auto node = c.Ping(&err);
  ASSERT_TRUE(node.has_value()) << err.message;
  EXPECT_EQ(*node, "n7");
  auto st = c.Status(&err);
  ASSERT_TRUE(st.has_value()) << err.message;
  EXPECT_EQ(st->node, "n1");
  EXPECT_EQ(st->n, 3);
  EXPECT_EQ(st->max_item_bytes, 10240);
  EXPECT_EQ(st->max_siblings, 64);
  ASSERT_EQ(st->members.size(), 2u);
  EXPECT_EQ(st->members[1].node, "n2");
  EXPECT_EQ(st->members[1].state, "normal");
  EXPECT_EQ(st->members[1].client_endpoint, "tcp://x/n2");
}

TEST(ClientTest, ErrorCodesMapToTypedErrors) {
  const std::pair<const char*, ErrorCode> cases[] = {
      {"bad_request", ErrorCode::kBadRequest},
      {"too_large", ErrorCode::kTooLarge},
      {"unsupported_version", ErrorCode::kUnsupportedVersion},
      {"unknown_op", ErrorCode::kUnknownOp},
      {"too_many_siblings", ErrorCode::kTooManySiblings},
      {"unavailable", ErrorCode::kUnavailable},
      {"timeout", ErrorCode::kTimeout},
      {"internal", ErrorCode::kInternal},
      {"something_new", ErrorCode::kInternal},
  };
  // The case the fake answers with: an atomic, not a string both threads touch (the request
  // that follows orders them, but through libzmq, which ThreadSanitizer cannot see).
  std::atomic<size_t> current{0};
  FakeCoordinator fake([&cases, &current](const Seen&) {
    const std::string code = cases[current.load()].first;
    ReplySpec r;
    r.ok = false;
    r.error_code = code;
    r.error_message = "because " + code;
    return r;
  });
  Client c(Options{.endpoints = {fake.endpoint()}});
  for (size_t i = 0; i < std::size(cases); ++i) {
    const auto& [name, expected] = cases[i];
    const std::string code = name;
    current = i;
    Error err;
    EXPECT_FALSE(c.Put("k", "v", "", &err).has_value());
    EXPECT_EQ(err.code, expected) << name;
    EXPECT_NE(err.message.find("because " + code), std::string::npos) << err.message;
    if (expected != ErrorCode::kInternal || code == "internal") {
      EXPECT_STREQ(ErrorCodeName(expected), name);
    }
  }
  // Server errors are answers, not lost replies: each was asked exactly once.
  EXPECT_EQ(fake.requests(), static_cast<int>(std::size(cases)));
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kTransport), "transport");
}

TEST(ClientTest, MalformedReplyIsInternal) {
  FakeCoordinator fake([](const Seen&) {
    ReplySpec r;
    r.raw = "\xc1 not msgpack";
    return r;
  });
  Client c(Options{.endpoints = {fake.endpoint()}});
  Error err;
  EXPECT_FALSE(c.Get("k", &err).has_value());
  EXPECT_EQ(err.code, ErrorCode::kInternal);
  EXPECT_NE(err.message.find("malformed reply"), std::string::npos);
}

TEST(ClientTest, FailsOverWhenACoordinatorDoesNotAnswer) {
  FakeCoordinator silent([](const Seen&) { return ReplySpec{.drop = true}; });
  FakeCoordinator good([](const Seen& s) {
    ReplySpec r;
    if (s.op == "ping") {
      r.extra = [](mp::Packer& p, uint32_t* n) {
        *n = 1;
        mp::PackStr(p, "node");
        mp::PackStr(p, "good");
      };
    }
    return r;
  });
  Options o;
  o.endpoints = {silent.endpoint(), good.endpoint()};
  o.timeout_ms = 200;
  Client c(o);
  Error err;
  auto start = Clock::now();
  auto node = c.Ping(&err);
  ASSERT_TRUE(node.has_value()) << err.message;
  EXPECT_EQ(*node, "good");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_EQ(silent.requests(), 1);
  EXPECT_EQ(c.current_endpoint(), good.endpoint());
  // The next call goes straight to the coordinator that answered.
  start = Clock::now();
  ASSERT_TRUE(c.Ping(&err).has_value());
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_EQ(silent.requests(), 1);
}

TEST(ClientTest, FailsOverPastAnEndpointWithNothingListening) {
  FakeCoordinator good([](const Seen&) { return GetReply({}, ""); });
  Options o;
  o.endpoints = {"tcp://127.0.0.1:22899", good.endpoint()};  // nothing is bound on 22899
  o.timeout_ms = 150;
  Client c(o);
  Error err;
  auto g = c.Get("k", &err);
  ASSERT_TRUE(g.has_value()) << err.message;
  EXPECT_FALSE(g->found);
  EXPECT_TRUE(g->values.empty());
}

TEST(ClientTest, TransportErrorAfterRetries) {
  FakeCoordinator silent([](const Seen&) { return ReplySpec{.drop = true}; });
  Options o;
  o.endpoints = {silent.endpoint(), "tcp://127.0.0.1:22899"};
  o.timeout_ms = 100;
  o.retries = 3;
  Client c(o);
  Error err;
  auto start = Clock::now();
  EXPECT_FALSE(c.Get("k", &err).has_value());
  auto took = Clock::now() - start;
  EXPECT_EQ(err.code, ErrorCode::kTransport);
  EXPECT_NE(err.message.find("no coordinator answered"), std::string::npos) << err.message;
  // Three attempts of 100 ms + slack each, and no more.
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
  EXPECT_EQ(silent.requests(), 2);  // endpoints 1, 2, 1
  // The client still works once a coordinator answers: a fresh socket each time.
  FakeCoordinator good([](const Seen&) { return ReplySpec{}; });
  Client c2(Options{.endpoints = {good.endpoint()}});
  EXPECT_TRUE(c2.Put("k", "v", "", &err).has_value());
}

TEST(ClientTest, MalformedEndpointFailsAtOnce) {
  Client c(Options{.endpoints = {"not-an-endpoint"}});
  Error err;
  EXPECT_FALSE(c.Ping(&err).has_value());
  EXPECT_EQ(err.code, ErrorCode::kTransport);
  EXPECT_NE(err.message.find("cannot use endpoint 'not-an-endpoint'"), std::string::npos) << err.message;
}

TEST(ClientTest, NoEndpointsIsATransportError) {
  Client c(Options{});
  Error err;
  EXPECT_FALSE(c.Ping(&err).has_value());
  EXPECT_EQ(err.code, ErrorCode::kTransport);
}

TEST(ClientTest, ResolveMergesSiblingsAndWritesBackWithTheCtx) {
  FakeCoordinator fake([](const Seen& s) {
    if (s.op == "get") return GetReply({"b", "a"}, "READCTX");
    return WriteReply("NEWCTX");
  });
  Client c(Options{.endpoints = {fake.endpoint()}});
  Error err;
  auto merged = c.Resolve("k", [](const std::vector<std::string>& vs) {
    std::string out;
    for (const auto& v : vs) out += v;
    return out;
  }, &err);
  ASSERT_TRUE(merged.has_value()) << err.message;
  EXPECT_EQ(*merged, "ba");
  auto seen = fake.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].op, "put");
  EXPECT_EQ(seen[1].value, "ba");
  EXPECT_EQ(seen[1].ctx, "READCTX");
}

TEST(ClientTest, ResolveOfASingleValueOrAbsentKeyWritesNothing) {
  // Which answer the fake gives: an atomic, not a vector both threads touch (the request that
  // follows orders them, but through libzmq, which ThreadSanitizer cannot see).
  std::atomic<bool> absent{false};
  FakeCoordinator fake([&absent](const Seen&) {
    return GetReply(absent ? std::vector<std::string>{} : std::vector<std::string>{"only"}, "C");
  });
  Client c(Options{.endpoints = {fake.endpoint()}});
  Error err;
  int calls = 0;
  auto merge = [&calls](const std::vector<std::string>& vs) { ++calls; return vs[0]; };
  auto v = c.Resolve("k", merge, &err);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "only");
  absent = true;
  v = c.Resolve("k", merge, &err);
  EXPECT_FALSE(v.has_value());
  EXPECT_FALSE(err);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(fake.requests(), 2);
}

TEST(ClientTest, SharedContext) {
  zmq::context_t ctx(1);
  FakeCoordinator fake([](const Seen&) { return ReplySpec{}; });
  Options o{.endpoints = {fake.endpoint()}, .context = &ctx};
  Client a(o), b(o);
  Error err;
  EXPECT_TRUE(a.Put("k", "1", "", &err).has_value());
  EXPECT_TRUE(b.Put("k", "2", "", &err).has_value());
}

}  // namespace
}  // namespace ringkv::client
