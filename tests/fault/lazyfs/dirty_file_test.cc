// Tests of DirtyFile: reads overlay writes on the durable content, Persist makes them durable,
// Drop restores the durable view; and a random model check against two plain strings
// (what clients see, what is durable).
#include "tests/fault/lazyfs/dirty_file.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <random>
#include <string>

namespace ringkv::lazyfs {
namespace {

// A backing file in memory: the durable bytes.
struct Backing {
  std::string bytes;
  std::function<bool(uint64_t, size_t, char*)> Reader() {
    return [this](uint64_t off, size_t n, char* dst) {
      for (size_t i = 0; i < n; i++) dst[i] = off + i < bytes.size() ? bytes[off + i] : '\0';
      return true;
    };
  }
};

std::string ReadAll(const DirtyFile& f, Backing* b) {
  std::string out;
  EXPECT_TRUE(f.Read(0, f.size() + 10, &out, b->Reader()));
  return out;
}

// Persist goes to a real file (it uses pwrite/ftruncate); read it back.
std::string PersistAndRead(DirtyFile* f, Backing* b) {
  char path[] = "/tmp/lazyfs-dirty-file-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::unlink(path);
  EXPECT_EQ(::pwrite(fd, b->bytes.data(), b->bytes.size(), 0),
            static_cast<ssize_t>(b->bytes.size()));
  EXPECT_EQ(f->Persist(fd), 0);
  off_t size = ::lseek(fd, 0, SEEK_END);
  std::string out(static_cast<size_t>(size), '\0');
  EXPECT_EQ(::pread(fd, out.data(), out.size(), 0), size);
  ::close(fd);
  b->bytes = out;
  return out;
}

TEST(DirtyFileTest, WritesOverlayAndDropRestores) {
  Backing b{"0123456789"};
  DirtyFile f(10);
  f.Write(2, "ab", 2);
  f.Write(12, "XY", 2);  // past the end: a zero gap
  EXPECT_EQ(ReadAll(f, &b), std::string("01ab456789\0\0XY", 14));
  EXPECT_EQ(f.size(), 14u);
  EXPECT_EQ(f.dirty_bytes(), 4u);
  EXPECT_EQ(f.Drop(), 4u);
  EXPECT_EQ(ReadAll(f, &b), "0123456789");
  EXPECT_FALSE(f.dirty());
}

TEST(DirtyFileTest, TruncateThenGrowReadsZeros) {
  Backing b{"0123456789"};
  DirtyFile f(10);
  f.Truncate(4);
  f.Truncate(8);
  EXPECT_EQ(ReadAll(f, &b), std::string("0123\0\0\0\0", 8));
  EXPECT_EQ(PersistAndRead(&f, &b), std::string("0123\0\0\0\0", 8));
  EXPECT_FALSE(f.dirty());
  f.Truncate(2);
  EXPECT_EQ(f.Drop(), 0u);
  EXPECT_EQ(f.size(), 8u);  // the truncate was not synced
}

TEST(DirtyFileTest, RandomOperationsMatchModel) {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; round++) {
    Backing b{std::string(static_cast<size_t>(rng() % 64), 'd')};
    std::string durable = b.bytes;
    std::string live = durable;
    DirtyFile f(durable.size());
    for (int op = 0; op < 200; op++) {
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 6) {
        const uint64_t off = rng() % 96;
        std::string data(static_cast<size_t>(1 + rng() % 24), static_cast<char>('a' + rng() % 26));
        f.Write(off, data.data(), data.size());
        if (live.size() < off + data.size()) live.resize(off + data.size(), '\0');
        live.replace(off, data.size(), data);
      } else if (kind < 8) {
        const uint64_t size = rng() % 100;
        f.Truncate(size);
        live.resize(size, '\0');
      } else if (kind == 8) {
        ASSERT_EQ(PersistAndRead(&f, &b), live) << "round " << round << " op " << op;
        durable = live;
      } else {
        f.Drop();
        live = durable;
      }
      ASSERT_EQ(ReadAll(f, &b), live) << "round " << round << " op " << op;
      // A read of a middle range too.
      std::string part;
      const uint64_t off = rng() % 100;
      ASSERT_TRUE(f.Read(off, 17, &part, b.Reader()));
      ASSERT_EQ(part, off < live.size() ? live.substr(off, 17) : std::string());
    }
  }
}

}  // namespace
}  // namespace ringkv::lazyfs
