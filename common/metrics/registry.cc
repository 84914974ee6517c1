// The registry and its two renderings: Prometheus text exposition and the `stats` map.
#include "common/metrics/registry.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace ringkv::metrics {

struct Registry::Entry {
  std::string name;  // with the prefix
  std::string help;
  Type type = Type::kCounter;
  Unit unit = Unit::kNone;
  std::string stats_key;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Gauge>> gauges;
  std::unique_ptr<Family<Histogram>> histograms;
  std::vector<std::string> callback_labels;
  Callback callback;
  const TopK* top = nullptr;
  const Histogram* histogram_view = nullptr;
};

namespace {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

std::string EscapeHelp(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void AppendNumber(std::string* out, double v) {
  if (std::isnan(v)) {
    *out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

// {a="x",b="y"} from the constant labels and the label names and values.
std::string LabelSet(const std::vector<std::pair<std::string, std::string>>& fixed,
                     const std::vector<std::string>& names, const std::vector<std::string>& values) {
  std::string out;
  auto add = [&](const std::string& n, std::string_view v) {
    out += out.empty() ? "{" : ",";
    out += n;
    out += "=\"";
    out += EscapeLabelValue(v);
    out += '"';
  };
  for (const auto& [n, v] : fixed) add(n, v);
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) add(names[i], values[i]);
  if (!out.empty()) out += '}';
  return out;
}

void AppendSample(std::string* out, const std::string& name, const std::string& labels,
                  double v) {
  *out += name;
  *out += labels;
  *out += ' ';
  AppendNumber(out, v);
  *out += '\n';
}

// name_bucket / _sum / _count lines of one histogram series; `labels` is its label set ("{...}"
// or empty). One `le` per power of two (the last bucket of each group of four): Prometheus wants
// the same bounds on every scrape, and forty lines per series is enough.
void AppendHistogram(std::string* out, const std::string& name, Unit unit,
                     const std::string& labels, const Histogram& h) {
  // Divided, not multiplied by 1e-6: 2047 / 1e6 prints as 0.002047, 2047 * 1e-6 does not.
  const double divisor = unit == Unit::kMicroseconds ? 1e6 : 1.0;
  // The label set with le added: before the closing brace, or a new set.
  auto with_le = [&](const std::string& le) {
    if (labels.empty()) return "{le=\"" + le + "\"}";
    return labels.substr(0, labels.size() - 1) + ",le=\"" + le + "\"}";
  };
  uint64_t cum = 0;
  for (int i = 0; i < Histogram::kBuckets; ++i) {
    cum += h.bucket(i);
    if (i % Histogram::kSubBuckets != Histogram::kSubBuckets - 1) continue;
    if (i == Histogram::kBuckets - 1) break;  // the last group is open-ended: +Inf
    std::string le;
    AppendNumber(&le, static_cast<double>(Histogram::UpperBound(i)) / divisor);
    AppendSample(out, name + "_bucket", with_le(le), static_cast<double>(cum));
  }
  const uint64_t count = cum;  // not h.count(): racing writers must not make +Inf < a bucket
  AppendSample(out, name + "_bucket", with_le("+Inf"), static_cast<double>(count));
  AppendSample(out, name + "_sum", labels, static_cast<double>(h.sum()) / divisor);
  AppendSample(out, name + "_count", labels, static_cast<double>(count));
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Registry::Registry(std::string prefix,
                   std::vector<std::pair<std::string, std::string>> const_labels)
    : prefix_(std::move(prefix)), const_labels_(std::move(const_labels)) {}

Registry::~Registry() = default;

Registry::Entry& Registry::Add(const std::string& name, const std::string& help, Type type) {
  auto e = std::make_unique<Entry>();
  e->name = prefix_.empty() ? name : prefix_ + "_" + name;
  e->help = help;
  e->type = type;
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back(std::move(e));
  return *entries_.back();
}

Counter* Registry::AddCounter(const std::string& name, const std::string& help,
                              const std::string& stats_key) {
  Entry& e = Add(name, help, Type::kCounter);
  e.stats_key = stats_key;
  e.counters = std::make_unique<Family<Counter>>(std::vector<std::string>{});
  return e.counters->With({});
}

Gauge* Registry::AddGauge(const std::string& name, const std::string& help,
                          const std::string& stats_key) {
  Entry& e = Add(name, help, Type::kGauge);
  e.stats_key = stats_key;
  e.gauges = std::make_unique<Family<Gauge>>(std::vector<std::string>{});
  return e.gauges->With({});
}

Histogram* Registry::AddHistogram(const std::string& name, const std::string& help, Unit unit) {
  return AddHistogramFamily(name, help, unit, {})->With({});
}

Family<Counter>* Registry::AddCounterFamily(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names) {
  Entry& e = Add(name, help, Type::kCounter);
  e.counters = std::make_unique<Family<Counter>>(std::move(label_names));
  return e.counters.get();
}

Family<Gauge>* Registry::AddGaugeFamily(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names) {
  Entry& e = Add(name, help, Type::kGauge);
  e.gauges = std::make_unique<Family<Gauge>>(std::move(label_names));
  return e.gauges.get();
}

Family<Histogram>* Registry::AddHistogramFamily(const std::string& name,
                                                const std::string& help, Unit unit,
                                                std::vector<std::string> label_names) {
  Entry& e = Add(name, help, Type::kHistogram);
  e.unit = unit;
  e.histograms = std::make_unique<Family<Histogram>>(std::move(label_names));
  return e.histograms.get();
}

void Registry::AddCallback(const std::string& name, const std::string& help, Type type,
                           std::vector<std::string> label_names, Callback fn,
                           const std::string& stats_key) {
  Entry& e = Add(name, help, type);
  e.callback_labels = std::move(label_names);
  e.callback = std::move(fn);
  e.stats_key = stats_key;
}

void Registry::AddHistogramView(const std::string& name, const std::string& help, Unit unit,
                                const Histogram* h) {
  Entry& e = Add(name, help, Type::kHistogram);
  e.unit = unit;
  e.histogram_view = h;
}

void Registry::AddTopK(const std::string& name, const std::string& help, const TopK* top) {
  Entry& e = Add(name, help, Type::kGauge);
  e.callback_labels = {"key"};
  e.top = top;
}

std::string Registry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out.reserve(8192);
  for (const auto& ep : entries_) {
    const Entry& e = *ep;
    out += "# HELP " + e.name + " " + EscapeHelp(e.help) + "\n";
    out += "# TYPE " + e.name + " " + TypeName(e.type) + "\n";
    if (e.counters) {
      e.counters->ForEach([&](const std::vector<std::string>& v, const Counter& c) {
        AppendSample(&out, e.name, LabelSet(const_labels_, e.counters->label_names(), v),
                     static_cast<double>(c.value()));
      });
    } else if (e.gauges) {
      e.gauges->ForEach([&](const std::vector<std::string>& v, const Gauge& g) {
        AppendSample(&out, e.name, LabelSet(const_labels_, e.gauges->label_names(), v),
                     g.value());
      });
    } else if (e.histograms) {
      e.histograms->ForEach([&](const std::vector<std::string>& v, const Histogram& h) {
        AppendHistogram(&out, e.name, e.unit,
                        LabelSet(const_labels_, e.histograms->label_names(), v), h);
      });
    } else if (e.histogram_view) {
      AppendHistogram(&out, e.name, e.unit, LabelSet(const_labels_, {}, {}), *e.histogram_view);
    } else if (e.top) {
      for (const auto& t : e.top->Top()) {
        AppendSample(&out, e.name, LabelSet(const_labels_, e.callback_labels, {t.key}),
                     static_cast<double>(t.count));
      }
    } else if (e.callback) {
      for (const Sample& s : e.callback()) {
        AppendSample(&out, e.name, LabelSet(const_labels_, e.callback_labels, s.labels),
                     s.value);
      }
    }
  }
  return out;
}

std::vector<std::pair<std::string, uint64_t>> Registry::StatsEntries() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& ep : entries_) {
    const Entry& e = *ep;
    if (e.stats_key.empty()) continue;
    double v = 0;
    if (e.counters) {
      e.counters->ForEach([&](const std::vector<std::string>&, const Counter& c) {
        v = static_cast<double>(c.value());
      });
    } else if (e.gauges) {
      e.gauges->ForEach([&](const std::vector<std::string>&, const Gauge& g) { v = g.value(); });
    } else if (e.callback && !e.callback_labels.empty()) {
      for (const Sample& s : e.callback()) {
        std::string key = e.stats_key;
        for (size_t i = 0; i < s.labels.size(); ++i) key += (i ? "_" : "") + s.labels[i];
        out.emplace_back(std::move(key), s.value > 0 ? static_cast<uint64_t>(s.value) : 0);
      }
      continue;
    } else if (e.callback) {
      auto samples = e.callback();
      if (!samples.empty()) v = samples.front().value;
    }
    out.emplace_back(e.stats_key, v > 0 ? static_cast<uint64_t>(v) : 0);
  }
  return out;
}

}  // namespace ringkv::metrics
