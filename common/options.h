// Command-line and config-file parsing shared by every ringkv program (Boost.Program_options).
// Each program declares its own options struct and an options_description; this helper adds
// --help, --config FILE and --log-level, reads the config file (INI syntax, `key = value`, the
// same names as the flags without dashes; flags win), and turns every mistake into one clear
// line on stderr and exit code 2.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>

namespace ringkv {

namespace po = boost::program_options;

// Returns std::nullopt when the program should go on, or the exit code to return from main
// (0 after --help, 2 after an error, which has already been printed). `vm` holds the values.
// `positional` may be null.
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
