// ringkv-lazyfs: the FUSE operations (high-level, path-based API) over a State.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse3/fuse.h>
#include <fuse3/fuse_lowlevel.h>  // fuse_session_exited

#include "tests/fault/lazyfs/lazyfs.h"

namespace ringkv::lazyfs {

// The operations table; each call finds the State as fuse_get_context()->private_data.
const fuse_operations* Operations();

}  // namespace ringkv::lazyfs
