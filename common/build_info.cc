// The version string comes from CMake (a definition on this file only: a new version recompiles
// one file, not every file that includes a header).
#include "common/build_info.h"

#ifndef RINGKV_VERSION
#error "RINGKV_VERSION is defined by common/CMakeLists.txt"
#endif

namespace ringkv {

const char* Version() { return RINGKV_VERSION; }

}  // namespace ringkv
