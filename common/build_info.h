// The version of this build of ringkv (CMake's project version), for --version and the package.
#pragma once

namespace ringkv {

// "MAJOR.MINOR.PATCH", e.g. "0.14.0".
const char* Version();

}  // namespace ringkv
