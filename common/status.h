// Status and Result<T>: how every ringkv module reports failure. No exception crosses a
// module line; code at the edge (cppzmq, msgpack, Boost) catches and converts to a Status.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace ringkv {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kCorruption,
    kIOError,
    kInvalidArgument,  // a caller's mistake: bad option, malformed request
    kTooLarge,
    kTooManySiblings,
    kUnavailable,
    kTimeout,
    kBusy,  // overloaded: a bounded queue is full
    kInternal,
    kIncomplete,  // a memory-only read would need I/O (RocksDB's Incomplete); not a failure
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status TooLarge(std::string m) { return Status(Code::kTooLarge, std::move(m)); }
  static Status TooManySiblings(std::string m) { return Status(Code::kTooManySiblings, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status Timeout(std::string m) { return Status(Code::kTimeout, std::move(m)); }
  static Status Busy(std::string m) { return Status(Code::kBusy, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
  static Status Incomplete(std::string m) { return Status(Code::kIncomplete, std::move(m)); }
  // IOError from errno with the operation and path named: "open /x/y: No such file".
  static Status FromErrno(const std::string& what, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIncomplete() const { return code_ == Code::kIncomplete; }

  // "corruption: <message>"; "ok" for success.
  std::string ToString() const;
  static const char* CodeName(Code c);

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}           // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {    // NOLINT
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ringkv

// Returns early from the enclosing function when `expr` yields a non-ok Status.
#define RINGKV_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::ringkv::Status _rkv_s = (expr);         \
    if (!_rkv_s.ok()) return _rkv_s;          \
  } while (0)
