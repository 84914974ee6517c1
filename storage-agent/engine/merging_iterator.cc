// A linear-scan merge: the number of children (memtables + live tables) stays small, so a heap
// buys little. Ties go to the lowest index, i.e. the newest source.
#include "storage-agent/engine/merging_iterator.h"

namespace ringkv::engine {

namespace {

class MergingIterator : public Iterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<Iterator>> c) : children_(std::move(c)) {}

  bool Valid() const override { return current_ != nullptr; }
  void SeekToFirst() override {
    for (auto& c : children_) c->SeekToFirst();
    FindSmallest();
  }
  void Seek(std::string_view target) override {
    for (auto& c : children_) c->Seek(target);
    FindSmallest();
  }
  void Next() override {
    // Step every other child past the current key first: its view dies once current_ moves.
    std::string_view k = current_->key();
    for (auto& c : children_) {
      if (c.get() != current_ && c->Valid() && c->key() == k) c->Next();
    }
    current_->Next();
    FindSmallest();
  }
  std::string_view key() const override { return current_->key(); }
  std::string_view value() const override { return current_->value(); }
  Status status() const override {
    for (auto& c : children_) {
      Status s = c->status();
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

 private:
  void FindSmallest() {
    current_ = nullptr;
    for (auto& c : children_) {
      if (c->Valid() && (current_ == nullptr || c->key() < current_->key())) current_ = c.get();
    }
  }
  std::vector<std::unique_ptr<Iterator>> children_;
  Iterator* current_ = nullptr;
};

}  // namespace

std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children) {
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace ringkv::engine
