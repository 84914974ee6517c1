// The ring token of a key: XXH3-64 of the key bytes (seed 0), stable across machines and
// releases. The storage engine orders keys by (token, key) and the ring places them by token.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace ringkv {

using Token = uint64_t;

inline Token TokenOf(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace ringkv
