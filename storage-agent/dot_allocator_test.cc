// Unit tests of DotAllocator: counters strictly increase and respect the key's own floor, the
// reservation is persisted a block at a time and resumed after a restart, a damaged DOT_FLOOR
// is Corruption, a failed reservation issues nothing; and the cost of Next() (printed).
#include "storage-agent/dot_allocator.h"

#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "storage-agent/engine/test_util.h"

namespace ringkv::storage {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

uint64_t Must(Result<uint64_t> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : 0;
}

TEST(DotAllocator, NewDirectoryCountsFromOneAndReservesInBlocks) {
  engine::testing::TempDir dir;
  DotAllocator::Start start;
  auto a = DotAllocator::Open(dir.path(), /*new_dir=*/true, /*block=*/8, &start);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(start, DotAllocator::Start::kNew);
  // The file exists from the start, reserving nothing yet.
  EXPECT_EQ(ReadAll(dir.File(kDotFloorFile)), "ringkv-dot-floor 0000000000000000\n");
  EXPECT_EQ((*a)->next(), 1u);
  EXPECT_EQ(Must((*a)->Next(0)), 1u);
  EXPECT_EQ((*a)->reserved(), 8u);  // the first block: 1..8
  EXPECT_EQ(ReadAll(dir.File(kDotFloorFile)), "ringkv-dot-floor 0000000000000008\n");
  EXPECT_EQ(Must((*a)->Next(0)), 2u);
  EXPECT_EQ(Must((*a)->Next(2)), 3u);    // a key floor below the counter: the counter wins
  EXPECT_EQ(Must((*a)->Next(10)), 10u);  // a key floor above it: the key's floor wins
  EXPECT_EQ((*a)->reserved(), 17u);      // beyond the block: a new one from 10
  EXPECT_EQ(Must((*a)->Next(5)), 11u);   // and the counter never goes back
  EXPECT_EQ((*a)->next(), 12u);
  EXPECT_EQ(ReadAll(dir.File(kDotFloorFile)), "ringkv-dot-floor 0000000000000011\n");
  EXPECT_FALSE(std::filesystem::exists(dir.File(std::string(kDotFloorFile) + ".tmp")));
}

TEST(DotAllocator, RestartResumesAboveEverythingIssued) {
  engine::testing::TempDir dir;
  uint64_t last = 0;
  {
    auto a = DotAllocator::Open(dir.path(), true, 8);
    ASSERT_TRUE(a.ok());
    for (int i = 0; i < 13; ++i) last = Must((*a)->Next(0));
    EXPECT_EQ(last, 13u);
    // Destroyed without any shutdown step, as a killed process would be.
  }
  DotAllocator::Start start;
  auto b = DotAllocator::Open(dir.path(), false, 8, &start);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(start, DotAllocator::Start::kResumed);
  const uint64_t first = Must((*b)->Next(0));
  EXPECT_GT(first, last);
  EXPECT_EQ(first, 17u);  // the reservation (16) + 1: at most a block is skipped
  // A crash between writing DOT_FLOOR.tmp and renaming it: the old reservation holds (nothing
  // above it was handed out), the leftover temporary file is ignored and later replaced.
  WriteAll(dir.File(std::string(kDotFloorFile) + ".tmp"), "ringkv-dot-floor 00000000000000ff\n");
  auto c = DotAllocator::Open(dir.path(), false, 8);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(Must((*c)->Next(0)), 25u);
}

TEST(DotAllocator, DirectoryWithoutTheFileThatIsNotNewStartsHigh) {
  engine::testing::TempDir dir;
  DotAllocator::Start start;
  auto a = DotAllocator::Open(dir.path(), /*new_dir=*/false, 8, &start);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(start, DotAllocator::Start::kLegacy);
  EXPECT_EQ(Must((*a)->Next(0)), DotAllocator::kLegacyStart);
  auto b = DotAllocator::Open(dir.path(), false, 8, &start);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(start, DotAllocator::Start::kResumed);
  EXPECT_GT(Must((*b)->Next(0)), DotAllocator::kLegacyStart);
}

TEST(DotAllocator, DamagedFileIsCorruptionAndIsKept) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "offset 0"},
      {"ringkv-dot-floor 0000000000000010", "offset 0"},        // no newline
      {"ringkv-dot-floor 0000000000000010\nx", "offset 0"},     // trailing byte
      {"ringkv-dot-floor 00000000000000zz\n", "offset 31"},     // bad hex digit
      {"ringkv-dot-floor 000000000000001G\n", "offset 32"},
      {"ringkv-actor 0000000000000010\n    ", "offset 0"},      // another file's format
      {"ringkv-dot-floor 4000000000000001\n", "out of range"},  // beyond kMaxCounter
  };
  for (const auto& [content, where] : cases) {
    SCOPED_TRACE(content);
    engine::testing::TempDir dir;
    WriteAll(dir.File(kDotFloorFile), content);
    auto a = DotAllocator::Open(dir.path(), false, 8);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), Status::Code::kCorruption);
    EXPECT_NE(a.status().message().find(kDotFloorFile), std::string::npos)
        << a.status().message();
    EXPECT_NE(a.status().message().find(where), std::string::npos) << a.status().message();
    EXPECT_EQ(ReadAll(dir.File(kDotFloorFile)), content);  // never replaced silently
  }
}

TEST(DotAllocator, CountersBeyondTheContextLimitAreRefused) {
  engine::testing::TempDir dir;
  auto a = DotAllocator::Open(dir.path(), true, 8);
  ASSERT_TRUE(a.ok());
  auto too_far = (*a)->Next(DotAllocator::kMaxCounter + 1);
  EXPECT_EQ(too_far.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*a)->next(), 1u);  // nothing issued
  EXPECT_EQ(Must((*a)->Next(DotAllocator::kMaxCounter - 1)), DotAllocator::kMaxCounter - 1);
  EXPECT_EQ((*a)->reserved(), DotAllocator::kMaxCounter);  // the block is cut at the limit
  EXPECT_EQ(Must((*a)->Next(0)), DotAllocator::kMaxCounter);
  EXPECT_EQ((*a)->Next(0).status().code(), Status::Code::kInvalidArgument);
  // The capped reservation reads back.
  auto b = DotAllocator::Open(dir.path(), false, 8);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->Next(0).status().code(), Status::Code::kInvalidArgument);
}

TEST(DotAllocator, FailedReservationIssuesNothing) {
  engine::testing::TempDir top;
  const std::string dir = top.path() + "/data";
  std::filesystem::create_directories(dir);
  auto a = DotAllocator::Open(dir, true, 4);
  ASSERT_TRUE(a.ok());
  for (uint64_t i = 1; i <= 4; ++i) EXPECT_EQ(Must((*a)->Next(0)), i);
  std::filesystem::remove_all(dir);  // the next reservation cannot be written
  auto r = (*a)->Next(0);
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find("reserving"), std::string::npos);
  EXPECT_EQ((*a)->next(), 5u);
  std::filesystem::create_directories(dir);
  EXPECT_EQ(Must((*a)->Next(0)), 5u);
  EXPECT_EQ(ReadAll(dir + "/" + kDotFloorFile), "ringkv-dot-floor 0000000000000008\n");
}

TEST(DotAllocator, ThreadsGetDistinctCounters) {
  engine::testing::TempDir dir;
  auto opened = DotAllocator::Open(dir.path(), true, 64);
  ASSERT_TRUE(opened.ok());
  DotAllocator* a = opened->get();
  constexpr int kThreads = 4, kPerThread = 5000;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([a, &got, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = a->Next(0);
        got[t].push_back(r.ok() ? *r : 0);
      }
    });
  }
  for (auto& t : ts) t.join();
  std::set<uint64_t> all;
  for (const auto& g : got) {
    for (size_t i = 1; i < g.size(); ++i) ASSERT_LT(g[i - 1], g[i]);  // increasing per thread
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_GE(a->reserved(), static_cast<uint64_t>(kThreads * kPerThread));
}

TEST(DotAllocator, InMemoryCountsWithoutAFile) {
  auto a = DotAllocator::InMemory(7);
  EXPECT_EQ(Must(a->Next(0)), 7u);
  EXPECT_EQ(Must(a->Next(3)), 8u);
  EXPECT_EQ(a->reserved(), 0u);
}

double ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// A figure, not a pass/fail target: what a counter costs on the write path with the default
// block (one reservation, so one fsync, per 2^20 counters).
TEST(DotAllocator, CostOfNextIsPrinted) {
  engine::testing::TempDir dir;
  auto a = DotAllocator::Open(dir.path(), true);
  ASSERT_TRUE(a.ok());
  constexpr int kN = 1000000;
  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = ThreadCpuNs();
  uint64_t sum = 0;
  for (int i = 0; i < kN; ++i) sum += Must((*a)->Next(0));
  const double cpu = ThreadCpuNs() - cpu0;
  const double wall = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() -
                                                               wall0).count();
  EXPECT_EQ(sum, static_cast<uint64_t>(kN) * (kN + 1) / 2);
  std::printf("DotAllocator::Next: %.1f ns/counter thread CPU, %.1f ns wall (%d counters, "
              "block %llu)\n",
              cpu / kN, wall / kN, kN, static_cast<unsigned long long>(DotAllocator::kDefaultBlock));
}

}  // namespace
}  // namespace ringkv::storage
