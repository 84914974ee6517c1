// Anti-entropy (docs/anti-entropy.md): what both sides of an exchange must compute identically.
// The storage agent keeps, per token bucket ("leaf"), the XOR of AaeKeyHash over the keys it
// holds; the gossip agent compares those and, per key, the same hashes from `aae_keys`. Both
// split a token range into parts with PartBounds. Any change here is a protocol change.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>
#include <utility>

#include "common/token.h"

namespace ringkv::aae {

// The hash a key contributes to its leaf: its encoded KeyState, seeded by the key's token and
// length so that two keys holding the same state do not cancel out. KeyState::Encode is
// canonical (equal states encode to equal bytes, and Decode refuses anything else), so two
// replicas holding the same logical state get the same hash.
inline uint64_t AaeKeyHash(Token token, size_t key_size, std::string_view encoded_state) {
  return XXH3_64bits_withSeed(encoded_state.data(), encoded_state.size(),
                              token ^ static_cast<uint64_t>(key_size));
}
inline uint64_t AaeKeyHash(std::string_view key, std::string_view encoded_state) {
  return AaeKeyHash(TokenOf(key), key.size(), encoded_state);
}

// The storage agent's tree: 2^20 leaves, a token's leaf is its top 20 bits.
inline constexpr int kLeafBits = 20;
inline constexpr uint32_t kLeafCount = 1u << kLeafBits;
inline constexpr uint32_t LeafOf(Token t) { return static_cast<uint32_t>(t >> (64 - kLeafBits)); }
inline constexpr Token LeafFirst(uint32_t leaf) { return static_cast<Token>(leaf) << (64 - kLeafBits); }
inline constexpr Token LeafLast(uint32_t leaf) {
  return LeafFirst(leaf) | ((Token{1} << (64 - kLeafBits)) - 1);
}

// Part i (0 <= i < parts) of the inclusive token range [first, last] split into `parts`
// contiguous, nearly equal parts: [first + floor(n*i/parts), first + floor(n*(i+1)/parts) - 1]
// with n = last - first + 1 (computed in 128 bits: n may be 2^64). The parts cover the range
// exactly, in order, the last ending at `last`. REQUIRES: first <= last, 1 <= parts <= n (the
// protocol refuses more parts than tokens, so no part is empty).
inline std::pair<Token, Token> PartBounds(Token first, Token last, uint32_t parts, uint32_t i) {
  __extension__ typedef unsigned __int128 u128;  // GCC and Clang; -pedantic wants the marker
  const u128 n = static_cast<u128>(last - first) + 1;
  const u128 lo = n * i / parts;
  const u128 hi = n * (static_cast<u128>(i) + 1) / parts;  // exclusive
  return {first + static_cast<Token>(lo), first + static_cast<Token>(hi - 1)};
}

}  // namespace ringkv::aae
