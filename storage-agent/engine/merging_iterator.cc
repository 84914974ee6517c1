// A heap merge over the children (memtables + every live table, often a dozen or more right
// after a fill): O(log n) per entry, with each child's current key cached in its heap slot so
// ordering costs no virtual call. Ties go to the lowest index, i.e. the newest source.
#include "storage-agent/engine/merging_iterator.h"

#include <algorithm>
#include <cstdint>

namespace ringkv::engine {

namespace {

class MergingIterator : public Iterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<Iterator>> c) : children_(std::move(c)) {
    heap_.reserve(children_.size());
  }

  bool Valid() const override { return !heap_.empty(); }
  void SeekToFirst() override {
    for (auto& c : children_) c->SeekToFirst();
    Rebuild();
  }
  void Seek(std::string_view target) override {
    for (auto& c : children_) c->Seek(target);
    Rebuild();
  }
  void Next() override {
    const std::string_view cur_key = heap_.front().key;
    const size_t n = heap_.size();
    const bool shadowed = (n > 1 && heap_[1].key == cur_key) || (n > 2 && heap_[2].key == cur_key);
    if (!shadowed) {
      // The usual case (no older source holds this key): move the top child and sift it down
      // in place, often two comparisons when the same source stays the smallest.
      Entry& top = heap_.front();
      top.it->Next();
      if (top.it->Valid()) {
        top.key = top.it->key();
        SiftDown(0);
      } else {
        std::pop_heap(heap_.begin(), heap_.end(), After);
        heap_.pop_back();
      }
      return;
    }
    // Older sources holding the same key are stepped past it; the current child's key view
    // stays valid until the current child itself moves, which happens last.
    std::pop_heap(heap_.begin(), heap_.end(), After);
    Entry cur = heap_.back();
    heap_.pop_back();
    while (!heap_.empty() && heap_.front().key == cur.key) {
      std::pop_heap(heap_.begin(), heap_.end(), After);
      Entry e = heap_.back();
      heap_.pop_back();
      Advance(e);
    }
    Advance(cur);
  }
  std::string_view key() const override { return heap_.front().key; }
  std::string_view value() const override { return heap_.front().it->value(); }
  Status status() const override {
    for (auto& c : children_) {
      Status s = c->status();
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

 private:
  struct Entry {
    std::string_view key;  // the child's current key (valid until the child moves)
    Iterator* it;
    size_t index;          // lower = newer source, wins ties
  };
  // Heap order for std::*_heap (a max-heap on this relation keeps the smallest on top).
  static bool After(const Entry& a, const Entry& b) {
    const int c = a.key.compare(b.key);
    return c > 0 || (c == 0 && a.index > b.index);
  }
  void Advance(Entry e) {
    e.it->Next();
    if (!e.it->Valid()) return;
    e.key = e.it->key();
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), After);
  }
  // Restores the heap below slot i after its key grew (the invariant std::*_heap keep).
  void SiftDown(size_t i) {
    const size_t n = heap_.size();
    const Entry e = heap_[i];
    while (true) {
      size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && After(heap_[c], heap_[c + 1])) ++c;  // the smaller child
      if (!After(e, heap_[c])) break;
      heap_[i] = heap_[c];
      i = c;
    }
    heap_[i] = e;
  }
  void Rebuild() {
    heap_.clear();
    for (size_t i = 0; i < children_.size(); ++i) {
      Iterator* c = children_[i].get();
      if (c->Valid()) heap_.push_back(Entry{c->key(), c, i});
    }
    std::make_heap(heap_.begin(), heap_.end(), After);
  }

  std::vector<std::unique_ptr<Iterator>> children_;
  std::vector<Entry> heap_;
};

}  // namespace

std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children) {
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace ringkv::engine
