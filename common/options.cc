// Shared option parsing: --help, --config, --log-level, --print-config, --check-config, the
// origin of every value, one-line errors and start-up probes (see options.h).
#include "common/options.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/build_info.h"
#include "common/config_probe.h"
#include "common/logging.h"

namespace ringkv {

namespace {

// Options of the command line only: they are not part of a configuration.
bool IsCommandOnly(const std::string& name) {
  return name == "help" || name == "version" || name == "config" || name == "print-config" ||
         name == "check-config" || name == "list-options";
}

bool IsUnsigned(const std::type_info& t) {
  return t == typeid(unsigned) || t == typeid(unsigned long) || t == typeid(unsigned long long) ||
         t == typeid(unsigned short);
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// One value of a supported option type as text; false for a type this helper does not know.
template <typename T>
bool Render(const boost::any& v, std::vector<std::string>* out) {
  const T* p = boost::any_cast<T>(&v);
  if (!p) return false;
  if constexpr (std::is_same_v<T, std::string>) {
    out->push_back(*p);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    *out = *p;
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    for (int n : *p) out->push_back(std::to_string(n));
  } else if constexpr (std::is_same_v<T, bool>) {
    out->push_back(*p ? "true" : "false");
  } else if constexpr (std::is_same_v<T, double>) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), *p);
    out->emplace_back(buf, r.ptr);
  } else {
    out->push_back(std::to_string(*p));
  }
  return true;
}

// Every value of `v` as text (one for scalars, any number for vectors).
std::vector<std::string> Values(const po::variable_value& v) {
  std::vector<std::string> out;
  const boost::any& a = v.value();
  if (a.empty()) return out;
  (void)(Render<std::string>(a, &out) || Render<std::vector<std::string>>(a, &out) ||
         Render<std::vector<int>>(a, &out) || Render<bool>(a, &out) ||
         Render<int>(a, &out) || Render<unsigned>(a, &out) || Render<unsigned short>(a, &out) ||
         Render<short>(a, &out) ||
         Render<long>(a, &out) || Render<unsigned long>(a, &out) || Render<long long>(a, &out) ||
         Render<unsigned long long>(a, &out) || Render<double>(a, &out) ||
         Render<float>(a, &out) || (out.push_back("?"), true));
  return out;
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

}  // namespace

ProgramOptions::ProgramOptions(std::string program, std::string usage, const std::string& caption)
    : program_(std::move(program)), usage_(std::move(usage)), desc_(caption) {}

