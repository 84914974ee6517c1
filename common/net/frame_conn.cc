// FrameConn: the direct transport's framing on top of StreamConn (see frame_conn.h).
#include "common/net/frame_conn.h"


namespace ringkv::net {

namespace {

constexpr size_t kHeaderBytes = 4;

}  // namespace

FrameConn::FrameConn(int fd, bool connecting, Limits limits)
    : stream_(fd, connecting), limits_(limits) {}

FrameConn::~FrameConn() = default;

Status FrameConn::FinishConnect() { return stream_.FinishConnect(); }

bool FrameConn::Queue(std::string_view body) {
  if (body.size() > limits_.max_frame_bytes ||
      unsent_bytes() + body.size() + kHeaderBytes > limits_.max_out_bytes) {
    return false;
  }
  const uint32_t n = static_cast<uint32_t>(body.size());
  const char header[kHeaderBytes] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                     static_cast<char>(n >> 8), static_cast<char>(n)};
  std::string& out = stream_.out();
  out.append(header, kHeaderBytes);
  out.append(body.data(), body.size());
  return true;
}

Status FrameConn::Flush() { return stream_.Flush(); }

Status FrameConn::Read(const std::function<void(std::string_view)>& on_frame, size_t max_bytes) {
  const Status result = stream_.Fill(max_bytes);
  // Hand out every whole frame.
  while (stream_.in_size() >= kHeaderBytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(stream_.in_data());
    const size_t len = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
    if (len > limits_.max_frame_bytes) {
      return Status::InvalidArgument("frame of " + std::to_string(len) + " bytes exceeds " +
                                     std::to_string(limits_.max_frame_bytes));
    }
    if (stream_.in_size() - kHeaderBytes < len) break;
    on_frame(std::string_view(stream_.in_data() + kHeaderBytes, len));
    stream_.Consume(kHeaderBytes + len);
  }
  stream_.Settle();
  return result;
}

}  // namespace ringkv::net
