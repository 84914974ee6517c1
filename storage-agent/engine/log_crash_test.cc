// Crash simulation for the commit log. (1) A segment written as the engine writes it, first
// acknowledged groups and then unacknowledged ones, is damaged at every offset: as a power loss
// can (cut anywhere, pages never written, a hole followed by pages that did reach the disk,
// a torn sector of garbage — all in the unacknowledged part) and as only a bad disk can (any
// byte of the acknowledged part). Each image is replayed as the newest and as a sealed segment
// and compared with what docs/storage-format.md's replay rule says, computed here from the
// known layout rather than by parsing. (2) Engines in every sync mode killed mid-run
// (fork, write, _exit without closing) and reopened, round after round.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "common/logging.h"
#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/log_test_util.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

using testing::Replay;
using testing::Replayed;
using testing::SegmentLayout;
using testing::SegmentWriter;
using testing::TempDir;

std::string FastTempBase() { return FileExists("/dev/shm") ? "/dev/shm" : "/tmp"; }

// Every record of the segment (marks and writes) as [start, end), in file order.
struct Span {
  uint64_t start, end;
  int key;  // -1 for a mark
};

std::vector<Span> Spans(const SegmentLayout& s) {
  std::vector<Span> out{{0, log_format::kMarkRecordBytes, -1}};
  size_t r = 0;
  for (const auto& g : s.groups) {
    out.push_back({g.mark, g.mark + log_format::kMarkRecordBytes, -1});
    for (size_t i = 0; i < g.records.size(); ++i, ++r) {
      uint64_t end = i + 1 < g.records.size() ? g.records[i + 1] : g.end;
      out.push_back({g.records[i], end, s.keys[r]});
    }
  }
  return out;
}

// What the rule says about one damaged image.
struct Expected {
  bool corruption = false;
  uint64_t at = 0;          // the bad record's offset (corruption, or where the tail is cut)
  bool truncated = false;
  std::vector<std::string> keys;
};

Expected Expect(const SegmentLayout& s, const std::vector<Span>& spans, const std::string& pristine,
                const std::string& image, bool is_last) {
  // The first byte of the written part that differs (a shorter file differs where it ends).
  uint64_t x = s.end;
  for (uint64_t i = 0; i < s.end; ++i) {
    if (i >= image.size() || image[i] != pristine[i]) {
      x = i;
      break;
    }
  }
  Expected e;
  uint64_t bad = s.end;  // where replay meets its first bad record
  for (const Span& sp : spans) {
    if (sp.end <= x) {
      if (sp.key >= 0) e.keys.push_back("k" + std::to_string(sp.key));
    } else {
      bad = sp.start;
      break;
    }
  }
  bool zero_from_bad = true;
  for (uint64_t i = bad; i < image.size() && zero_from_bad; ++i) zero_from_bad = image[i] == '\0';
  if (bad < image.size() && zero_from_bad && x >= log_format::kMarkRecordBytes) return e;
  if (bad >= image.size()) return e;  // cut exactly at a record boundary
  // Acknowledged bytes end at s.acked, and the damage tests below leave every mark after the
  // damaged part intact, so the first unacknowledged group's mark vouches for [0, s.acked);
  // a damaged segment mark leaves the append-only rule, where any good record after vouches.
  const bool durable = bad < s.acked || x < log_format::kMarkRecordBytes;
  if (durable || !is_last) {
    e.corruption = true;
    e.at = bad;
    return e;
  }
  e.truncated = true;
  e.at = bad;
  return e;
}

class CrashImages {
 public:
  CrashImages() : dir_(FastTempBase()) {
    // Acknowledged groups, then unacknowledged ones, of 1-3 records of 3-70 bytes.
    SegmentWriter w(dir_.path(), 7, 8192);
    std::mt19937 rng(7);
    for (int g = 0; g < 10; ++g) {
      w.Group(1 + static_cast<int>(rng() % 3), 3 + rng() % 68, /*ack=*/g < 6);
    }
    layout_ = w.Finish();
    spans_ = Spans(layout_);
    EXPECT_TRUE(ReadFileToString(layout_.path, &pristine_).ok());
    EXPECT_EQ(pristine_.size(), 8192u);
    EXPECT_GT(layout_.acked, 0u);
    EXPECT_LT(layout_.acked, layout_.end);
  }

