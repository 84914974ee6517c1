// Tests of the repair scheduler with in-memory replicas: a requested repair runs to "complete";
// a job checkpointed half done resumes with only its remaining ranges; a replica that is not
// ready ends the job "incomplete" after its passes; the periodic pass repairs without a request;
// the throttle holds the rate.
#include "gossip-agent/repair_scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "gossip-agent/aae_fake_replica.h"

namespace ringkv::gossip {
namespace {

namespace gp = gossip_protocol;

std::string Value(const std::string& v, version::ActorId actor) { return FakeValue(v, actor); }

// Forwards to a shared fake (the scheduler owns its clients; the test keeps the data).
class Proxy : public AaeReplica {
 public:
  explicit Proxy(FakeAaeReplica* f) : f_(f) {}
  const std::string& node() const override { return f_->node(); }
  Result<AaeTree> Tree(const std::vector<AaeRange>& r, uint32_t p) override { return f_->Tree(r, p); }
  Result<AaeKeyPage> Keys(const AaeRange& r, uint32_t l,
                          const std::optional<std::pair<Token, std::string>>& a) override {
    return f_->Keys(r, l, a);
  }
  Result<std::vector<std::optional<std::string>>> States(const std::vector<std::string>& k) override {
    return f_->States(k);
  }
  Status Sync(const std::vector<std::pair<std::string, std::string>>& i) override { return f_->Sync(i); }
  Status Mark(const std::vector<AaeRange>& r, int64_t a) override { return f_->Mark(r, a); }
  uint64_t io_bytes() const override { return f_->io_bytes(); }

 private:
  FakeAaeReplica* f_;
};

class RepairSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ringkv_repair_sched_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::vector<NodeInfo> nodes;
    for (const char* id : {"n1", "n2", "n3"}) {
      NodeInfo n;
      n.id = id;
      n.vnodes = 8;
      nodes.push_back(n);
      fakes_[id] = std::make_unique<FakeAaeReplica>(id);
    }
    ring_ = *Ring::Build(nodes, *Replication::Parse("3"));
    auto st = RepairStore::Open(dir_ + "/repair.db");
    ASSERT_TRUE(st.ok());
    store_ = std::move(*st);
  }
  void TearDown() override {
    sched_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartScheduler(RepairOptions o) {
    o.retry_min_ms = std::min<int64_t>(o.retry_min_ms, 20);
    sched_ = std::make_unique<RepairScheduler>(
        "n1", store_.get(), [this] { return Result<Ring>(ring_); },
        [this](const NodeInfo& n) { return std::make_unique<Proxy>(fakes_.at(n.id).get()); }, o);
    sched_->Start();
  }
  // Polls the job of `req` until it finished (bounded).
  gp::RepairJobStatus WaitFinished(uint64_t req, int timeout_ms = 10000) {
    gp::RepairJobStatus last;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
      auto s = sched_->Jobs(req);
      if (!s.empty()) {
        last = s[0];
        if (last.finished()) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << req << " did not finish: state " << last.state;
    return last;
  }
  // Manual jobs only (no periodic pass), at most `attempts` passes each.
  void StartManualOnly(int attempts = 6) {
    RepairOptions o;
    o.interval_ms = 0;
    o.max_attempts = attempts;
    StartScheduler(o);
  }
  // Asks for a repair of everything and waits until it ends.
  gp::RepairJobStatus RepairAll(uint64_t req) {
    gp::RepairStartRequest r;
    r.req = req;
    sched_->Request(r);
    return WaitFinished(req);
  }
  void ExpectIdentical() {
    EXPECT_EQ(fakes_["n2"]->data(), fakes_["n1"]->data());
    EXPECT_EQ(fakes_["n3"]->data(), fakes_["n1"]->data());
  }
  std::string dir_;
  Ring ring_;
  std::map<std::string, std::unique_ptr<FakeAaeReplica>> fakes_;
  std::unique_ptr<RepairStore> store_;
  std::unique_ptr<RepairScheduler> sched_;
};

TEST_F(RepairSchedulerTest, ARequestedRepairCompletesAndIsIdempotent) {
  for (int i = 0; i < 300; ++i) {
    fakes_["n1"]->Put("k" + std::to_string(i), Value("v", 1));
    fakes_["n2"]->Put("k" + std::to_string(i), Value("v", 1));
  }
  StartManualOnly();
  gp::RepairStartRequest r;
  r.req = 77;
  auto first = sched_->Request(r);
  ASSERT_EQ(first.size(), 1u);
  const auto done = WaitFinished(77);
  EXPECT_EQ(done.state, "complete") << done.error;
  EXPECT_EQ(done.done, done.total);
  EXPECT_GT(done.total, 0u);
  EXPECT_EQ(done.keys_sent, 300u);
  EXPECT_GT(done.bytes, 0u);
  ExpectIdentical();
  // Asking again with the same req is the same job, not a new repair.
  auto again = sched_->Request(r);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].state, "complete");
  EXPECT_EQ(sched_->counters().jobs_complete, 1u);
  // Unknown reqs have no job.
  EXPECT_TRUE(sched_->Jobs(78).empty());
}

