// Table::Open and the table reader: footer and handles validated at open, index and Bloom
// filter kept in memory, data blocks read with pread through the BlockCache, every block's
// CRC verified before a byte of it is decoded (layout in docs/sstable-format.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "storage-agent/engine/block.h"
#include "storage-agent/engine/block_cache.h"
#include "storage-agent/engine/bloom.h"
#include "storage-agent/engine/compression.h"
#include "storage-agent/engine/table.h"
#include "storage-agent/engine/table_format.h"

namespace ringkv::engine {

namespace tf = table_format;

namespace {

// The first 8 bytes of a key as a big-endian integer (zero-padded): integer order of prefixes
// agrees with bytewise order of keys whenever the prefixes differ.
inline uint64_t KeyPrefix(std::string_view key) {
  if (key.size() >= 8) return coding::DecodeBigEndian64(key.data());
  char buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(buf, key.data(), key.size());
  return coding::DecodeBigEndian64(buf);
}

struct IndexEntry {
  uint32_t key_offset;  // into TableImpl::index_keys_
  uint32_t key_size;
  uint64_t offset;      // data block handle
  uint64_t size;
};

// Reads exactly n bytes at offset; Corruption when the file ends first.
Status PreadFull(int fd, char* dst, size_t n, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, dst + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("pread " + path + " at offset " + std::to_string(offset), errno);
    }
    if (r == 0) {
      return Status::Corruption(path + ": truncated file: block at offset " +
                                std::to_string(offset) + " ends past the end of the file");
    }
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

class TableImpl final : public Table, public std::enable_shared_from_this<TableImpl> {
 public:
  TableImpl(std::string path, uint64_t file_number, BlockCache* cache, int fd, uint64_t size)
      : path_(std::move(path)), file_number_(file_number), cache_(cache), fd_(fd), file_size_(size) {}

  ~TableImpl() override {
    ::close(fd_);
    if (obsolete()) {
      if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
        RINGKV_LOG(kWarn) << "cannot remove obsolete table " << path_ << ": "
                          << Status::FromErrno("unlink", errno).message();
      }
      if (cache_ != nullptr) cache_->EraseFile(file_number_);
    }
  }

  Status Load() {
    if (file_size_ < tf::kFooterSize) {
      return Status::Corruption(path_ + ": truncated file: " + std::to_string(file_size_) +
                                " bytes is shorter than the table footer");
    }
    const uint64_t footer_offset = file_size_ - tf::kFooterSize;
    char footer[tf::kFooterSize];
    RINGKV_RETURN_IF_ERROR(PreadFull(fd_, footer, sizeof(footer), footer_offset, path_));
    const std::string where = path_ + ": footer at offset " + std::to_string(footer_offset);
    if (coding::DecodeFixed64(footer + tf::kFooterMagicOffset) != tf::kMagic) {
      return Status::Corruption(where + ": bad magic number (not a ringkv table, or truncated)");
    }
    const uint32_t stored_crc = crc32c::Unmask(coding::DecodeFixed32(footer + tf::kFooterCrcOffset));
    if (stored_crc != crc32c::Value(footer, tf::kFooterCrcOffset)) {
      return Status::Corruption(where + ": footer checksum mismatch");
    }
    const uint32_t version = coding::DecodeFixed32(footer + 40);
    if (version != tf::kFormatVersion) {
      return Status::Corruption(where + ": unsupported format version " + std::to_string(version));
    }
    const uint64_t filter_offset = coding::DecodeFixed64(footer + 0);
    const uint64_t filter_size = coding::DecodeFixed64(footer + 8);
    const uint64_t index_offset = coding::DecodeFixed64(footer + 16);
    const uint64_t index_size = coding::DecodeFixed64(footer + 24);
    num_entries_ = coding::DecodeFixed64(footer + 32);
    if (!HandleFits(filter_offset, filter_size, footer_offset) ||
        !HandleFits(index_offset, index_size, footer_offset)) {
      return Status::Corruption(where + ": filter or index handle out of range");
    }
    data_end_ = std::min(filter_offset, index_offset);

    std::string filter;
    RINGKV_RETURN_IF_ERROR(ReadBlockContents(filter_offset, filter_size, &filter));
    if (!bloom_.Init(std::move(filter))) {
      return Status::Corruption(BlockWhere(filter_offset) + ": malformed Bloom filter");
    }
    auto index = std::make_shared<std::string>();
    RINGKV_RETURN_IF_ERROR(ReadBlockContents(index_offset, index_size, index.get()));
    return LoadIndex(*index, index_offset);
  }

