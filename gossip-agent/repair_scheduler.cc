// The anti-entropy driver's thread (see repair_scheduler.h).
#include "gossip-agent/repair_scheduler.h"

#include <algorithm>
#include <chrono>

#include "common/logging.h"

namespace ringkv::gossip {

namespace gp = gossip_protocol;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double SteadyMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The throttle lets this much go at once after an idle spell (ms of the rate).
constexpr double kBurstMs = 100;

// A checkpoint write that fails is logged; the job goes on (what it did is redone after a
// restart, which the version model makes harmless).
RepairScope ScopeOf(const gp::RepairStartRequest& r) {
  return {r.node, r.has_range, r.first, r.last, ""};
}

// What a request not taken by the thread yet reports.
gp::RepairJobStatus Queued(const gp::RepairStartRequest& r) {
  gp::RepairJobStatus q;
  q.req = r.req;
  q.kind = "manual";
  q.scope = ScopeName(ScopeOf(r));
  q.state = "queued";
  return q;
}

void Checked(const Status& s) {
  if (!s.ok()) {
    RINGKV_LOG(kError) << "repair checkpoint: " << s.ToString();
  }
}

}  // namespace

RepairScheduler::RepairScheduler(std::string self, RepairStore* store, RingSource ring,
                                 ReplicaFactory make, RepairOptions options, Clock clock)
    : self_(std::move(self)),
      store_(store),
      ring_(std::move(ring)),
      make_(std::move(make)),
      opts_(options),
      clock_(clock ? std::move(clock) : Clock(WallMs)) {}

RepairScheduler::~RepairScheduler() { Stop(); }

void RepairScheduler::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void RepairScheduler::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RepairScheduler::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

std::vector<gp::RepairJobStatus> RepairScheduler::Request(const gp::RepairStartRequest& r) {
  std::vector<gp::RepairJobStatus> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const Summary& s : jobs_) {
      if (s.status.req == r.req) return {s.status};
    }
    bool queued = false;
    for (const auto& p : pending_) queued = queued || p.req == r.req;
    if (!queued) pending_.push_back(r);
    out.push_back(Queued(r));
    wake_ = true;
  }
  cv_.notify_all();
  return out;
}

std::vector<gp::RepairJobStatus> RepairScheduler::Jobs(uint64_t req) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<gp::RepairJobStatus> out;
  for (const Summary& s : jobs_) {
    if (req == 0 || s.status.req == req) out.push_back(s.status);
  }
  for (const auto& p : pending_) {
    if (req != 0 && p.req != req) continue;
    if (req != 0 && !out.empty()) break;
    out.push_back(Queued(p));
  }
  return out;
}

RepairCounters RepairScheduler::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

bool RepairScheduler::ManualPending() const {
  std::lock_guard<std::mutex> l(mu_);
  return !pending_.empty();
}