TEST_F(RepairSchedulerTest, ACheckpointedJobResumesWithOnlyItsRemainingRanges) {
  auto plan = PlanRanges(ring_, {});
  ASSERT_GT(plan.size(), 4u);
  for (size_t i = 0; i < plan.size() / 2; ++i) plan[i].done = true;
  const size_t left = plan.size() - plan.size() / 2;
  auto id = store_->Create(5, "manual", "all", plan, 1);
  ASSERT_TRUE(id.ok());
  RepairOptions o;
  o.interval_ms = 0;
  o.ranges_per_exchange = 1;  // one mark per range: countable
  StartScheduler(o);
  sched_->Wake();
  const auto done = WaitFinished(5);
  EXPECT_EQ(done.state, "complete") << done.error;
  EXPECT_EQ(done.done, plan.size());
  EXPECT_EQ(fakes_["n2"]->marks.size(), left);
}

TEST_F(RepairSchedulerTest, AReplicaNotReadyEndsTheJobIncompleteAndUnmarked) {
  fakes_["n3"]->ready = false;
  fakes_["n1"]->Put("a", Value("v", 1));
  StartManualOnly(3);
  const auto done = RepairAll(9);
  EXPECT_EQ(done.state, "incomplete");
  EXPECT_EQ(done.attempts, 3u);
  EXPECT_NE(done.error.find("n3 is not ready"), std::string::npos) << done.error;
  EXPECT_TRUE(fakes_["n1"]->marks.empty());
  // Once n3 is ready, a new request completes.
  fakes_["n3"]->ready = true;
  EXPECT_EQ(RepairAll(10).state, "complete");
  ExpectIdentical();
}

TEST_F(RepairSchedulerTest, AReplicaThatDoesNotAnswerIsAskedOncePerPass) {
  fakes_["n3"]->fail_after_calls = 0;
  StartManualOnly(2);
  const auto done = RepairAll(4);
  EXPECT_EQ(done.state, "incomplete");
  EXPECT_GT(done.total, 2u);
  // The first exchange of each pass finds it silent; the pass's other exchanges skip it.
  EXPECT_EQ(fakes_["n3"]->calls, 2u);
  EXPECT_NE(done.error.find("n3 does not answer"), std::string::npos) << done.error;
}

TEST_F(RepairSchedulerTest, AnUnknownNodeIsRefusedClearly) {
  StartManualOnly();
  gp::RepairStartRequest r;
  r.req = 3;
  r.node = "n9";
  sched_->Request(r);
  const auto done = WaitFinished(3);
  EXPECT_EQ(done.state, "incomplete");
  EXPECT_NE(done.error.find("n9 is not in the ring"), std::string::npos);
}

TEST_F(RepairSchedulerTest, ThePeriodicPassRepairsTheRangesThisNodeDrives) {
  for (int i = 0; i < 200; ++i) fakes_["n2"]->Put("k" + std::to_string(i), Value("v", 2));
  RepairOptions o;
  o.interval_ms = 50;
  StartScheduler(o);
  // n1 drives only the ranges where it is first: the keys there reach n1 and n3; the others
  // are left to n2's and n3's own drivers.
  RepairScope mine;
  mine.driver = "n1";
  const auto plan = PlanRanges(ring_, mine);
  size_t expected = 0;
  for (int i = 0; i < 200; ++i) {
    const Token t = TokenOf("k" + std::to_string(i));
    for (const auto& p : plan) expected += (t >= p.range.first && t <= p.range.last) ? 1 : 0;
  }
  for (int waited = 0; waited < 10000 && fakes_["n1"]->size() < expected; waited += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(fakes_["n1"]->size(), expected);
  EXPECT_EQ(fakes_["n3"]->size(), expected);
  EXPECT_GT(expected, 0u);
  EXPECT_LT(expected, 200u);
}

TEST_F(RepairSchedulerTest, TheThrottleHoldsTheRate) {
  for (int i = 0; i < 2000; ++i) fakes_["n1"]->Put("key-" + std::to_string(i), Value("v", 1));
  RepairOptions o;
  o.interval_ms = 0;
  o.mbps = 0.2;  // 200 bytes per ms
  StartScheduler(o);
  const auto t0 = std::chrono::steady_clock::now();
  gp::RepairStartRequest r;
  r.req = 1;
  sched_->Request(r);
  const auto done = WaitFinished(1, 30000);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(done.state, "complete");
  // The first 100 ms of the rate go at once; the rest is paced.
  const double floor_ms = (static_cast<double>(done.bytes) - 100 * 200) / 200;
  EXPECT_GE(ms, floor_ms * 0.9) << done.bytes << " bytes";
}

}  // namespace
}  // namespace ringkv::gossip