  bool MayContain(std::string_view key) const override {
    if (bloom_.MayContain(key)) return true;
    CountBloomNegative();
    return false;
  }

  Result<std::optional<std::string>> Get(std::string_view key) const override {
    return Get(key, BloomFilter::Hash(key));
  }

  Result<std::optional<std::string>> Get(std::string_view key, uint64_t key_hash) const override {
    return Get(key, key_hash, ReadOptions());
  }

  Result<std::optional<std::string>> Get(std::string_view key, uint64_t key_hash,
                                         const ReadOptions& options) const override {
    bool found = false;
    std::shared_ptr<const std::string> pin;
    std::string_view value;
    RINGKV_RETURN_IF_ERROR(Find(key, key_hash, options, &found, &pin, &value));
    if (!found) return std::optional<std::string>();
    return std::optional<std::string>(std::string(value));
  }

  void PrefetchFilter(uint64_t key_hash) const override { bloom_.Prefetch(key_hash); }

  Status Find(std::string_view key, uint64_t key_hash, const ReadOptions& options, bool* found,
              std::shared_ptr<const std::string>* pin, std::string_view* value) const override {
    *found = false;
    if (!bloom_.MayContainHash(key_hash)) {
      CountBloomNegative();
      return Status::OK();
    }
    CountBloomPositive();
    const size_t i = FindBlock(key);
    if (i == index_.size()) return Status::OK();
    RINGKV_RETURN_IF_ERROR(ReadDataBlock(
        i, options.memory_only ? BlockSource::kCacheOnly : BlockSource::kFillCache, pin));
    Status s = BlockFind(**pin, key, found, value);
    if (!s.ok()) return Status::Corruption(BlockWhere(index_[i].offset) + ": " + s.message());
    return Status::OK();
  }

  std::unique_ptr<Iterator> NewIterator() const override;

  uint64_t file_number() const override { return file_number_; }
  uint64_t file_size() const override { return file_size_; }
  uint64_t num_entries() const override { return num_entries_; }
  const std::string& path() const override { return path_; }
  uint64_t MemoryUsage() const override {
    return sizeof(*this) + index_keys_.capacity() + index_.capacity() * sizeof(IndexEntry) +
           index_prefix_.capacity() * sizeof(uint64_t) +
           bloom_.MemoryUsage() + path_.capacity();
  }