RepairScheduler::Summary* RepairScheduler::Find(int64_t id) {
  for (Summary& s : jobs_) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

void RepairScheduler::Publish(const RepairJob& job, const std::string& state) {
  const int64_t now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  Summary* s = Find(job.id);
  if (s == nullptr) {
    jobs_.push_back({});
    s = &jobs_.back();
    s->id = job.id;
  }
  gp::RepairJobStatus& st = s->status;
  st.req = job.req;
  st.kind = job.kind;
  st.scope = job.scope;
  st.state = state;
  st.total = job.ranges.size();
  st.done = job.done();
  st.keys_compared = job.counters.keys_compared;
  st.keys_differing = job.counters.keys_differing;
  st.keys_sent = job.counters.keys_sent;
  st.bytes = job.counters.bytes;
  st.attempts = job.attempts;
  st.error = st.done == st.total ? "" : job.error;
  st.eta_ms = 0;
  if (s->run_start_ms == 0 && state == "running") {
    s->run_start_ms = now;
    s->done_at_start = st.done;
  }
  if (state == "running" && st.done > s->done_at_start && now > s->run_start_ms) {
    const double per_ms = static_cast<double>(st.done - s->done_at_start) /
                          static_cast<double>(now - s->run_start_ms);
    st.eta_ms = static_cast<uint64_t>(static_cast<double>(st.total - st.done) / per_ms);
  }
  // Bounded: the finished jobs beyond keep_finished are forgotten, oldest first.
  size_t finished = 0;
  for (const Summary& j : jobs_) finished += j.status.finished() ? 1 : 0;
  for (auto it = jobs_.begin(); finished > opts_.keep_finished && it != jobs_.end();) {
    if (it->status.finished()) {
      it = jobs_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
}

bool RepairScheduler::Sleep(int64_t ms) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::milliseconds(std::max<int64_t>(0, ms)),
               [this] { return stop_.load(); });
  return !stop_;
}

bool RepairScheduler::Pace(uint64_t bytes) {
  if (stop_) return false;
  if (opts_.mbps <= 0) return true;
  const double per_ms = opts_.mbps * 1000.0;  // bytes per ms
  const double now = SteadyMs();
  bucket_next_ms_ = std::max(bucket_next_ms_, now - kBurstMs) + static_cast<double>(bytes) / per_ms;
  const double wait = bucket_next_ms_ - now;
  // Sleeps in slices so that a stop is seen promptly.
  for (double left = wait; left > 0; left -= 200) {
    if (!Sleep(static_cast<int64_t>(std::min(left, 200.0)) + 1)) return false;
  }
  return !stop_;
}

void RepairScheduler::Resume() {
  auto active = store_->Active();
  if (!active.ok()) {
    RINGKV_LOG(kError) << "repair: " << active.status().ToString();
  } else {
    for (const RepairJob& j : *active) {
      RINGKV_LOG(kInfo) << "repair: resuming " << j.kind << " job " << j.id << " (" << j.scope
                        << "): " << j.done() << " of " << j.ranges.size() << " ranges done";
      Publish(j, "waiting");
    }
  }
  const int64_t now = clock_();
  auto latest = store_->Latest("periodic");
  if (latest.ok() && latest->has_value()) {
    next_periodic_ms_ = (*latest)->created_ms + opts_.interval_ms;
  } else {
    // A new node: the first pass after a short settling time (trees rebuilt, peers seen).
    next_periodic_ms_ = now + std::min<int64_t>(opts_.interval_ms, 10000);
  }
}

void RepairScheduler::TakeRequests() {
  for (;;) {
    gp::RepairStartRequest r;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (pending_.empty()) return;
      r = pending_.front();
    }
    const RepairScope scope = ScopeOf(r);
    auto existing = store_->ByReq(r.req);
    std::string error;
    if (existing.ok() && existing->has_value()) {
      const RepairJob& j = **existing;
      Publish(j, j.finished_ms ? j.outcome : "waiting");
    } else {
      auto ring = ring_();
      if (!ring.ok()) {
        error = "no ring: " + ring.status().ToString();
      } else if (!r.node.empty() && ring->Find(r.node) == nullptr) {
        error = "node " + r.node + " is not in the ring";
      } else {
        const auto plan = PlanRanges(*ring, scope);
        auto id = store_->Create(r.req, "manual", ScopeName(scope), plan, clock_());
        if (!id.ok()) {
          error = id.status().ToString();
        } else {
          RepairJob j;
          j.id = *id;
          j.req = r.req;
          j.kind = "manual";
          j.scope = ScopeName(scope);
          j.ranges = plan;
          RINGKV_LOG(kInfo) << "repair: job " << j.id << " (" << j.scope << "): "
                            << plan.size() << " ranges";
          // Another manual job it superseded ends for its waiter.
          {
            std::lock_guard<std::mutex> l(mu_);
            for (Summary& s : jobs_) {
              if (s.status.kind == "manual" && !s.status.finished()) s.status.state = "superseded";
            }
          }
          Publish(j, "waiting");
        }
      }
    }
    std::lock_guard<std::mutex> l(mu_);
    if (!error.empty()) {
      RINGKV_LOG(kWarn) << "repair request refused: " << error;
      Summary s;
      s.status.req = r.req;
      s.status.kind = "manual";
      s.status.scope = ScopeName(scope);
      s.status.state = "incomplete";
      s.status.error = error;
      jobs_.push_back(s);
    }
    pending_.pop_front();
  }
}