  // Replays `image` as the newest and as a sealed segment and checks both against the rule.
  void Check(const std::string& image, const std::string& what) {
    for (bool is_last : {true, false}) {
      Expected want = Expect(layout_, spans_, pristine_, image, is_last);
      {
        std::ofstream f(layout_.path, std::ios::binary | std::ios::trunc);
        f.write(image.data(), static_cast<std::streamsize>(image.size()));
      }
      Replayed got;
      LogReplayResult res;
      Status st = Replay(layout_.path, is_last, false, &got, &res);
      ++checked_;
      ++(want.corruption ? corrupt_ : want.truncated ? cut_ : clean_);
      std::string ctx = what + (is_last ? " (newest)" : " (sealed)");
      if (want.corruption) {
        ASSERT_TRUE(st.IsCorruption()) << ctx << ": " << st.ToString();
        ASSERT_NE(st.message().find("at offset " + std::to_string(want.at) + ":"),
                  std::string::npos)
            << ctx << ": " << st.message();
        continue;
      }
      ASSERT_TRUE(st.ok()) << ctx << ": " << st.ToString();
      ASSERT_EQ(got.keys, want.keys) << ctx;
      ASSERT_EQ(res.truncated, want.truncated) << ctx;
      if (want.truncated) {
        ASSERT_EQ(res.truncated_at, want.at) << ctx;
      }
      // Never an acknowledged record lost.
      ASSERT_GE(got.keys.size(), AckedRecords()) << ctx;
    }
  }

  size_t AckedRecords() const {
    size_t n = 0;
    for (const auto& g : layout_.groups) n += g.acked ? g.records.size() : 0;
    return n;
  }

  const SegmentLayout& layout() const { return layout_; }
  const std::string& pristine() const { return pristine_; }
  int checked() const { return checked_; }
  std::string Summary() const {
    return std::to_string(checked_) + " replays: " + std::to_string(clean_) + " clean, " +
           std::to_string(cut_) + " tails cut, " + std::to_string(corrupt_) + " corruption";
  }

 private:
  TempDir dir_;
  SegmentLayout layout_;
  std::vector<Span> spans_;
  std::string pristine_;
  int checked_ = 0, clean_ = 0, cut_ = 0, corrupt_ = 0;
};

class QuietLog {
 public:
  QuietLog() : was_(log::MinLevel()) { log::SetMinLevel(log::Level::kError); }
  ~QuietLog() { log::SetMinLevel(was_); }

 private:
  log::Level was_;
};

// A power loss: everything before the acknowledged offset is on disk; of the rest, any part
// may be missing (zeros of the preallocated file, or cut if the file had been growing) or
// torn, and what comes after a missing part may have reached the disk anyway.
TEST(LogCrashTest, PowerLossImagesKeepEveryAcknowledgedRecord) {
  QuietLog quiet;
  CrashImages c;
  const SegmentLayout& s = c.layout();
  std::mt19937 rng(11);
  for (uint64_t x = s.acked; x <= s.end; ++x) {
    const std::string& p = c.pristine();
    std::string at = " at " + std::to_string(x);
    c.Check(p.substr(0, x), "cut" + at);
    c.Check(p.substr(0, x) + std::string(p.size() - x, '\0'), "never written from" + at);
    for (uint64_t k : {1, 9, 100, 512}) {
      if (x + k > s.end) continue;
      std::string img = p;
      std::fill(img.begin() + static_cast<long>(x), img.begin() + static_cast<long>(x + k), '\0');
      c.Check(img, "hole of " + std::to_string(k) + at);
    }
    if (x < s.end) {
      std::string img = p;
      for (uint64_t i = x; i < std::min<uint64_t>(x + 16, img.size()); ++i) {
        img[i] = static_cast<char>(rng());
      }
      c.Check(img, "garbage" + at);
      img = p.substr(0, x) + std::string(p.size() - x, '\0');
      img[std::min<uint64_t>(x + 700, img.size() - 1)] = 'z';  // garbage later in the tail
      c.Check(img, "torn tail with garbage beyond" + at);
    }
  }
  std::printf("power loss: %s\n", c.Summary().c_str());
}

