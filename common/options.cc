// Shared option parsing: --help, --config, --log-level and clear errors.
#include "common/options.h"

#include <cstdint>
#include <fstream>
#include <iostream>

#include "common/logging.h"

namespace ringkv {

std::optional<int> ParseProgramOptions(int argc, char** argv, const std::string& program,
                                       const std::string& usage, po::options_description& desc,
                                       po::variables_map& vm,
                                       const po::positional_options_description* positional) {
  log::SetProgramName(program);
  po::options_description common("Common options");
  common.add_options()
      ("help,h", "print this help and exit")
      ("config", po::value<std::string>(), "read options from this file (INI: `name = value`, "
       "names as the long flags; flags on the command line win)")
      ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn or error");
  po::options_description all;
  all.add(desc).add(common);
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << "Usage: " << usage << "\n\n" << all << "\n";
      return 0;
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) {
        std::cerr << program << ": cannot read config file " << path << "\n";
        return 2;
      }
      po::store(po::parse_config_file(in, all, /*allow_unregistered=*/false), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << program << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  log::Level level;
  if (!log::ParseLevel(vm["log-level"].as<std::string>(), &level)) {
    std::cerr << program << ": --log-level must be debug, info, warn or error\n";
    return 2;
  }
  log::SetMinLevel(level);
  return std::nullopt;
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
