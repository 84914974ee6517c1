// Status names and errno formatting.
#include "common/status.h"

#include <cstring>

namespace ringkv {

Status Status::FromErrno(const std::string& what, int err) {
  return Status(Code::kIOError, what + ": " + std::strerror(err));
}

const char* Status::CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not_found";
    case Code::kCorruption: return "corruption";
    case Code::kIOError: return "io_error";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kTooLarge: return "too_large";
    case Code::kTooManySiblings: return "too_many_siblings";
    case Code::kUnavailable: return "unavailable";
    case Code::kTimeout: return "timeout";
    case Code::kBusy: return "busy";
    case Code::kInternal: return "internal";
    case Code::kIncomplete: return "incomplete";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace ringkv
