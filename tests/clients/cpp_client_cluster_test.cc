// The C++ client against a real 3-node cluster started with ringkv-local (ports 22400-22429):
// put/get/delete, siblings and Resolve, typed server errors, failover when a coordinator is
// SIGKILLed, and `unavailable` for w=all while a storage agent is down.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "clients/cpp/client.h"

namespace ringkv::client {
namespace {

std::string BinDir() {
  const char* b = std::getenv("RINGKV_BIN");
  return b && *b ? b : "build/bin";
}

// Runs a shell command; returns its exit status and fills *out with its standard output.
int Shell(const std::string& cmd, std::string* out = nullptr) {
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  int st = pclose(f);
  if (out) *out = text;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/ringkv-cpp-client-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string out;
    int rc = Shell(Local("up --nodes 3 --base-port 22400"), &out);
    ASSERT_EQ(rc, 0) << "ringkv-local up failed; see " << dir_;
    std::istringstream in(out);
    for (std::string ep; in >> ep;) endpoints_.push_back(ep);
    ASSERT_EQ(endpoints_.size(), 3u);
  }
  static void TearDownTestSuite() {
    Shell(Local("down") + " 2>/dev/null");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static std::string Local(const std::string& args) {
    return BinDir() + "/ringkv-local " + args + " --dir " + dir_;
  }
  static Options Opts(std::vector<std::string> eps = endpoints_) {
    Options o;
    o.endpoints = std::move(eps);
    o.timeout_ms = 1000;
    return o;
  }

  static std::string dir_;
  static std::vector<std::string> endpoints_;
};
std::string ClusterTest::dir_;
std::vector<std::string> ClusterTest::endpoints_;

TEST_F(ClusterTest, PutGetDelete) {
  Client c(Opts());
  Error err;
  auto g = c.Get("cpp-k", &err);
  ASSERT_TRUE(g) << err.message;
  EXPECT_FALSE(g->found);
  auto p = c.Put("cpp-k", "v1", g->ctx, &err);
  ASSERT_TRUE(p) << err.message;
  EXPECT_GE(p->acks, 2);
  // Through every coordinator.
  for (const auto& ep : endpoints_) {
    Client other(Opts({ep}));
    auto g2 = other.Get("cpp-k", &err);
    ASSERT_TRUE(g2) << err.message;
    EXPECT_EQ(g2->values, std::vector<std::string>{"v1"});
  }
  g = c.Get("cpp-k", &err);
  ASSERT_TRUE(c.Put("cpp-k", std::string("v\0two", 5), g->ctx, &err));
  g = c.Get("cpp-k", &err);
  EXPECT_EQ(g->values, std::vector<std::string>{std::string("v\0two", 5)});
  ASSERT_TRUE(c.Delete("cpp-k", "", &err)) << err.message;
  g = c.Get("cpp-k", &err);
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->found);
  EXPECT_TRUE(g->values.empty());
}

TEST_F(ClusterTest, SiblingsAndResolve) {
  Client a(Opts({endpoints_[0]})), b(Opts({endpoints_[2]}));
  Error err;
  ASSERT_TRUE(a.Put("cpp-sib", "x", "", &err));
  ASSERT_TRUE(b.Put("cpp-sib", "y", "", &err));
  auto g = a.Get("cpp-sib", &err);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->values.size(), 2u);
  auto merged = b.Resolve("cpp-sib", [](const std::vector<std::string>& vs) {
    return std::max(vs[0], vs[1]);
  }, &err);
  ASSERT_TRUE(merged) << err.message;
  EXPECT_EQ(*merged, "y");
  g = a.Get("cpp-sib", &err);
  EXPECT_EQ(g->values, std::vector<std::string>{"y"});
}

TEST_F(ClusterTest, ServerErrorsAreTyped) {
  Options o = Opts();
  o.r = "bogus";
  Client bad_r(o);
  Error err;
  EXPECT_FALSE(bad_r.Get("k", &err));
  EXPECT_EQ(err.code, ErrorCode::kBadRequest);
  Client c(Opts());
  EXPECT_FALSE(c.Put("k", std::string(10240, 'x'), "", &err));
  EXPECT_EQ(err.code, ErrorCode::kTooLarge);
  EXPECT_FALSE(c.Get(std::string(1025, 'k'), &err));
  EXPECT_EQ(err.code, ErrorCode::kBadRequest);
  o = Opts();
  o.consistency = "strong";
  o.r = "1";
  o.w = "1";
  Client weak(o);
  EXPECT_FALSE(weak.Get("k", &err));
  EXPECT_EQ(err.code, ErrorCode::kBadRequest);
  auto st = c.Status(&err);
  ASSERT_TRUE(st) << err.message;
  EXPECT_EQ(st->n, 3);
  EXPECT_EQ(st->members.size(), 3u);
}

// Runs last (gtest keeps file order): it kills agents, then restarts them.
TEST_F(ClusterTest, ZFailoverAndUnavailable) {
  Client c(Opts());
  Error err;
  ASSERT_TRUE(c.Put("cpp-fo", "v", "", &err)) << err.message;
  ASSERT_EQ(Shell(Local("kill n1 coordinator")), 0);
  auto g = c.Get("cpp-fo", &err);
  ASSERT_TRUE(g) << err.message;
  EXPECT_EQ(g->values, std::vector<std::string>{"v"});
  EXPECT_EQ(c.current_endpoint(), endpoints_[1]);

  ASSERT_EQ(Shell(Local("kill n3 storage")), 0);
  Options o = Opts({endpoints_[1]});
  o.w = "2";
  Client w2(o);
  EXPECT_TRUE(w2.Put("cpp-fo", "w2", "", &err)) << err.message;
  o.w = "all";
  Client wall(o);
  EXPECT_FALSE(wall.Put("cpp-fo", "wall", "", &err));  // at most one deadline to notice
  EXPECT_TRUE(err.code == ErrorCode::kUnavailable || err.code == ErrorCode::kTimeout)
      << ErrorCodeName(err.code);
  EXPECT_FALSE(wall.Put("cpp-fo", "wall", "", &err));
  EXPECT_EQ(err.code, ErrorCode::kUnavailable) << err.message;
  EXPECT_EQ(Shell(Local("start n3 storage") + " 2>/dev/null"), 0);
  EXPECT_EQ(Shell(Local("start n1 coordinator") + " 2>/dev/null"), 0);
}

}  // namespace
}  // namespace ringkv::client
