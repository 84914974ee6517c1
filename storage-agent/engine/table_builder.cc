// TableBuilder: streams sorted entries into data blocks, then writes the Bloom filter, the
// index and the footer (layout in docs/sstable-format.md). Output is buffered so that a table
// is written in large write() calls, and fdatasync'ed in Finish.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage-agent/engine/block_builder.h"
#include "storage-agent/engine/bloom.h"
#include "storage-agent/engine/compression.h"
#include "storage-agent/engine/table.h"
#include "storage-agent/engine/table_format.h"

namespace ringkv::engine {

namespace tf = table_format;

namespace {

constexpr size_t kWriteBufferBytes = 256 << 10;

class TableBuilderImpl final : public TableBuilder {
 public:
  TableBuilderImpl(std::string path, const TableOptions& options, int fd)
      : path_(std::move(path)),
        options_(options),
        fd_(fd),
        data_block_(tf::kDataRestartInterval),
        index_block_(1),
        filter_(options.bloom_bits_per_key, options.expected_keys) {
    if (options_.block_bytes == 0) options_.block_bytes = 1;
    buffer_.reserve(kWriteBufferBytes + options_.block_bytes * 2);
  }

  ~TableBuilderImpl() override {
    if (fd_ >= 0) Abandon();
  }

  Status Add(std::string_view key, std::string_view value) override {
    if (!status_.ok()) return status_;
    if (fd_ < 0) return Status::InvalidArgument(path_ + ": table builder already closed");
    if (num_entries_ > 0 && key <= std::string_view(last_key_)) {
      return Status::InvalidArgument(path_ + ": keys added out of order");
    }
    if (key.size() > UINT32_MAX || value.size() > UINT32_MAX) {
      return Status::InvalidArgument(path_ + ": entry too large");
    }
    filter_.AddKey(key);
    data_block_.Add(key, value);
    last_key_.assign(key.data(), key.size());
    ++num_entries_;
    if (data_block_.CurrentSizeEstimate() >= options_.block_bytes) FlushDataBlock();
    return status_;
  }

  Status Finish() override {
    if (!status_.ok()) return status_;
    if (fd_ < 0) return Status::InvalidArgument(path_ + ": table builder already closed");
    if (!data_block_.empty()) FlushDataBlock();
    uint64_t filter_offset = 0, filter_size = 0, index_offset = 0, index_size = 0;
    const std::string filter = filter_.Finish();
    WriteBlock(filter, tf::kTypeNone, &filter_offset, &filter_size);
    WriteBlock(index_block_.Finish(), tf::kTypeNone, &index_offset, &index_size);

    std::string footer;
    coding::PutFixed64(&footer, filter_offset);
    coding::PutFixed64(&footer, filter_size);
    coding::PutFixed64(&footer, index_offset);
    coding::PutFixed64(&footer, index_size);
    coding::PutFixed64(&footer, num_entries_);
    coding::PutFixed32(&footer, tf::kFormatVersion);
    coding::PutFixed32(&footer, crc32c::Mask(crc32c::Value(footer.data(), footer.size())));
    coding::PutFixed64(&footer, tf::kMagic);
    Append(footer);
    FlushBuffer();
    if (status_.ok() && ::fdatasync(fd_) != 0) status_ = Status::FromErrno("fdatasync " + path_, errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && status_.ok()) status_ = Status::FromErrno("close " + path_, errno);
    if (!status_.ok()) ::unlink(path_.c_str());
    return status_;
  }

  void Abandon() override {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    ::unlink(path_.c_str());
    if (status_.ok()) status_ = Status::InvalidArgument(path_ + ": table builder abandoned");
  }

  uint64_t NumEntries() const override { return num_entries_; }
  uint64_t FileSize() const override { return offset_; }

 private:
  void FlushDataBlock() {
    const std::string_view raw = data_block_.Finish();
    uint64_t offset = 0, size = 0;
    if (CompressBlock(options_.compression, raw, &compressed_)) {
      WriteBlock(compressed_, CompressionTypeByte(options_.compression), &offset, &size);
    } else {
      WriteBlock(raw, tf::kTypeNone, &offset, &size);
    }
    handle_.clear();
    coding::PutVarint64(&handle_, offset);
    coding::PutVarint64(&handle_, size);
    index_block_.Add(last_key_, handle_);
    data_block_.Reset();
  }

  // Appends payload + type + masked CRC32C(payload, type); the handle's size excludes the trailer.
  void WriteBlock(std::string_view payload, uint8_t type, uint64_t* offset, uint64_t* size) {
    *offset = offset_;
    *size = payload.size();
    const char type_byte = static_cast<char>(type);
    uint32_t crc = crc32c::Extend(crc32c::Value(payload.data(), payload.size()), &type_byte, 1);
    if (payload.size() >= kWriteBufferBytes) {
      // A large filter or index: written straight from its own buffer, not copied (the write
      // buffer would grow to its size for the builder's lifetime).
      FlushBuffer();
      WriteFully(payload);
      offset_ += payload.size();
    } else {
      Append(payload);
    }
    buffer_.push_back(type_byte);
    coding::PutFixed32(&buffer_, crc32c::Mask(crc));
    offset_ += tf::kBlockTrailerSize;
    if (buffer_.size() >= kWriteBufferBytes) FlushBuffer();
  }

  void Append(std::string_view bytes) {
    buffer_.append(bytes.data(), bytes.size());
    offset_ += bytes.size();
  }

  void FlushBuffer() {
    WriteFully(buffer_);
    buffer_.clear();
  }

  void WriteFully(std::string_view bytes) {
    const char* p = bytes.data();
    size_t left = bytes.size();
    while (left > 0 && status_.ok()) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        status_ = Status::FromErrno("write " + path_, errno);
        break;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }

  const std::string path_;
  TableOptions options_;
  int fd_;
  BlockBuilder data_block_;
  BlockBuilder index_block_;
  BloomFilterBuilder filter_;
  std::string last_key_;
  std::string compressed_;
  std::string handle_;
  std::string buffer_;
  uint64_t offset_ = 0;  // bytes appended so far (written or buffered)
  uint64_t num_entries_ = 0;
  Status status_;
};

}  // namespace

Result<std::unique_ptr<TableBuilder>> TableBuilder::Create(const std::string& path,
                                                           const TableOptions& options) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  return std::unique_ptr<TableBuilder>(new TableBuilderImpl(path, options, fd));
}

}  // namespace ringkv::engine