std::optional<int> ProgramOptions::Parse(int argc, char** argv,
                                         const po::positional_options_description* positional) {
  log::SetProgramName(program_);
  po::options_description common("Common options");
  common.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("config", po::value<std::string>(), "read options from this file (INI: `name = value`, "
       "names as the long flags; flags on the command line win)")
      ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn or error")
      ("print-config", "print the effective configuration, one `name = value` line per option "
       "with where the value came from (default, config file, command line), and exit")
      ("check-config", "validate every option, try to bind every endpoint and to write in every "
       "directory the configuration names, print `configuration OK` and exit (2 on an error)");
  po::options_description hidden;
  hidden.add_options()("list-options",
                       "print every config option, one line each: NAME, or NAME<TAB>=DEFAULT "
                       "when it has a default, and exit (tests compare it with conf/)");
  po::options_description visible;
  visible.add(desc_).add(common);
  all_.add(visible).add(hidden);
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(all_);
    if (positional) parser.positional(*positional);
    po::parsed_options cmd = parser.run();
    po::store(cmd, vm_);
    for (const po::option& o : cmd.options) from_command_line_.insert(o.string_key);
    if (vm_.count("help")) {
      std::cout << "Usage: " << usage_ << "\n\n" << visible << "\n";
      return 0;
    }
    if (vm_.count("version")) {
      std::cout << program_ << " (ringkv) " << Version() << "\n";
      return 0;
    }
    if (vm_.count("list-options")) {
      po::variables_map defaults;
      po::store(po::parsed_options(&all_), defaults);
      for (const std::string& name : ConfigOptionNames()) {
        std::cout << name;
        if (defaults.count(name)) std::cout << "\t=" << Join(Values(defaults[name]), ", ");
        std::cout << "\n";
      }
      return 0;
    }
    std::vector<po::option> file_options;
    if (vm_.count("config")) {
      config_path_ = vm_["config"].as<std::string>();
      std::ifstream in(config_path_);
      if (!in) {
        return Error("--config " + config_path_ + ": cannot read it: " + std::strerror(errno));
      }
      try {
        po::parsed_options file = po::parse_config_file(in, all_, /*allow_unregistered=*/true);
        for (const po::option& o : file.options) {
          const std::string value = Join(o.value, ", ");
          if (o.unregistered) {
            return Error("unknown option '" + o.string_key + "' (" + o.string_key + " = " +
                         value + ") in config file " + config_path_);
          }
          if (IsCommandOnly(o.string_key)) {
            return Error("option '" + o.string_key + "' is for the command line, not config file " +
                         config_path_);
          }
        }
        po::store(file, vm_);
        file_options = file.options;
      } catch (const po::error& e) {
        return Error(std::string(e.what()) + " in config file " + config_path_);
      }
      for (const po::option& o : file_options) {
        if (!from_command_line_.count(o.string_key)) from_config_file_.insert(o.string_key);
      }
    }
    // Boost turns "-1" into a huge unsigned number without a word: refuse it here, for every
    // unsigned option, wherever it was given.
    std::vector<po::option> given = cmd.options;
    given.insert(given.end(), file_options.begin(), file_options.end());
    for (const po::option& o : given) {
      if (o.unregistered || !vm_.count(o.string_key)) continue;
      if (!IsUnsigned(vm_[o.string_key].value().type())) continue;
      for (const std::string& v : o.value) {
        if (Trim(v).rfind('-', 0) == 0) {
          return Error("--" + o.string_key + " must not be negative (" + o.string_key + " = " +
                       v + " from " + Origin(o.string_key) + ")");
        }
      }
    }
    po::notify(vm_);
  } catch (const po::error& e) {
    return Error(std::string(e.what()) + " (see --help)");
  }
  log::Level level;
  if (!log::ParseLevel(vm_["log-level"].as<std::string>(), &level)) {
    return Fail("--log-level must be debug, info, warn or error");
  }
  log::SetMinLevel(level);
  return std::nullopt;
}

std::vector<std::string> ProgramOptions::ConfigOptionNames() const {
  std::vector<std::string> names;
  for (const auto& d : all_.options()) {
    if (!IsCommandOnly(d->long_name())) names.push_back(d->long_name());
  }
  return names;
}

std::string ProgramOptions::Origin(const std::string& name) const {
  if (from_command_line_.count(name)) return "command line";
  if (from_config_file_.count(name)) return "config file " + config_path_;
  if (vm_.count(name)) return vm_[name].defaulted() ? "default" : "command line";
  return "unset";
}

std::string ProgramOptions::ValueText(const std::string& name) const {
  if (!vm_.count(name)) return "";
  return Join(Values(vm_[name]), ", ");
}

int ProgramOptions::Error(const std::string& line) const {
  std::cerr << program_ << ": " << line << "\n";
  return 2;
}

int ProgramOptions::Fail(const std::string& message) const {
  // The first --NAME in the message that is one of our options.
  std::string name;
  for (size_t pos = message.find("--"); pos != std::string::npos;
       pos = message.find("--", pos + 2)) {
    size_t end = pos + 2;
    while (end < message.size() &&
           (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '-')) {
      ++end;
    }
    std::string candidate = message.substr(pos + 2, end - pos - 2);
    if (!candidate.empty() && all_.find_nothrow(candidate, false)) {
      name = candidate;
      break;
    }
  }
  if (name.empty()) return Error(message);
  const std::string origin = Origin(name);
  if (origin == "unset") return Error(message + " (" + name + " is not set)");
  const std::vector<std::string> values = Values(vm_[name]);
  const std::string value = Join(values, ", ");
  // A repeated option (--node): the message quotes the bad one; listing all would not help.
  if (values.size() > 1 || (!value.empty() && message.find("'" + value + "'") != std::string::npos)) {
    return Error(message + " (from " + origin + ")");
  }
  return Error(message + " (" + name + " = " + value + " from " + origin + ")");
}

