// Registry: one per agent, the single home of its figures. Counters, gauges and histograms are
// registered once at start (one line each), optionally by labels (op, code); callbacks add
// figures read from elsewhere at scrape time (the engine's, the hint store's). The registry
// renders the Prometheus text exposition (format 0.0.4) for the HTTP endpoint and the flat
// key -> number map of each agent's `stats` op.
//
// Thread-safety: registration and rendering may run on any thread; the metric objects handed
// out stay valid for the registry's lifetime and are updated lock-free (metric.h). Callbacks
// run on the thread that renders, so they must be thread-safe themselves.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/metric.h"
#include "common/metrics/top_k.h"

namespace ringkv::metrics {

enum class Type { kCounter, kGauge, kHistogram };

// How a histogram's integer observations are exposed: microseconds become Prometheus's base
// unit, seconds; plain counts and bytes stay as they are.
enum class Unit { kMicroseconds, kNone };

// A set of metrics sharing a name, told apart by label values (in the order of label names).
template <typename T>
class Family {
 public:
  explicit Family(std::vector<std::string> label_names) : label_names_(std::move(label_names)) {}
  // The metric for these label values (created on first use). REQUIRES: one value per label
  // name. Takes a mutex: callers on a hot path look it up once and keep the pointer.
  T* With(const std::vector<std::string>& values) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = children_[values];
    if (!slot) slot = std::make_unique<T>();
    return slot.get();
  }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls fn(values, metric) for each child, in label order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, m] : children_) fn(values, *m);
  }

 private:
  const std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // by mu_
};

// One sample a callback reports: its label values (one per label name) and its value.
struct Sample {
  std::vector<std::string> labels;
  double value = 0;
};
using Callback = std::function<std::vector<Sample>()>;

class Registry {
 public:
  // prefix: prepended to every name ("ringkv_coordinator"); const_labels: added to every
  // sample ({{"node", "n1"}}).
  Registry(std::string prefix, std::vector<std::pair<std::string, std::string>> const_labels);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // name: snake_case, counters ending in _total, units in the name (_bytes, _seconds).
  // stats_key: when not empty, the `stats` op reports the figure under that key too.
  Counter* AddCounter(const std::string& name, const std::string& help,
                      const std::string& stats_key = "");
  Gauge* AddGauge(const std::string& name, const std::string& help,
                  const std::string& stats_key = "");
  Histogram* AddHistogram(const std::string& name, const std::string& help, Unit unit);
  Family<Counter>* AddCounterFamily(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names);
  Family<Gauge>* AddGaugeFamily(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names);
  Family<Histogram>* AddHistogramFamily(const std::string& name, const std::string& help,
                                        Unit unit, std::vector<std::string> label_names);
  // Figures computed at render time. With no label names and a stats_key, the first sample
  // is reported by the `stats` op under that key; with label names, every sample is, under the
  // key followed by its label values joined by '_' ("sstables_tier" + {"0"}: "sstables_tier0").
  void AddCallback(const std::string& name, const std::string& help, Type type,
                   std::vector<std::string> label_names, Callback fn,
                   const std::string& stats_key = "");
  // A histogram kept elsewhere (it must outlive the registry), rendered as if registered here.
  void AddHistogramView(const std::string& name, const std::string& help, Unit unit,
                        const Histogram* h);
  // The sketch's keys as a gauge family labelled `key` (escaped to printable ASCII).
  void AddTopK(const std::string& name, const std::string& help, const TopK* top);

  // The Prometheus text exposition of every figure.
  std::string RenderPrometheus() const;
  // The figures registered with a stats_key, by key, for the `stats` ops.
  std::vector<std::pair<std::string, uint64_t>> StatsEntries() const;

 private:
  struct Entry;
  Entry& Add(const std::string& name, const std::string& help, Type type);

  const std::string prefix_;
  const std::vector<std::pair<std::string, std::string>> const_labels_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // by mu_, in registration order
};

// Label-value escaping of the text format (\\, \", \n); bytes outside printable ASCII become
// \xNN so that any key is valid UTF-8.
std::string EscapeLabelValue(std::string_view v);

// Microseconds since an arbitrary start, from the steady clock: what latency histograms take.
int64_t MonotonicMicros();

}  // namespace ringkv::metrics
