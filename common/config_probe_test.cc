// Tests of the start-up probes: a port in use, a port out of range, an address of no local
// interface, an ipc:// folder, and directories that can or cannot be written. Ports 29580-29589.
#include "common/config_probe.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ringkv {
namespace {

// Listens on 127.0.0.1:port for the life of the object.
struct Holder {
  explicit Holder(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && ::listen(fd, 1) == 0;
  }
  ~Holder() { ::close(fd); }
  int fd;
  bool ok;
};

TEST(ProbeBind, FreePortBindsAndIsReleased) {
  EXPECT_TRUE(ProbeBind("tcp://127.0.0.1:29581").ok());
  EXPECT_TRUE(ProbeBind("tcp://127.0.0.1:29581").ok());  // the probe kept nothing
  Holder h(29581);
  EXPECT_TRUE(h.ok);
}

TEST(ProbeBind, PortInUseIsRefused) {
  Holder h(29582);
  ASSERT_TRUE(h.ok);
  Status s = ProbeBind("tcp://127.0.0.1:29582");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("in use"), std::string::npos) << s.ToString();
}

TEST(ProbeBind, MalformedEndpointsAreRefused) {
  for (const char* bad : {"tcp://127.0.0.1:99999", "tcp://127.0.0.1:http", "tcp://127.0.0.1",
                          "127.0.0.1:29583", "tcp://127.0.0.1:-1"}) {
    EXPECT_FALSE(ProbeBind(bad).ok()) << bad;
  }
}

TEST(ProbeBind, AddressOfAnotherHostCannotBeBound) {
  // TEST-NET-1 is on no interface here; binding fails locally, nothing is sent.
  EXPECT_FALSE(ProbeBind("tcp://192.0.2.1:29584").ok());
}

TEST(ProbeBind, WildcardsAndOtherTransports) {
  EXPECT_TRUE(ProbeBind("tcp://127.0.0.1:*").ok());
  EXPECT_TRUE(ProbeBind("tcp://127.0.0.1:0").ok());
  EXPECT_TRUE(ProbeBind("tcp://localhost:29585").ok());
  EXPECT_TRUE(ProbeBind("inproc://anything").ok());
  EXPECT_TRUE(ProbeBind("ipc:///tmp/ringkv-probe.sock").ok());
  EXPECT_FALSE(ProbeBind("ipc:///no/such/folder/x.sock").ok());
}

TEST(ProbeWritableDir, CreatesAndWritesOrSaysWhy) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ringkv-probe-test-" + std::to_string(::getpid()));
  EXPECT_TRUE(ProbeWritableDir((dir / "a" / "b").string()).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir / "a" / "b"));
  EXPECT_TRUE(std::filesystem::is_empty(dir / "a" / "b"));  // the probe file is gone
  std::ofstream((dir / "file").string()) << "x";
  Status s = ProbeWritableDir((dir / "file" / "data").string());
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(ProbeWritableDir((dir / "file").string()).ok());
  EXPECT_FALSE(ProbeWritableDir("").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringkv
