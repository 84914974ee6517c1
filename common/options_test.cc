// Tests of ProgramOptions: where each value came from, the one-line errors that name the option
// and its value, unknown keys in a config file, negative unsigned values, --print-config and
// the start-up probes run by Finish; and the value parsers shared by the programs (sizes,
// durations).
#include "common/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

namespace ringkv {
namespace {

class ProgramOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ringkv-options-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteConfig(const std::string& text) {
    const std::string path = (dir_ / "test.conf").string();
    std::ofstream(path) << text;
    return path;
  }

  // A program with a few options of the kinds the agents use.
  std::unique_ptr<ProgramOptions> Make() {
    auto p = std::make_unique<ProgramOptions>("ringkv-test", "ringkv-test [options]");
    p->options().add_options()
        ("listen", po::value<std::string>()->default_value("tcp://127.0.0.1:29590"), "endpoint")
        ("threads", po::value<int>()->default_value(8), "threads")
        ("max-bytes", po::value<uint64_t>()->default_value(10240), "bytes")
        ("node", po::value<std::vector<std::string>>(), "repeatable")
        ("node-id", po::value<std::string>(), "no default");
    return p;
  }

  // Parses `args` (argv[0] added); captures stderr and stdout.
  std::optional<int> Parse(ProgramOptions& p, std::vector<std::string> args) {
    args.insert(args.begin(), "ringkv-test");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    auto rc = p.Parse(static_cast<int>(argv.size()), argv.data());
    err_ = ::testing::internal::GetCapturedStderr();
    out_ = ::testing::internal::GetCapturedStdout();
    return rc;
  }

