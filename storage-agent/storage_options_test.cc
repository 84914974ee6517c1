// Tests of ringkv-storage option parsing: defaults, every value mapped onto the engine and
// server options, durations, and exit code 2 for bad values.
#include "storage-agent/storage_options.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace ringkv::storage {
namespace {

ParsedOptions Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ringkv-storage");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseStorageOptions(static_cast<int>(argv.size()), argv.data());
}

TEST(StorageOptions, Durations) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseDurationMs("864000s", &ms));
  EXPECT_EQ(ms, 864000000);
  EXPECT_TRUE(ParseDurationMs("10d", &ms));
  EXPECT_EQ(ms, 864000000);
  EXPECT_TRUE(ParseDurationMs("1500ms", &ms));
  EXPECT_EQ(ms, 1500);
  EXPECT_TRUE(ParseDurationMs("30", &ms));
  EXPECT_EQ(ms, 30000);
  EXPECT_TRUE(ParseDurationMs("2h", &ms));
  EXPECT_EQ(ms, 7200000);
  EXPECT_TRUE(ParseDurationMs("0s", &ms));
  EXPECT_EQ(ms, 0);
  for (const char* bad : {"", "-1s", "s", "10 s", "5x", "99999999999999999999d", "1.5s"}) {
    EXPECT_FALSE(ParseDurationMs(bad, &ms)) << bad;
  }
}

TEST(StorageOptions, DefaultsAndMapping) {
  auto p = Parse({"--data-dir", "/tmp/x"});
  ASSERT_TRUE(p.options.has_value());
  const auto& o = *p.options;
  EXPECT_EQ(o.engine.dir, "/tmp/x");
  EXPECT_EQ(o.engine.sync_mode, engine::SyncMode::kBatch);
  EXPECT_EQ(o.engine.batch_window_ms, 2);
  EXPECT_EQ(o.engine.memtable_bytes, 32ull << 20);
  EXPECT_EQ(o.engine.block_bytes, 4096u);
  EXPECT_EQ(o.engine.bloom_bits_per_key, 10);
  EXPECT_EQ(o.engine.compression, engine::Compression::kLz4);
  EXPECT_EQ(o.engine.block_cache_bytes, 64ull << 20);
  EXPECT_EQ(o.engine.log_segment_bytes, 64ull << 20);
  EXPECT_EQ(o.engine.tombstone_grace_ms, 864000000);
  EXPECT_FALSE(o.engine.salvage);
  EXPECT_FALSE(o.repair);
  EXPECT_EQ(o.server.listen, "tcp://127.0.0.1:7100");
  EXPECT_EQ(o.server.direct_listen, "");
  EXPECT_EQ(o.server.threads, 8);
  EXPECT_EQ(o.server.max_queue, 1024u);
  EXPECT_EQ(o.server.deadline_tolerance_ms, 1000u);

  p = Parse({"--data-dir", "d", "--listen", "tcp://127.0.0.1:20999", "--node-id", "n3", "--sync",
             "always", "--batch-window-ms", "5", "--memtable-size", "1M", "--block-size", "16K",
             "--bloom-bits", "0", "--compression", "zstd", "--block-cache", "0",
             "--log-segment-size", "8K", "--tombstone-grace", "1500ms", "--threads", "3",
             "--max-queue", "7", "--salvage", "--repair", "--direct-listen", "tcp://127.0.0.1:21000",
             "--deadline-tolerance-ms", "0"});
  ASSERT_TRUE(p.options.has_value());
  const auto& q = *p.options;
  EXPECT_EQ(q.server.listen, "tcp://127.0.0.1:20999");
  EXPECT_EQ(q.server.node_id, "n3");
  EXPECT_EQ(q.server.direct_listen, "tcp://127.0.0.1:21000");
  EXPECT_EQ(q.engine.sync_mode, engine::SyncMode::kAlways);
  EXPECT_EQ(q.engine.batch_window_ms, 5);
  EXPECT_EQ(q.engine.memtable_bytes, 1u << 20);
  EXPECT_EQ(q.engine.block_bytes, 16384u);
  EXPECT_EQ(q.engine.bloom_bits_per_key, 0);
  EXPECT_EQ(q.engine.compression, engine::Compression::kZstd);
  EXPECT_EQ(q.engine.block_cache_bytes, 0u);
  EXPECT_EQ(q.engine.log_segment_bytes, 8192u);
  EXPECT_EQ(q.engine.tombstone_grace_ms, 1500);
  EXPECT_EQ(q.server.threads, 3);
  EXPECT_EQ(q.server.max_queue, 7u);
  EXPECT_TRUE(q.engine.salvage);
  EXPECT_EQ(q.server.deadline_tolerance_ms, 0u);
  EXPECT_TRUE(q.repair);
}