  // For the iterator.
  size_t num_blocks() const { return index_.size(); }
  std::string_view IndexKey(size_t i) const {
    return std::string_view(index_keys_.data() + index_[i].key_offset, index_[i].key_size);
  }
  // The first data block whose last key is >= key (num_blocks() when none). Compares the
  // 8-byte prefixes first: they sit in one small array (few cache misses) and, as engine keys
  // start with a hash token, almost always decide without touching the keys.
  size_t FindBlock(std::string_view key) const {
    const uint64_t kp = KeyPrefix(key);
    size_t lo = 0, hi = index_.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      const uint64_t mp = index_prefix_[mid];
      if (mp < kp || (mp == kp && IndexKey(mid) < key)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  uint64_t BlockOffsetAt(size_t i) const { return index_[i].offset; }
  std::string BlockWhere(uint64_t offset) const {
    return path_ + ": block at offset " + std::to_string(offset);
  }

  // Where a data block may come from: the cache or the file, caching what was read (point
  // reads); the same without caching (iterators); the cache only (memory-only reads, no I/O).
  enum class BlockSource { kFillCache, kNoFill, kCacheOnly };

  // Data block i, uncompressed. Incomplete when `source` is kCacheOnly and it is not cached.
  Status ReadDataBlock(size_t i, BlockSource source,
                       std::shared_ptr<const std::string>* out) const {
    const IndexEntry& e = index_[i];
    const bool cache_only = source == BlockSource::kCacheOnly;
    if (cache_ != nullptr) {
      // A cache-only miss is not counted: the blocking retry that follows counts it.
      *out = cache_->Lookup(file_number_, e.offset, /*count_miss=*/!cache_only);
      if (*out) return Status::OK();
    }
    if (cache_only) return Status::Incomplete(BlockWhere(e.offset) + " is not in the block cache");
    auto block = std::make_shared<std::string>();
    RINGKV_RETURN_IF_ERROR(ReadBlockContents(e.offset, e.size, block.get()));
    if (cache_ != nullptr && source == BlockSource::kFillCache) {
      cache_->Insert(file_number_, e.offset, block);
    }
    *out = std::move(block);
    return Status::OK();
  }

 private:
  bool HandleFits(uint64_t offset, uint64_t size, uint64_t limit) const {
    return size <= tf::kMaxBlockBytes && offset <= limit &&
           size + tf::kBlockTrailerSize <= limit - offset;
  }

  // Reads the block at (offset, payload size), checks its CRC and uncompresses it into *out.
  // The file bytes go to a per-thread buffer (data blocks are small) when compression is
  // likely, so a read allocates only the uncompressed block; an uncompressed block is read
  // straight into *out.
  Status ReadBlockContents(uint64_t offset, uint64_t size, std::string* out) const {
    constexpr size_t kScratchMax = 64 << 10;
    thread_local std::string scratch;
    const size_t n = static_cast<size_t>(size) + tf::kBlockTrailerSize;
    std::string* buf = n <= kScratchMax ? &scratch : out;
    buf->resize(n);
    RINGKV_RETURN_IF_ERROR(PreadFull(fd_, buf->data(), n, offset, path_));
    const char* p = buf->data();
    const uint32_t stored = crc32c::Unmask(coding::DecodeFixed32(p + size + 1));
    if (stored != crc32c::Value(p, size + 1)) {
      return Status::Corruption(BlockWhere(offset) + ": block checksum mismatch");
    }
    const auto type = static_cast<uint8_t>(p[size]);
    if (type == tf::kTypeNone) {
      if (buf == out) {
        out->resize(size);
      } else {
        out->assign(p, size);
      }
      return Status::OK();
    }
    if (buf == out) {
      std::string raw;
      raw.swap(*out);
      return UncompressBlock(type, std::string_view(raw.data(), size), out, BlockWhere(offset));
    }
    return UncompressBlock(type, std::string_view(p, size), out, BlockWhere(offset));
  }

  Status LoadIndex(const std::string& contents, uint64_t index_offset) {
    BlockIterator it(nullptr, contents);
    const std::string where = BlockWhere(index_offset);
    // Size the arrays exactly first (a 1M-key table has ~40k entries): growing them by
    // doubling and then shrinking would briefly hold ~3x the index while a table opens.
    size_t count = 0, key_bytes = 0;
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      ++count;
      key_bytes += it.key().size();
    }
    if (it.status().ok()) {
      index_keys_.reserve(key_bytes);
      index_.reserve(count);
      index_prefix_.reserve(count);
    }
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      std::string_view v = it.value();
      IndexEntry e{};
      if (!coding::GetVarint64(&v, &e.offset) || !coding::GetVarint64(&v, &e.size) ||
          !HandleFits(e.offset, e.size, data_end_)) {
        return Status::Corruption(where + ": bad data block handle in index");
      }
      if (!index_.empty() && it.key() <= IndexKey(index_.size() - 1)) {
        return Status::Corruption(where + ": index keys out of order");
      }
      if (index_keys_.size() + it.key().size() > UINT32_MAX) {
        return Status::Corruption(where + ": index too large");
      }
      e.key_offset = static_cast<uint32_t>(index_keys_.size());
      e.key_size = static_cast<uint32_t>(it.key().size());
      index_keys_.append(it.key());
      index_.push_back(e);
      index_prefix_.push_back(KeyPrefix(it.key()));
    }
    if (!it.status().ok()) return Status::Corruption(where + ": " + it.status().message());
    if (index_.empty() && num_entries_ != 0) {
      return Status::Corruption(where + ": empty index for a table of " +
                                std::to_string(num_entries_) + " entries");
    }
    index_keys_.shrink_to_fit();
    index_.shrink_to_fit();
    index_prefix_.shrink_to_fit();
    return Status::OK();
  }