  std::filesystem::path dir_;
  std::string err_, out_;
};

TEST_F(ProgramOptionsTest, OriginOfEveryValue) {
  const std::string path = WriteConfig("threads = 4\nmax-bytes = 99\nnode = a\nnode = b\n");
  auto p = Make();
  ASSERT_FALSE(Parse(*p, {"--config", path, "--max-bytes", "7"}).has_value()) << err_;
  EXPECT_EQ(p->Origin("listen"), "default");
  EXPECT_EQ(p->Origin("threads"), "config file " + path);
  EXPECT_EQ(p->Origin("max-bytes"), "command line");  // the command line wins
  EXPECT_EQ(p->vm()["max-bytes"].as<uint64_t>(), 7u);
  EXPECT_EQ(p->Origin("node-id"), "unset");
  EXPECT_EQ(p->ValueText("node"), "a, b");
  const std::string cfg = p->EffectiveConfig();
  EXPECT_NE(cfg.find("threads = 4"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("# config file " + path), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("node = a"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("node = b"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("# node-id is not set"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("log-level = info"), std::string::npos) << cfg;
  EXPECT_EQ(cfg.find("print-config ="), std::string::npos) << cfg;
}

TEST_F(ProgramOptionsTest, DerivedValueIsPrintedWithItsOrigin) {
  auto p = Make();
  ASSERT_FALSE(Parse(*p, {"--listen", ""}).has_value());
  p->NoteDerived("listen", "tcp://127.0.0.1:29592", "this node's client= endpoint");
  p->NoteDerived("threads", "99", "ignored: threads has a value");
  const std::string cfg = p->EffectiveConfig();
  EXPECT_NE(cfg.find("listen = tcp://127.0.0.1:29592"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("# this node's client= endpoint"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("threads = 8 "), std::string::npos) << cfg;
}

TEST_F(ProgramOptionsTest, PrintedConfigIsAValidConfigFile) {
  const std::string path = WriteConfig("threads = 4\nnode = a\nnode = b\n");
  auto p = Make();
  ASSERT_FALSE(Parse(*p, {"--config", path, "--listen", "tcp://127.0.0.1:29591"}).has_value());
  const std::string again = WriteConfig(p->EffectiveConfig());
  auto q = Make();
  ASSERT_FALSE(Parse(*q, {"--config", again}).has_value()) << err_;
  EXPECT_EQ(q->vm()["threads"].as<int>(), 4);
  EXPECT_EQ(q->ValueText("listen"), "tcp://127.0.0.1:29591");
  EXPECT_EQ(q->ValueText("node"), "a, b");
}

TEST_F(ProgramOptionsTest, UnknownKeyInConfigFileIsOneLineNamingItAndTheFile) {
  const std::string path = WriteConfig("threads = 4\nthreadz = 5\n");
  auto p = Make();
  EXPECT_EQ(Parse(*p, {"--config", path}), 2);
  EXPECT_EQ(err_, "ringkv-test: unknown option 'threadz' (threadz = 5) in config file " + path +
                      "\n");
}

TEST_F(ProgramOptionsTest, UnknownFlagAndBadTypeAreRefused) {
  auto p = Make();
  EXPECT_EQ(Parse(*p, {"--threadz", "5"}), 2);
  EXPECT_NE(err_.find("threadz"), std::string::npos) << err_;
  auto q = Make();
  const std::string path = WriteConfig("threads = many\n");
  EXPECT_EQ(Parse(*q, {"--config", path}), 2);
  EXPECT_NE(err_.find("many"), std::string::npos) << err_;
  EXPECT_NE(err_.find("threads"), std::string::npos) << err_;
  EXPECT_NE(err_.find(path), std::string::npos) << err_;
  EXPECT_EQ(std::count(err_.begin(), err_.end(), '\n'), 1) << err_;
}

TEST_F(ProgramOptionsTest, CommandOnlyOptionsAreRefusedInAFile) {
  const std::string path = WriteConfig("print-config = 1\n");
  auto p = Make();
  EXPECT_EQ(Parse(*p, {"--config", path}), 2);
  EXPECT_NE(err_.find("print-config"), std::string::npos) << err_;
}

TEST_F(ProgramOptionsTest, NegativeUnsignedIsRefusedNotWrapped) {
  const std::string path = WriteConfig("max-bytes = -1\n");
  auto p = Make();
  EXPECT_EQ(Parse(*p, {"--config", path}), 2);
  EXPECT_EQ(err_, "ringkv-test: --max-bytes must not be negative (max-bytes = -1 from config file " +
                      path + ")\n");
  auto q = Make();
  EXPECT_EQ(Parse(*q, {"--max-bytes=-5"}), 2);
  EXPECT_NE(err_.find("-5"), std::string::npos) << err_;
}

TEST_F(ProgramOptionsTest, FailNamesTheOptionItsValueAndOrigin) {
  const std::string path = WriteConfig("threads = 0\n");
  auto p = Make();
  ASSERT_FALSE(Parse(*p, {"--config", path}).has_value());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(p->Fail("--threads must be 1..256"), 2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "ringkv-test: --threads must be 1..256 (threads = 0 from config file " + path + ")\n");
  ::testing::internal::CaptureStderr();
  p->Fail("--node-id is required");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "ringkv-test: --node-id is required (node-id is not set)\n");
  // A message that quotes the value already only gains the origin.
  ::testing::internal::CaptureStderr();
  p->Fail("--listen 'tcp://127.0.0.1:29590': no");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "ringkv-test: --listen 'tcp://127.0.0.1:29590': no (from default)\n");
}

TEST_F(ProgramOptionsTest, ListOptionsGivesNamesAndDefaults) {
  auto p = Make();
  EXPECT_EQ(Parse(*p, {"--list-options"}), 0);
  EXPECT_NE(out_.find("listen\t=tcp://127.0.0.1:29590\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("threads\t=8\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("node-id\n"), std::string::npos) << out_;
  EXPECT_NE(out_.find("log-level\t=info\n"), std::string::npos) << out_;
  EXPECT_EQ(out_.find("help"), std::string::npos) << out_;
  EXPECT_EQ(out_.find("config"), std::string::npos) << out_;
  // Hidden from --help.
  auto q = Make();
  EXPECT_EQ(Parse(*q, {"--help"}), 0);
  EXPECT_EQ(out_.find("list-options"), std::string::npos);
  EXPECT_NE(out_.find("--print-config"), std::string::npos);
}

TEST_F(ProgramOptionsTest, FinishRunsProbesUnlessPrintConfig) {
  const std::string file = (dir_ / "a-file").string();
  std::ofstream(file) << "x";
  auto p = Make();
  ASSERT_FALSE(Parse(*p, {}).has_value());
  p->RequireWritableDir("listen", file + "/below");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(p->Finish(), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--listen '" + file + "/below'"), std::string::npos) << err;

  auto q = Make();
  ASSERT_FALSE(Parse(*q, {"--print-config"}).has_value());
  q->RequireWritableDir("listen", file + "/below");
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(q->Finish(), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("threads = 8"), std::string::npos);

  auto r = Make();
  ASSERT_FALSE(Parse(*r, {"--check-config"}).has_value());
  r->RequireWritableDir("listen", (dir_ / "fine").string());
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(r->Finish(), 0);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "ringkv-test: configuration OK\n");

  auto s = Make();
  ASSERT_FALSE(Parse(*s, {}).has_value());
  s->RequireWritableDir("listen", (dir_ / "fine").string());
  EXPECT_FALSE(s->Finish().has_value());  // go on and serve
}

TEST_F(ProgramOptionsTest, ParseProgramOptionsWrapperReadsFileAndPrintsConfig) {
  const std::string path = WriteConfig("threads = 3\n");
  po::options_description desc("wrapped");
  int threads = 0;
  desc.add_options()("threads", po::value(&threads)->default_value(8), "threads");
  std::vector<std::string> args = {"prog", "--config", path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  po::variables_map vm;
  EXPECT_FALSE(ParseProgramOptions(3, argv.data(), "prog", "prog", desc, vm).has_value());
  EXPECT_EQ(vm["threads"].as<int>(), 3);
  EXPECT_EQ(threads, 3);
  args.push_back("--print-config");
  argv.clear();
  for (auto& a : args) argv.push_back(a.data());
  po::variables_map vm2;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(ParseProgramOptions(4, argv.data(), "prog", "prog", desc, vm2), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("threads = 3"), std::string::npos);
}

TEST(ParseDurationMs, UnitsAndErrors) {
  int64_t ms = -1;
  EXPECT_TRUE(ParseDurationMs("3h", &ms));
  EXPECT_EQ(ms, 3 * 3600 * 1000);
  EXPECT_TRUE(ParseDurationMs("250ms", &ms));
  EXPECT_EQ(ms, 250);
  EXPECT_TRUE(ParseDurationMs("90s", &ms));
  EXPECT_EQ(ms, 90000);
  EXPECT_TRUE(ParseDurationMs("2m", &ms));
  EXPECT_EQ(ms, 120000);
  EXPECT_TRUE(ParseDurationMs("10d", &ms));
  EXPECT_EQ(ms, 10LL * 86400 * 1000);
  EXPECT_TRUE(ParseDurationMs("0s", &ms));
  EXPECT_EQ(ms, 0);
  // A bare number is refused: the unit is never guessed.
  EXPECT_FALSE(ParseDurationMs("64", &ms));
  EXPECT_FALSE(ParseDurationMs("", &ms));
  EXPECT_FALSE(ParseDurationMs("-1s", &ms));
  EXPECT_FALSE(ParseDurationMs("1x", &ms));
  EXPECT_FALSE(ParseDurationMs("h", &ms));
  EXPECT_FALSE(ParseDurationMs("99999999999999999d", &ms));
}

TEST(ParseByteSize, Suffixes) {
  uint64_t n = 0;
  EXPECT_TRUE(ParseByteSize("64M", &n));
  EXPECT_EQ(n, 64ull << 20);
  EXPECT_FALSE(ParseByteSize("x", &n));
}

}  // namespace
}  // namespace ringkv
