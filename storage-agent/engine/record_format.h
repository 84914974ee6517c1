// The engine's internal encodings, shared by the log, memtable and tables:
//   internal key = 8-byte big-endian ring token + user key  (bytewise order = (token, key) order)
//   record value = kind byte (1 put, 2 delete) + seq varint + write-time-ms varint + value bytes
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/coding.h"
#include "common/token.h"

namespace ringkv::engine {

enum class RecordKind : uint8_t { kPut = 1, kDelete = 2 };

constexpr size_t kTokenBytes = 8;

inline void AppendInternalKey(std::string* dst, Token token, std::string_view user_key) {
  coding::PutBigEndian64(dst, token);
  dst->append(user_key.data(), user_key.size());
}
inline std::string InternalKeyOf(std::string_view user_key) {
  std::string k;
  k.reserve(kTokenBytes + user_key.size());
  AppendInternalKey(&k, TokenOf(user_key), user_key);
  return k;
}
inline bool ParseInternalKey(std::string_view ikey, Token* token, std::string_view* user_key) {
  if (ikey.size() < kTokenBytes) return false;
  *token = coding::DecodeBigEndian64(ikey.data());
  *user_key = ikey.substr(kTokenBytes);
  return true;
}

struct Record {
  RecordKind kind = RecordKind::kPut;
  uint64_t seq = 0;
  int64_t write_time_ms = 0;
  std::string_view value;  // empty for deletes
};

inline void AppendRecord(std::string* dst, RecordKind kind, uint64_t seq, int64_t write_time_ms,
                         std::string_view value) {
  dst->push_back(static_cast<char>(kind));
  coding::PutVarint64(dst, seq);
  coding::PutVarint64(dst, static_cast<uint64_t>(write_time_ms));
  dst->append(value.data(), value.size());
}

// False when `rec` is not a well-formed record (the caller reports Corruption).
inline bool DecodeRecord(std::string_view rec, Record* out) {
  if (rec.empty()) return false;
  uint8_t k = static_cast<uint8_t>(rec[0]);
  if (k != static_cast<uint8_t>(RecordKind::kPut) && k != static_cast<uint8_t>(RecordKind::kDelete)) {
    return false;
  }
  rec.remove_prefix(1);
  uint64_t t;
  if (!coding::GetVarint64(&rec, &out->seq) || !coding::GetVarint64(&rec, &t)) return false;
  out->kind = static_cast<RecordKind>(k);
  out->write_time_ms = static_cast<int64_t>(t);
  out->value = rec;
  return true;
}

}  // namespace ringkv::engine