void ProgramOptions::NoteDerived(const std::string& name, const std::string& value,
                                 const std::string& how) {
  derived_[name] = {value, how};
}

void ProgramOptions::RequireBindable(const std::string& option, const std::string& endpoint) {
  probes_.push_back({true, option, endpoint});
}

void ProgramOptions::RequireWritableDir(const std::string& option, const std::string& dir) {
  probes_.push_back({false, option, dir});
}

std::string ProgramOptions::EffectiveConfig() const {
  std::ostringstream out;
  out << "# " << program_ << ": effective configuration";
  if (!config_path_.empty()) out << " (config file " << config_path_ << ")";
  out << "\n";
  for (const std::string& name : ConfigOptionNames()) {
    const std::string origin = Origin(name);
    if (auto d = derived_.find(name); d != derived_.end() && ValueText(name).empty()) {
      std::string line = name + " = " + d->second.first;
      if (line.size() < 40) line.resize(40, ' ');
      out << line << "  # " << d->second.second << "\n";
      continue;
    }
    if (origin == "unset") {
      out << "# " << name << " is not set\n";
      continue;
    }
    for (const std::string& v : Values(vm_[name])) {
      std::string line = name + " = " + v;
      if (line.size() < 40) line.resize(40, ' ');
      out << line << "  # " << origin << "\n";
    }
  }
  return out.str();
}

std::optional<int> ProgramOptions::Finish() const {
  if (vm_.count("print-config")) {
    std::cout << EffectiveConfig();
    return 0;
  }
  for (const Probe& p : probes_) {
    Status s = p.bind ? ProbeBind(p.value) : ProbeWritableDir(p.value);
    if (!s.ok()) return Fail("--" + p.option + " '" + p.value + "': " + s.message());
  }
  if (vm_.count("check-config")) {
    std::cout << program_ << ": configuration OK\n";
    return 0;
  }
  return std::nullopt;
}

std::optional<int> ParseProgramOptions(int argc, char** argv, const std::string& program,
                                       const std::string& usage, po::options_description& desc,
                                       po::variables_map& vm,
                                       const po::positional_options_description* positional) {
  ProgramOptions config(program, usage, "Options");
  for (const auto& option : desc.options()) config.options().add(option);
  if (auto rc = config.Parse(argc, argv, positional)) return rc;
  vm = config.vm();
  return config.Finish();
}

namespace {

// "<digits><suffix>": the count and the suffix. False unless the text starts with a digit and
// the count fits 64 bits.
bool SplitCount(const std::string& text, unsigned long long* n, std::string* suffix) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  size_t pos = 0;
  try {
    *n = std::stoull(text, &pos);
  } catch (...) {
    return false;
  }
  *suffix = text.substr(pos);
  return true;
}

}  // namespace

bool ParseByteSize(const std::string& text, uint64_t* out) {
  unsigned long long n = 0;
  std::string suffix;
  if (!SplitCount(text, &n, &suffix)) return false;
  uint64_t mult = 1;
  if (suffix.empty() || suffix == "B") mult = 1;
  else if (suffix == "K" || suffix == "KiB" || suffix == "k") mult = 1024ull;
  else if (suffix == "M" || suffix == "MiB") mult = 1024ull * 1024;
  else if (suffix == "G" || suffix == "GiB") mult = 1024ull * 1024 * 1024;
  else return false;
  *out = n * mult;
  return true;
}

bool ParseDurationMs(const std::string& text, int64_t* out_ms) {
  unsigned long long n = 0;
  std::string unit;
  if (!SplitCount(text, &n, &unit)) return false;
  int64_t mult = 0;
  if (unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m" || unit == "min") mult = 60 * 1000;
  else if (unit == "h") mult = 3600 * 1000;
  else if (unit == "d") mult = 86400 * 1000;
  else return false;
  if (n > static_cast<unsigned long long>(INT64_MAX / mult)) return false;
  *out_ms = static_cast<int64_t>(n) * mult;
  return true;
}

}  // namespace ringkv
