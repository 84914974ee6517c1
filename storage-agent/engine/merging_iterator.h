// MergingIterator: one sorted walk over several sorted sources (memtables, tables) that may
// hold the same key. Children are given newest first; for a key present in several, only the
// newest child's entry is shown (the older ones are skipped), so callers see one record per key.
#pragma once

#include <memory>
#include <vector>

#include "storage-agent/engine/iterator.h"

namespace ringkv::engine {

std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children_newest_first);

}  // namespace ringkv::engine
