// The `ringkv` CLI's security parts (docs/security.md): the `keygen` command, and the CURVE
// options every other command takes (--curve-server-key, --curve-key, or the environment's
// RINGKV_CURVE_SERVER_KEY and RINGKV_CURVE_KEY), read into the client library's Options.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "clients/cpp/client.h"

namespace ringkv::cli {

// Adds --curve-server-key and --curve-key (defaults from the environment).
void AddCurveOptions(boost::program_options::options_description& desc);

// Fills o's curve_* fields from the key files named. Returns "" or one line saying what is wrong
// (which option, which file, why).
std::string ApplyCurveOptions(const boost::program_options::variables_map& vm,
                              client::Options* o);

// `ringkv keygen BASE`: writes BASE.key (mode 0600) and BASE.pub, prints the public key.
// Returns the exit code (0, or 8 when the files cannot be written).
int CmdKeygen(const std::vector<std::string>& args);

}  // namespace ringkv::cli
