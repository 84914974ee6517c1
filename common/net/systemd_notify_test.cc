// systemd_notify: the messages reach the socket named by NOTIFY_SOCKET as sd_notify(3) datagrams;
// the watchdog timer sends WATCHDOG=1 at half of WATCHDOG_USEC, only when asked for this process,
// and sends nothing while its reactor is stuck.
#include "common/net/systemd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace ringkv::net {
namespace {

// A datagram socket standing in for systemd's notify socket; sets NOTIFY_SOCKET for its life.
class FakeManager {
 public:
  FakeManager() {
    char dir[] = "/tmp/ringkv-notify-XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/notify";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeManager() {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  // Every datagram already queued, without waiting.
  std::vector<std::string> Drain() {
    std::vector<std::string> out;
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

int Count(const std::vector<std::string>& v, const std::string& m) {
  int n = 0;
  for (const auto& s : v) n += s == m;
  return n;
}

TEST(SystemdNotifyTest, ReadyStatusAndStoppingAreSentAsOneDatagramEach) {
  FakeManager m;
  NotifyStatus("opening data directory");
  NotifyReady("serving on tcp://127.0.0.1:1\nand more");
  NotifyStopping("stopping");
  EXPECT_EQ(m.Drain(), (std::vector<std::string>{
                           "STATUS=opening data directory",
                           "READY=1\nSTATUS=serving on tcp://127.0.0.1:1 and more",
                           "STOPPING=1\nSTATUS=stopping"}));
}

TEST(SystemdNotifyTest, NoNotifySocketMeansNothingHappens) {
  unsetenv("NOTIFY_SOCKET");
  setenv("WATCHDOG_USEC", "100000", 1);
  Reactor r;
  NotifyReady("nobody listens");  // must not fail or block
  EXPECT_EQ(ArmWatchdog(r), 50) << "the watchdog is asked for even without a notify socket";
  unsetenv("WATCHDOG_USEC");
}

TEST(SystemdNotifyTest, NoWatchdogUnlessAskedForThisProcess) {
  FakeManager m;
  Reactor r;
  EXPECT_EQ(ArmWatchdog(r), 0) << "no WATCHDOG_USEC";
  setenv("WATCHDOG_USEC", "200000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_EQ(ArmWatchdog(r), 0) << "WATCHDOG_PID names another process";
  r.AddTimer(300, [&] { r.Stop(); });
  ASSERT_TRUE(r.Run().ok());
  EXPECT_EQ(Count(m.Drain(), "WATCHDOG=1"), 0);
}

TEST(SystemdNotifyTest, KeepAlivesAtHalfTheIntervalAndNoneWhileTheLoopIsStuck) {
  FakeManager m;
  setenv("WATCHDOG_USEC", "200000", 1);  // 200 ms: a keep-alive every 100 ms
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  Reactor r;
  ASSERT_EQ(ArmWatchdog(r), 100);
  r.AddTimer(1000, [&] { r.Stop(); });
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(r.Run().ok());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int sent = Count(m.Drain(), "WATCHDOG=1");
  std::printf("%d keep-alives in %.2f s (asked: one per 100 ms)\n", sent, secs);
  // 11 expected (one at once, then every 100 ms); wide bounds for a loaded machine.
  EXPECT_GE(sent, 5);
  EXPECT_LE(sent, 12);

  // A handler that blocks the loop for 600 ms (three watchdog intervals): nothing is sent
  // meanwhile, because the keep-alive is the loop's own timer.
  int during_stall = -1;
  r.AddTimer(50, [&] {
    m.Drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    during_stall = Count(m.Drain(), "WATCHDOG=1");
  });
  r.AddTimer(400, [&] { r.Stop(); });
  ASSERT_TRUE(r.Run().ok());
  EXPECT_EQ(during_stall, 0);
  EXPECT_GE(Count(m.Drain(), "WATCHDOG=1"), 1) << "keep-alives resume once the loop turns again";
}

}  // namespace
}  // namespace ringkv::net