// A bad disk: one byte flipped, or a few zeroed, anywhere in the acknowledged part, with the
// unacknowledged groups after it intact. Their marks vouch for the damaged bytes: corruption,
// as the newest segment and as a sealed one.
TEST(LogCrashTest, DamageToAcknowledgedBytesIsCorruption) {
  QuietLog quiet;
  CrashImages c;
  const SegmentLayout& s = c.layout();
  for (uint64_t x = 0; x < s.acked; ++x) {
    std::string at = " at " + std::to_string(x);
    std::string img = c.pristine();
    img[x] = static_cast<char>(img[x] ^ 0x5a);
    c.Check(img, "flip" + at);
    for (uint64_t k : {1, 8}) {
      img = c.pristine();
      uint64_t end = std::min(x + k, s.acked);
      std::fill(img.begin() + static_cast<long>(x), img.begin() + static_cast<long>(end), '\0');
      if (img != c.pristine()) c.Check(img, "zeroed " + std::to_string(k) + at);
    }
  }
  std::printf("media damage: %s\n", c.Summary().c_str());
}

// Zeros or garbage beyond the last record only: the zeros are the end of the log, garbage is a
// tail (newest) or corruption (sealed).
TEST(LogCrashTest, PreallocatedSpaceAfterTheRecords) {
  QuietLog quiet;
  CrashImages c;
  const SegmentLayout& s = c.layout();
  c.Check(c.pristine(), "pristine");
  for (uint64_t x = s.end; x < c.pristine().size(); x += 97) {
    std::string img = c.pristine();
    img[x] = '\x01';
    c.Check(img, "a byte in the zero tail at " + std::to_string(x));
  }
}

// Engines killed in the middle of their work, round after round, in every sync mode: a child
// process opens the engine, checks everything the earlier rounds acknowledged, writes from
// several threads and _exits without closing (a process crash: the page cache survives, so
// every acknowledged write must be back, in every mode). Small segments and memtables make
// rolls, prepared segments, flushes and compactions happen throughout.
TEST(LogCrashTest, KilledEnginesReopenWithEveryAcknowledgedWrite) {
  for (SyncMode mode : {SyncMode::kAlways, SyncMode::kBatch, SyncMode::kNone}) {
    TempDir d;
    Options o;
    o.dir = d.path();
    o.sync_mode = mode;
    o.log_segment_bytes = 8 << 10;
    o.memtable_bytes = 48 << 10;
    o.block_cache_bytes = 1 << 20;
    o.batch_window_ms = 1;
    const int kRounds = 6, kThreads = 3, kWrites = 150;
    for (int round = 0; round <= kRounds; ++round) {
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        int rc = 0;
        {
          auto e = Engine::Open(o);
          if (!e.ok()) ::_exit(10);
          // Every key was written, and acknowledged, in the previous round.
          for (int t = 0; t < kThreads && round > 0; ++t) {
            for (int i = 0; i < kWrites; ++i) {
              auto v = (*e)->Get("t" + std::to_string(t) + "-" + std::to_string(i));
              std::string want = "round" + std::to_string(round - 1) + std::string(100, '.');
              if (!v.ok() || !v->has_value() || **v != want) rc = 11;
            }
          }
          if (round == kRounds) ::_exit(rc);
          std::vector<std::thread> ts;
          std::atomic<bool> failed{false};
          for (int t = 0; t < kThreads; ++t) {
            ts.emplace_back([&, t] {
              for (int i = 0; i < kWrites; ++i) {
                std::string v = "round" + std::to_string(round) + std::string(100, '.');
                if (!(*e)->Put("t" + std::to_string(t) + "-" + std::to_string(i), v).ok()) {
                  failed = true;
                }
              }
            });
          }
          for (auto& t : ts) t.join();
          if (failed) rc = 12;
          ::_exit(rc);  // no destructor: no final sync, no clean close
        }
      }
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFEXITED(status));
      ASSERT_EQ(WEXITSTATUS(status), 0) << "mode " << static_cast<int>(mode) << " round "
                                        << round;
    }
  }
}

}  // namespace
}  // namespace ringkv::engine