  const std::string path_;
  const uint64_t file_number_;
  BlockCache* const cache_;
  const int fd_;
  const uint64_t file_size_;
  uint64_t num_entries_ = 0;
  uint64_t data_end_ = 0;
  BloomFilter bloom_;
  std::string index_keys_;  // the last key of every data block, concatenated
  std::vector<IndexEntry> index_;
  std::vector<uint64_t> index_prefix_;  // KeyPrefix of each index key, for FindBlock
};

// Walks the index in memory and one data block at a time. Holds the table, so an obsolete
// table's file stays until the iterator is gone. Blocks are looked up in the cache but not
// inserted: a compaction or long scan should not flush the blocks point reads need.
class TableIterator final : public Iterator {
 public:
  explicit TableIterator(std::shared_ptr<const TableImpl> table) : table_(std::move(table)) {}

  bool Valid() const override {
    return status_.ok() && block_index_ < table_->num_blocks() && block_iter_.Valid();
  }
  void SeekToFirst() override {
    status_ = Status::OK();
    LoadBlock(0);
    if (status_.ok() && block_index_ < table_->num_blocks()) block_iter_.SeekToFirst();
    SkipEmptyBlocks();
  }
  void Seek(std::string_view target) override {
    status_ = Status::OK();
    LoadBlock(table_->FindBlock(target));
    if (status_.ok() && block_index_ < table_->num_blocks()) block_iter_.Seek(target);
    SkipEmptyBlocks();
  }
  void Next() override {
    if (!Valid()) return;
    block_iter_.Next();
    SkipEmptyBlocks();
  }
  std::string_view key() const override { return block_iter_.key(); }
  std::string_view value() const override { return block_iter_.value(); }
  Status status() const override { return status_; }

 private:
  void LoadBlock(size_t i) {
    block_index_ = i;
    if (i >= table_->num_blocks()) {
      block_iter_.Reset(nullptr, std::string_view());
      return;
    }
    std::shared_ptr<const std::string> block;
    Status s = table_->ReadDataBlock(i, TableImpl::BlockSource::kNoFill, &block);
    if (!s.ok()) {
      status_ = s;
      block_iter_.Reset(nullptr, std::string_view());
      return;
    }
    const std::string_view data = *block;
    block_iter_.Reset(std::move(block), data);
  }

  // Moves to the next block while the current one is exhausted; stops on damage.
  void SkipEmptyBlocks() {
    while (status_.ok() && block_index_ < table_->num_blocks() && !block_iter_.Valid()) {
      if (!block_iter_.status().ok()) {
        status_ = Status::Corruption(table_->BlockWhere(BlockOffset()) + ": " +
                                     block_iter_.status().message());
        return;
      }
      LoadBlock(block_index_ + 1);
      if (status_.ok() && block_index_ < table_->num_blocks()) block_iter_.SeekToFirst();
    }
  }

  uint64_t BlockOffset() const { return table_->BlockOffsetAt(block_index_); }

  std::shared_ptr<const TableImpl> table_;
  size_t block_index_ = 0;
  BlockIterator block_iter_;
  Status status_;
};

std::unique_ptr<Iterator> TableImpl::NewIterator() const {
  return std::make_unique<TableIterator>(shared_from_this());
}

}  // namespace

uint64_t Table::KeyHash(std::string_view key) { return BloomFilter::Hash(key); }

Result<std::shared_ptr<Table>> Table::Open(const std::string& path, uint64_t file_number,
                                           BlockCache* cache) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Status::FromErrno("fstat " + path, errno);
    ::close(fd);
    return s;
  }
  // From here the table owns fd; its destructor closes it (it is not obsolete yet).
  auto table = std::make_shared<TableImpl>(path, file_number, cache, fd,
                                           static_cast<uint64_t>(st.st_size));
  Status s = table->Load();
  if (!s.ok()) return s;
  return std::shared_ptr<Table>(std::move(table));
}

}  // namespace ringkv::engine
