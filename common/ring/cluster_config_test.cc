// Tests of the static membership options: flags, config files and validation errors.
#include "common/ring/cluster_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/options.h"

namespace ringkv {
namespace {

std::string Spec(int i, const std::string& dc = "dc1", const std::string& rack = "rack1") {
  const int port = 24000 + 10 * i;
  auto ep = [](int p) { return "tcp://127.0.0.1:" + std::to_string(p); };
  return "id=n" + std::to_string(i) + ",dc=" + dc + ",rack=" + rack + ",client=" + ep(port) +
         ",storage=" + ep(port + 1) + ",gossip=" + ep(port + 2);
}

// Runs ParseProgramOptions over `args` with the cluster options registered.
Result<ClusterConfig> FromArgs(std::vector<std::string> args, int* exit_code = nullptr) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  po::options_description desc("test");
  AddClusterOptions(desc);
  po::variables_map vm;
  auto rc = ParseProgramOptions(static_cast<int>(argv.size()), argv.data(), "prog", "prog", desc,
                                vm);
  if (rc) {
    if (exit_code) *exit_code = *rc;
    return Status::InvalidArgument("option parsing failed");
  }
  return ClusterConfigFromOptions(vm);
}

TEST(ClusterConfig, RepeatedNodeFlags) {
  auto cfg = FromArgs({"--node-id", "n2", "--node", Spec(1), "--node", Spec(2), "--node",
                       Spec(3)});
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->nodes.size(), 3u);
  EXPECT_EQ(cfg->nodes[0].id, "n1");
  EXPECT_EQ(cfg->nodes[2].id, "n3");
  EXPECT_EQ(cfg->self().id, "n2");
  EXPECT_EQ(cfg->self().client_endpoint, "tcp://127.0.0.1:24020");
  EXPECT_EQ(cfg->replication.ToString(), "dc1:3");  // default "3"
  auto ring = cfg->BuildRing();
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(ring->PreferenceList(TokenOf("k")).size(), 3u);
}

TEST(ClusterConfig, BareReplicationMeansTheOnlyDataCenter) {
  auto cfg = FromArgs({"--node-id", "n1", "--node", Spec(1, "east"), "--node", Spec(2, "east"),
                       "--replication", "2"});
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->replication.ToString(), "east:2");
}

TEST(ClusterConfig, ConfigFileNodeLines) {
  char path[] = "/tmp/ringkv_cluster_config_testXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "node-id = n3\n"
        << "replication = dc1:2,dc2:1\n"
        << "node = " << Spec(1, "dc1", "r1") << "\n"
        << "node = " << Spec(2, "dc1", "r2") << "\n"
        << "node = " << Spec(3, "dc2", "r1") << "\n";
  }
  auto cfg = FromArgs({"--config", path});
  std::remove(path);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->nodes.size(), 3u);
  EXPECT_EQ(cfg->self().dc, "dc2");
  EXPECT_EQ(cfg->replication.ToString(), "dc1:2,dc2:1");
}

TEST(ClusterConfig, CommandLineNodesReplaceConfigFileNodes) {
  char path[] = "/tmp/ringkv_cluster_config_testXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "node = " << Spec(7) << "\nnode = " << Spec(8) << "\n";
  }
  auto cfg = FromArgs({"--config", path, "--node-id", "n1", "--node", Spec(1)});
  std::remove(path);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->nodes.size(), 1u) << "flags win over the config file";
  EXPECT_EQ(cfg->nodes[0].id, "n1");
}

TEST(ClusterConfig, ValidationErrors) {
  struct Case {
    std::string node_id;
    std::vector<std::string> specs;
    std::string replication;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"n1", {}, "3", "no --node"},
      {"", {Spec(1)}, "3", "--node-id is required"},
      {"n9", {Spec(1), Spec(2)}, "3", "'n9' is not one of"},
      {"n1", {Spec(1), Spec(1)}, "3", "'n1' is listed twice"},
      {"n1", {Spec(1), "id=n2,client=tcp://a:1,storage=tcp://a:2"}, "3", "missing gossip"},
      {"n1", {Spec(1), "id=n2,colour=red"}, "3", "unknown field 'colour'"},
      {"n1",
       {Spec(1), "id=n2,client=tcp://127.0.0.1:24010,storage=tcp://b:1,gossip=tcp://b:2"},
       "3",
       "used twice"},
      {"n1", {Spec(1, "dc1"), Spec(2, "dc2")}, "3", "several data centers"},
      {"n1", {Spec(1, "dc1"), Spec(2, "dc2")}, "dc1:1,dc3:1", "'dc3'"},
      {"n1", {Spec(1)}, "zero", "--replication 'zero'"},
      {"n1", {Spec(1)}, "0", "'0'"},
  };
  for (const Case& c : cases) {
    auto cfg = ValidateClusterConfig(c.node_id, c.specs, c.replication);
    ASSERT_FALSE(cfg.ok()) << c.needle;
    EXPECT_EQ(cfg.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(cfg.status().message().find(c.needle), std::string::npos)
        << "want '" << c.needle << "' in: " << cfg.status().message();
  }
}

TEST(ClusterConfig, RequirementsCanBeRelaxed) {
  ClusterRequirements loose;
  loose.need_node_id = false;
  loose.need_endpoints = false;
  auto cfg = ValidateClusterConfig("", {"id=a", "id=b"}, "2", loose);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->nodes.size(), 2u);
}

TEST(ClusterConfig, BadOptionValueExitsWithTwo) {
  int code = -1;
  auto cfg = FromArgs({"--node"}, &code);  // missing argument
  EXPECT_FALSE(cfg.ok());
  EXPECT_EQ(code, 2);
}

}  // namespace
}  // namespace ringkv