TEST(StorageOptions, BadValuesExit2) {
  std::vector<std::vector<std::string>> bad = {
      {},  // --data-dir is required
      {"--data-dir", "d", "--sync", "sometimes"},
      {"--data-dir", "d", "--compression", "gzip"},
      {"--data-dir", "d", "--memtable-size", "big"},
      {"--data-dir", "d", "--memtable-size", "10"},
      {"--data-dir", "d", "--threads", "0"},
      {"--data-dir", "d", "--max-queue", "-1"},
      {"--data-dir", "d", "--tombstone-grace", "forever"},
      {"--data-dir", "d", "--bloom-bits", "x"},
      {"--data-dir", "d", "--direct-listen", "127.0.0.1:5"},
      {"--data-dir", "d", "--direct-listen", "tcp://h:port"},
      {"--data-dir", "d", "--deadline-tolerance-ms", "-1"},
      {"--data-dir", "d", "--deadline-tolerance-ms", "soon"},
      {"--data-dir", "d", "--unknown"},
      {"--data-dir", "d", "--listen", "127.0.0.1:7100"},
      {"--data-dir", "d", "--aae", "maybe"},
      {"--data-dir", "d", "--aae-rebuild-mbps", "-1"},
      {"--data-dir", "d", "--aae-rebuild-mbps", "fast"},
  };
  for (const auto& args : bad) {
    auto p = Parse(args);
    EXPECT_FALSE(p.options.has_value());
    EXPECT_EQ(p.exit_code, 2) << (args.empty() ? "" : args.back());
  }
  auto off = Parse({"--data-dir", "d", "--direct-listen", "off"});
  ASSERT_TRUE(off.options.has_value());
  EXPECT_EQ(off.options->server.direct_listen, "off");
  auto help = Parse({"--help"});
  EXPECT_FALSE(help.options.has_value());
  EXPECT_EQ(help.exit_code, 0);
}

// The start-up probes (data directory, endpoints) are registered by the parse and run by
// Finish, which main calls: here, a port in use stops start-up with exit 2 and one line.
TEST(StorageOptions, FinishProbesTheListenEndpoint) {
  const std::string dir = "/tmp/ringkv-storage-options-test-" + std::to_string(::getpid());
  ParsedOptions good = Parse({"--data-dir", dir, "--listen", "tcp://127.0.0.1:29570",
                              "--direct-listen", "off", "--check-config"});
  ASSERT_TRUE(good.options.has_value());
  ASSERT_TRUE(good.config);
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(good.config->Finish(), 0);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "ringkv-storage: configuration OK\n");

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(29571);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ParsedOptions busy = Parse({"--data-dir", dir, "--listen", "tcp://127.0.0.1:29571"});
  ASSERT_TRUE(busy.options.has_value());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(busy.config->Finish(), 2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "ringkv-storage: --listen 'tcp://127.0.0.1:29571': cannot bind: Address already in use "
            "(from command line)\n");
  ::close(fd);
  std::filesystem::remove_all(dir);
}

TEST(StorageOptions, AntiEntropy) {
  auto def = Parse({"--data-dir", "d"});
  ASSERT_TRUE(def.options.has_value());
  EXPECT_TRUE(def.options->open.aae);
  EXPECT_EQ(def.options->aae_rebuild_mbps, 50);
  auto set = Parse({"--data-dir", "d", "--aae", "off", "--aae-rebuild-mbps", "0"});
  ASSERT_TRUE(set.options.has_value());
  EXPECT_FALSE(set.options->open.aae);
  EXPECT_EQ(set.options->aae_rebuild_mbps, 0);
}

}  // namespace
}  // namespace ringkv::storage
