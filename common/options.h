// Command-line and config-file parsing shared by every ringkv program (Boost.Program_options).
// Each program declares its own options; ProgramOptions adds --help, --config FILE,
// --log-level, --print-config, --check-config and a hidden --list-options, reads the config
// file (INI syntax, `key = value`, the same names as the flags without dashes; flags win),
// remembers where every value came from, and turns every mistake into ONE line on stderr that
// names the option and its value, and exit code 2. docs/configuration.md describes it all.
//
// A program's start-up, in order:
//   ProgramOptions config("ringkv-x", usage);  config.options().add_options()(...);
//   if (auto rc = config.Parse(argc, argv)) return *rc;        // syntax, unknown keys, types
//   ... validate values; on a bad one: return config.Fail("--name must be ...");
//   config.RequireBindable("listen", endpoint); config.RequireWritableDir("data-dir", dir);
//   if (auto rc = config.Finish()) return *rc;                 // --print-config, probes
//
// Thread-safety: none needed; used by main's thread before any other thread starts.
#pragma once

#include <boost/program_options.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ringkv {

namespace po = boost::program_options;

class ProgramOptions {
 public:
  // `caption` heads the program's own options in --help.
  ProgramOptions(std::string program, std::string usage, const std::string& caption = "Options");

  // Where the program adds its options (before Parse).
  po::options_description& options() { return desc_; }

  // Parses argv, then the --config file. Returns std::nullopt when the program should go on,
  // or the exit code to return from main: 0 after --help or --list-options (printed), 2 after
  // an error (printed: one line). `positional` may be null.
  std::optional<int> Parse(int argc, char** argv,
                           const po::positional_options_description* positional = nullptr);

  // The parsed values. REQUIRES: Parse returned std::nullopt.
  const po::variables_map& vm() const { return vm_; }

  // Where `name`'s value came from: "command line", "config file PATH", "default" or "unset".
  std::string Origin(const std::string& name) const;
  // `name`'s value as text (vectors joined by ", "); "" when unset.
  std::string ValueText(const std::string& name) const;

  // Prints "PROGRAM: MESSAGE (NAME = VALUE from ORIGIN)" on stderr, naming the first option
  // `message` mentions as --NAME, and returns 2 (the exit code for bad options).
  int Fail(const std::string& message) const;

  // Records that `name`, left unset or empty, takes `value` from elsewhere (`how`, e.g. "this
  // node's gossip= endpoint"): --print-config shows that value with that origin.
  void NoteDerived(const std::string& name, const std::string& value, const std::string& how);

  // Start-up probes run by Finish (not by --print-config, which shows the configuration even on
  // a host where it could not serve). The first that fails is reported through Fail.
  void RequireBindable(const std::string& option, const std::string& endpoint);
  void RequireWritableDir(const std::string& option, const std::string& dir);

  // After the program validated its values: with --print-config prints the effective
  // configuration (one `name = value  # origin` line per value; a valid config file) and
  // returns 0; otherwise runs the probes (2 on the first failure) and, with --check-config,
  // prints "PROGRAM: configuration OK" and returns 0. std::nullopt: serve.
  std::optional<int> Finish() const;

  // The effective configuration as Finish prints it for --print-config.
  std::string EffectiveConfig() const;

 private:
  struct Probe {
    bool bind;  // else a writable directory
    std::string option;
    std::string value;
  };
  // Names of the config options (everything but --help, --config and the check flags).
  std::vector<std::string> ConfigOptionNames() const;
  int Error(const std::string& line) const;

  const std::string program_;
  const std::string usage_;
  po::options_description desc_;
  po::options_description all_;  // desc_ + the common options, built by Parse
  po::variables_map vm_;
  std::string config_path_;
  std::set<std::string> from_command_line_;
  std::set<std::string> from_config_file_;
  std::vector<Probe> probes_;
  std::map<std::string, std::pair<std::string, std::string>> derived_;  // name -> (value, how)
};

// For programs that need no checks of their own (the benchmarks, tests): ProgramOptions over
// `desc`, then Finish (so --print-config and --check-config work), the values copied into `vm`.
// Returns std::nullopt to go on, else the exit code (0 after --help, 2 after a printed error).
std::optional<int> ParseProgramOptions(int argc, char** argv, const std::string& program,
                                       const std::string& usage, po::options_description& desc,
                                       po::variables_map& vm,
                                       const po::positional_options_description* positional = nullptr);

// Size with an optional suffix K, M, G (powers of 1024): "64M" -> 67108864. False if malformed.
bool ParseByteSize(const std::string& text, uint64_t* out);

// Duration with a required unit ms, s, m, h or d: "3h" -> 10800000 (ms), "250ms" -> 250. The
// unit is required so that a bare count given to a duration option is an error, not a guess.
// False if malformed or negative.
bool ParseDurationMs(const std::string& text, int64_t* out_ms);

}  // namespace ringkv