bool RepairScheduler::PickAndRun() {
  auto active = store_->Active();
  if (!active.ok()) {
    RINGKV_LOG(kError) << "repair: " << active.status().ToString();
    return false;
  }
  const int64_t now = clock_();
  RepairJob* chosen = nullptr;
  bool periodic_active = false;
  for (const char* kind : {"manual", "periodic"}) {
    for (RepairJob& j : *active) {
      if (j.kind != kind) continue;
      if (j.kind == "periodic") periodic_active = true;
      int64_t retry_at = 0;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (const Summary* s = Find(j.id)) retry_at = s->retry_at_ms;
      }
      if (chosen == nullptr && now >= retry_at) chosen = &j;
    }
  }
  RepairJob fresh;
  if (chosen == nullptr && !periodic_active && opts_.interval_ms > 0 && now >= next_periodic_ms_) {
    auto ring = ring_();
    if (!ring.ok()) {
      next_periodic_ms_ = now + std::min<int64_t>(opts_.interval_ms, 10000);
      return false;
    }
    RepairScope scope;
    scope.driver = self_;
    fresh.ranges = PlanRanges(*ring, scope);
    fresh.kind = "periodic";
    fresh.scope = ScopeName(scope);
    auto id = store_->Create(0, fresh.kind, fresh.scope, fresh.ranges, now);
    if (!id.ok()) {
      RINGKV_LOG(kError) << "repair: " << id.status().ToString();
      next_periodic_ms_ = now + std::min<int64_t>(opts_.interval_ms, 10000);
      return false;
    }
    fresh.id = *id;
    fresh.created_ms = now;
    // The next pass starts one interval after this one started: every range within the interval
    // (unless a pass takes longer than the interval; then the next starts when it ends).
    next_periodic_ms_ = now + opts_.interval_ms;
    chosen = &fresh;
  }
  if (chosen == nullptr) return false;
  RunPass(*chosen);
  return true;
}

void RepairScheduler::RunPass(RepairJob& job) {
  Publish(job, "running");
  std::string error;
  auto ring = ring_();
  if (!ring.ok()) error = "no ring: " + ring.status().ToString();
  // The ranges not done, grouped by preference list: one exchange compares one replica set.
  std::map<std::vector<std::string>, std::vector<size_t>> groups;
  for (size_t i = 0; i < job.ranges.size(); ++i) {
    if (!job.ranges[i].done) groups[job.ranges[i].replicas].push_back(i);
  }
  std::map<std::string, std::unique_ptr<AaeReplica>> clients;
  std::map<std::string, std::string> failed;  // node -> why, for this pass
  for (const auto& [replicas, idx] : groups) {
    if (!ring.ok()) break;
    // At least 4 exchanges per group (when it has the ranges), so that progress is reported
    // and checkpointed as it goes (each costs a few hundred bytes of roots and marks per
    // replica); at most ranges_per_exchange ranges in one.
    const size_t step = std::clamp<size_t>((idx.size() + 3) / 4, 1,
                                           std::max<uint32_t>(1, opts_.ranges_per_exchange));
    for (size_t begin = 0; begin < idx.size(); begin += step) {
      if (stop_) return;
      if (job.kind == "periodic" && ManualPending()) return;  // an operator's repair goes first
      std::vector<AaeReplica*> ptrs;
      std::string missing;
      for (const std::string& id : replicas) {
        const NodeInfo* n = ring->Find(id);
        if (n == nullptr) {
          missing = "node " + id + " is no longer in the ring";
          break;
        }
        if (auto d = failed.find(id); d != failed.end()) {
          // Failed earlier in this pass: the rest of its ranges wait for the next pass rather
          // than each waiting for its timeout.
          missing = d->second;
          break;
        }
        auto& c = clients[id];
        if (!c) c = make_(*n);
        ptrs.push_back(c.get());
      }
      if (!missing.empty()) {
        if (error.empty()) error = missing;
        break;
      }
      const size_t end = std::min(idx.size(), begin + step);
      std::vector<AaeRange> ranges;
      for (size_t i = begin; i < end; ++i) ranges.push_back(job.ranges[idx[i]].range);
      ExchangeResult res = ExchangeRanges(ptrs, ranges, opts_.exchange,
                                          [this](uint64_t b) { return Pace(b); });
      std::vector<size_t> done;
      for (size_t i = 0; i < ranges.size(); ++i) {
        if (res.complete[i]) done.push_back(idx[begin + i]);
      }
      if (!res.error.empty() && error.empty()) error = res.error;
      if (!res.failed_node.empty()) failed.emplace(res.failed_node, res.error);
      Checked(store_->Progress(job.id, done, res.counters, res.error));
      for (size_t i : done) job.ranges[i].done = true;
      job.counters.Add(res.counters);
      if (!res.error.empty()) job.error = res.error;
      {
        std::lock_guard<std::mutex> l(mu_);
        ++counters_.exchanges;
        counters_.ranges_complete += done.size();
        counters_.ranges_incomplete += ranges.size() - done.size();
        counters_.keys_sent += res.counters.keys_sent;
        counters_.bytes += res.counters.bytes;
      }
      Publish(job, "running");
      if (res.error == "stopped") return;
    }
  }
  if (stop_) return;
  const int64_t now = clock_();
  if (job.done() == job.ranges.size()) {
    Checked(store_->Finish(job.id, "complete", now));
    RINGKV_LOG(kInfo) << "repair: " << job.kind << " job " << job.id << " complete: "
                      << job.ranges.size() << " ranges, " << job.counters.keys_compared
                      << " keys compared, " << job.counters.keys_sent << " sent, "
                      << job.counters.bytes << " bytes";
    job.error.clear();
    Publish(job, "complete");
    std::lock_guard<std::mutex> l(mu_);
    ++counters_.jobs_complete;
  } else {
    if (!error.empty()) job.error = error;
    ++job.attempts;
    Checked(store_->Attempted(job.id));
    if (static_cast<int>(job.attempts) >= opts_.max_attempts) {
      Checked(store_->Finish(job.id, "incomplete", now));
      RINGKV_LOG(kWarn) << "repair: " << job.kind << " job " << job.id << " ends incomplete ("
                        << job.done() << " of " << job.ranges.size()
                        << " ranges) after " << job.attempts << " passes: " << job.error;
      Publish(job, "incomplete");
      std::lock_guard<std::mutex> l(mu_);
      ++counters_.jobs_incomplete;
    } else {
      const int64_t pause = std::min<int64_t>(
          opts_.retry_max_ms, opts_.retry_min_ms << std::min<uint64_t>(20, job.attempts - 1));
      RINGKV_LOG(kInfo) << "repair: job " << job.id << " " << job.done() << " of "
                        << job.ranges.size() << " ranges done; again in " << pause
                        << " ms: " << job.error;
      Publish(job, "waiting");
      std::lock_guard<std::mutex> l(mu_);
      if (Summary* sm = Find(job.id)) sm->retry_at_ms = now + pause;
    }
  }
  Checked(store_->Prune(opts_.keep_finished));
}

void RepairScheduler::Loop() {
  Resume();
  while (!stop_) {
    TakeRequests();
    if (stop_) break;
    if (PickAndRun()) continue;
    // Nothing to do now: wait for a request, the next periodic pass or a retry (re-checked
    // at least every second).
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(opts_.interval_ms > 0
                                                  ? std::clamp<int64_t>(opts_.interval_ms / 4, 20, 1000)
                                                  : 1000),
                 [this] { return stop_.load() || wake_ || !pending_.empty(); });
    wake_ = false;
  }
}

}  // namespace ringkv::gossip
