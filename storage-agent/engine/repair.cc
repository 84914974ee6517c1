// RepairDB (see repair.h). The order of its steps is what keeps it safe to interrupt: every file
// with anything unreadable is moved to lost/ before the new MANIFEST is written, and files whose
// records went whole into new tables are removed only after it, so a crash at any point leaves
// either the old state (no usable manifest: run the repair again, which finds the same records
// plus its own new tables, harmless duplicates) or the new one.
#include "storage-agent/engine/repair.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <memory>

#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_reader.h"
#include "storage-agent/engine/log_writer.h"
#include "storage-agent/engine/manifest.h"
#include "storage-agent/engine/memtable.h"
#include "storage-agent/engine/record_format.h"
#include "storage-agent/engine/table.h"

namespace ringkv::engine {

namespace {

constexpr char kLostDir[] = "lost";

// A run of records sorted by internal key: an existing table (complete, or the readable
// prefix of a damaged one) or a table the repair wrote from log records.
struct Source {
  uint64_t number = 0;
  std::string name;
  std::shared_ptr<Table> table;
  uint64_t entries = 0;  // readable entries (a damaged table: those before the damage)
  uint64_t bytes = 0;
  uint64_t min_seq = UINT64_MAX;
  uint64_t max_seq = 0;
  bool complete = true;  // false: damaged, only `entries` entries are read
  bool original = true;  // false: written by this repair from log records
  std::string damage;
};

class Repairer {
 public:
  Repairer(const Options& o, RepairReport* r) : opt_(o), dir_(o.dir), report_(r) {
    topt_.block_bytes = o.block_bytes;
    topt_.bloom_bits_per_key = o.bloom_bits_per_key;
    topt_.compression = o.compression;
  }

  Status Run() {
    if (!FileExists(dir_)) return Status::NotFound("data directory " + dir_ + " does not exist");
    auto lock = DirLock::Acquire(dir_);
    if (!lock.ok()) return lock.status();
    auto names = ListDir(dir_);
    if (!names.ok()) return names.status();
    std::vector<std::pair<uint64_t, std::string>> tables, logs;
    for (const std::string& name : *names) {
      uint64_t n;
      if (ParseTableFileName(name, &n)) {
        tables.emplace_back(n, name);
      } else if (ParseLogFileName(name, &n)) {
        logs.emplace_back(n, name);
      } else if (name.size() > 8 && name.compare(name.size() - 8, 8, ".sst.tmp") == 0 &&
                 ParseTableFileName(name.substr(0, name.size() - 4), &n)) {
        // A leftover the next open removes; its number must not be reused meanwhile.
      } else {
        continue;
      }
      next_number_ = std::max(next_number_, n + 1);
    }
    std::sort(tables.begin(), tables.end());
    std::sort(logs.begin(), logs.end());
    RINGKV_RETURN_IF_ERROR(ReadOldManifest(tables));
    for (const auto& [n, name] : tables) RINGKV_RETURN_IF_ERROR(ScanTable(n, name));
    RINGKV_RETURN_IF_ERROR(ReplayLogs(logs));
    RINGKV_RETURN_IF_ERROR(MergeOverlaps());
    return Install();
  }

 private:
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }

  void Add(RepairEntry::Action a, const std::string& file, uint64_t records, uint64_t bytes,
           std::string detail) {
    report_->entries.push_back(RepairEntry{a, file, records, bytes, std::move(detail)});
  }

  // Moves DIR/name to DIR/lost/name (name.1, name.2, ... when taken); both directories synced.
  Status MoveToLost(const std::string& name) {
    const std::string lost = Path(kLostDir);
    RINGKV_RETURN_IF_ERROR(CreateDirIfMissing(lost));
    std::string to = JoinPath(lost, name);
    for (int i = 1; FileExists(to); ++i) to = JoinPath(lost, name + "." + std::to_string(i));
    RINGKV_RETURN_IF_ERROR(RenameAndSyncDir(Path(name), to, lost));
    ++report_->lost_files;
    return SyncDir(dir_);
  }

  // The old MANIFEST, when there is one, is no longer trusted, but it still tells which tables
  // it listed that are gone, and its counters are a floor for the new ones.
  Status ReadOldManifest(const std::vector<std::pair<uint64_t, std::string>>& tables) {
    if (!FileExists(Path("MANIFEST"))) return Status::OK();
    ManifestData m;
    Status s = ReadManifest(dir_, &m);
    if (s.ok()) {
      next_number_ = std::max(next_number_, m.next_file_number);
      last_seq_ = std::max(last_seq_, m.last_sequence);
      std::string missing;
      for (const TableMeta& t : m.tables) {
        bool found = std::any_of(tables.begin(), tables.end(),
                                 [&](const auto& p) { return p.first == t.file_number; });
        if (!found) missing += (missing.empty() ? "" : ", ") + TableFileName(t.file_number);
      }
      report_->old_manifest = "listed " + std::to_string(m.tables.size()) + " table(s)" +
                              (missing.empty() ? "" : "; missing: " + missing);
    } else {
      report_->old_manifest = "unreadable (" + s.ToString() + ")";
    }
    report_->old_manifest += "; kept as lost/MANIFEST";
    move_manifest_ = true;
    return Status::OK();
  }

  // Opens the table and reads every entry, stopping at the first damage (a bad block, a record
  // that does not decode): the entries before it are what can be kept.
  Status ScanTable(uint64_t number, const std::string& name) {
    Source src;
    src.number = number;
    src.name = name;
    auto size = FileSize(Path(name));
    if (!size.ok()) return size.status();
    src.bytes = *size;
    auto t = Table::Open(Path(name), number, nullptr);
    if (!t.ok()) {
      // Not even a footer and index: nothing to keep.
      RINGKV_RETURN_IF_ERROR(MoveToLost(name));
      Add(RepairEntry::Action::kLost, name, 0, src.bytes, t.status().ToString());
      return Status::OK();
    }
    src.table = *t;
    auto it = src.table->NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      Record r;
      if (it->key().size() < kTokenBytes || !DecodeRecord(it->value(), &r)) {
        src.damage = "a malformed record after " + std::to_string(src.entries) + " entries";
        break;
      }
      src.min_seq = std::min(src.min_seq, r.seq);
      src.max_seq = std::max(src.max_seq, r.seq);
      ++src.entries;
    }
    if (src.damage.empty() && !it->status().ok()) src.damage = it->status().ToString();
    src.complete = src.damage.empty();
    last_seq_ = std::max(last_seq_, src.max_seq);
    if (!src.complete && src.entries == 0) {
      src.table.reset();
      RINGKV_RETURN_IF_ERROR(MoveToLost(name));
      Add(RepairEntry::Action::kLost, name, 0, src.bytes, src.damage);
      return Status::OK();
    }
    sources_.push_back(std::move(src));
    return Status::OK();
  }

  // Writes the records `next` yields (in internal-key order) to a new table and adds it as a
  // source. Nothing is added when there are none.
  Status WriteTable(const std::function<bool(std::string_view*, std::string_view*)>& next,
                    uint64_t expected_keys, Source* out, bool* written) {
    *written = false;
    const uint64_t number = next_number_++;
    const std::string name = TableFileName(number);
    const std::string tmp = Path(name) + ".tmp";
    TableOptions topt = topt_;
    topt.expected_keys = expected_keys;
    auto b = TableBuilder::Create(tmp, topt);
    if (!b.ok()) return b.status();
    Source src;
    src.number = number;
    src.name = name;
    src.original = false;
    std::string_view k, v;
    Status s;
    while (s.ok() && next(&k, &v)) {
      Record r;
      DecodeRecord(v, &r);  // every caller hands only records that decoded
      src.min_seq = std::min(src.min_seq, r.seq);
      src.max_seq = std::max(src.max_seq, r.seq);
      s = (*b)->Add(k, v);
      ++src.entries;
    }
    if (s.ok() && src.entries == 0) {
      (*b)->Abandon();
      return Status::OK();
    }
    if (s.ok()) s = (*b)->Finish();
    if (!s.ok()) {
      (*b)->Abandon();
      return s;
    }
    src.bytes = (*b)->FileSize();
    RINGKV_RETURN_IF_ERROR(RenameAndSyncDir(tmp, Path(name), dir_));
    auto t = Table::Open(Path(name), number, nullptr);
    if (!t.ok()) return t.status();
    src.table = *t;
    *out = std::move(src);
    *written = true;
    return Status::OK();
  }

  Status FlushMem(std::unique_ptr<MemTable>* mem, std::vector<std::string>* from) {
    if ((*mem)->empty()) return Status::OK();
    auto it = (*mem)->NewIterator();
    it->SeekToFirst();
    Source src;
    bool written;
    RINGKV_RETURN_IF_ERROR(WriteTable(
        [&](std::string_view* k, std::string_view* v) {
          if (!it->Valid()) return false;
          *k = it->key();
          *v = it->value();
          it->Next();  // the memtable owns the bytes: the views stay valid
          return true;
        },
        (*mem)->num_entries(), &src, &written));
    if (written) {
      std::string list;
      for (const auto& f : *from) list += (list.empty() ? "" : ", ") + f;
      Add(RepairEntry::Action::kWritten, src.name, src.entries, src.bytes, "from " + list);
      sources_.push_back(std::move(src));
    }
    from->clear();
    *mem = std::make_unique<MemTable>(0, opt_.memtable_bytes);
    return Status::OK();
  }

  // Every record of every segment goes into tables (a memtable at a time); bad regions are
  // skipped (salvage) and the newest segment's unsynced tail is cut, as at open. A segment with
  // anything skipped goes to lost/ afterwards; a clean one is removed once the manifest is in.
  Status ReplayLogs(const std::vector<std::pair<uint64_t, std::string>>& logs) {
    auto mem = std::make_unique<MemTable>(0, opt_.memtable_bytes);
    std::vector<std::string> from;
    for (size_t i = 0; i < logs.size(); ++i) {
      const std::string& name = logs[i].second;
      auto size = FileSize(Path(name));
      if (!size.ok()) return size.status();
      from.push_back(name);
      LogReplayResult res;
      Status rs = ReplayLogSegment(
          Path(name), i + 1 == logs.size(), /*salvage=*/true,
          [&](std::string_view ikey, std::string_view rec) -> Status {
            Record r;
            DecodeRecord(rec, &r);  // validated by the reader
            mem->Add(ikey, r.seq, rec);
            last_seq_ = std::max(last_seq_, r.seq);
            if (mem->ApproximateMemoryUsage() >= opt_.memtable_bytes) {
              RINGKV_RETURN_IF_ERROR(FlushMem(&mem, &from));
              from.push_back(name);
            }
            return Status::OK();
          },
          &res);
      if (!rs.ok() && !rs.IsCorruption()) return rs;
      std::string detail;
      if (res.truncated) {
        detail = "unsynced tail cut at offset " + std::to_string(res.truncated_at) + " (" +
                 std::to_string(*size - res.truncated_at) + " bytes, never acknowledged)";
      }
      if (!rs.ok() || res.salvaged > 0) {
        std::string why = !rs.ok() ? rs.ToString()
                                   : std::to_string(res.salvaged) + " bad region(s) skipped";
        lost_logs_.push_back(name);
        Add(RepairEntry::Action::kLost, name, res.records, *size,
            why + (detail.empty() ? "" : "; " + detail));
      } else {
        replayed_logs_.push_back(name);
        Add(RepairEntry::Action::kReplayed, name, res.records, *size, detail);
      }
    }
    return FlushMem(&mem, &from);
  }

  // Sources whose sequence ranges overlap cannot be ordered as whole tables (a log segment
  // already flushed but not yet removed, a compaction's inputs beside its output): each such
  // group is merged into one table that keeps, per key, the record with the highest sequence
  // number. A damaged table is rewritten too (its readable entries), even alone.
  Status MergeOverlaps() {
    std::vector<Source> empty, ranged;
    for (Source& s : sources_) (s.entries == 0 ? empty : ranged).push_back(std::move(s));
    sources_.clear();
    std::sort(ranged.begin(), ranged.end(),
              [](const Source& a, const Source& b) { return a.min_seq < b.min_seq; });
    for (size_t i = 0; i < ranged.size();) {
      size_t j = i + 1;
      uint64_t hi = ranged[i].max_seq;
      while (j < ranged.size() && ranged[j].min_seq <= hi) hi = std::max(hi, ranged[j++].max_seq);
      if (j == i + 1 && ranged[i].complete) {
        if (ranged[i].original) {
          Add(RepairEntry::Action::kKept, ranged[i].name, ranged[i].entries, ranged[i].bytes,
              "");
        }
        sources_.push_back(std::move(ranged[i]));
      } else {
        RINGKV_RETURN_IF_ERROR(MergeGroup(&ranged, i, j));
      }
      i = j;
    }
    for (Source& s : empty) {
      Add(RepairEntry::Action::kKept, s.name, 0, s.bytes, "no entries");
      sources_.push_back(std::move(s));
    }
    return Status::OK();
  }

  Status MergeGroup(std::vector<Source>* all, size_t begin, size_t end) {
    struct Child {
      std::unique_ptr<Iterator> it;
      uint64_t left;  // entries still to read (a damaged table: up to its damage)
    };
    std::vector<Child> children;
    uint64_t expected = 0;
    for (size_t i = begin; i < end; ++i) {
      Child c{(*all)[i].table->NewIterator(), (*all)[i].entries};
      c.it->SeekToFirst();
      expected += c.left;
      children.push_back(std::move(c));
    }
    auto valid = [](const Child& c) { return c.left > 0 && c.it->Valid(); };
    std::string key, value;
    Source out;
    bool written;
    Status read_status;
    RINGKV_RETURN_IF_ERROR(WriteTable(
        [&](std::string_view* k, std::string_view* v) {
          // The smallest key among the children; of its records, the highest sequence wins.
          const Child* min = nullptr;
          for (const Child& c : children) {
            if (valid(c) && (min == nullptr || c.it->key() < min->it->key())) min = &c;
          }
          if (min == nullptr) return false;
          key.assign(min->it->key());
          uint64_t best_seq = 0;
          bool have = false;
          for (Child& c : children) {
            if (!valid(c) || c.it->key() != key) continue;
            Record r;
            DecodeRecord(c.it->value(), &r);  // the scan checked these entries
            if (!have || r.seq > best_seq) {
              value.assign(c.it->value());
              best_seq = r.seq;
              have = true;
            }
            c.it->Next();
            --c.left;
          }
          *k = key;
          *v = value;
          return true;
        },
        expected, &out, &written));
    for (const Child& c : children) {
      if (c.left > 0 && !c.it->status().ok()) read_status = c.it->status();
    }
    // A table that read well in the scan and fails now: the disk is not to be trusted.
    if (!read_status.ok()) return read_status;
    std::string into = written ? out.name : "nothing (no entries)";
    for (size_t i = begin; i < end; ++i) {
      Source& s = (*all)[i];
      s.table.reset();
      if (!s.complete) {
        RINGKV_RETURN_IF_ERROR(MoveToLost(s.name));
        Add(RepairEntry::Action::kLost, s.name, s.entries, s.bytes,
            s.damage + "; the " + std::to_string(s.entries) + " entries before it went to " +
                into);
      } else if (s.original) {
        remove_after_.push_back(s.name);
        Add(RepairEntry::Action::kRewritten, s.name, s.entries, s.bytes,
            "sequence range overlaps another file's; merged into " + into);
      } else {
        // A table this repair wrote from log records: its own merge output replaces it.
        remove_after_.push_back(s.name);
        for (RepairEntry& e : report_->entries) {
          if (e.file == s.name && e.action == RepairEntry::Action::kWritten) {
            e.detail += "; merged into " + into;
          }
        }
      }
    }
    if (written) {
      Add(RepairEntry::Action::kWritten, out.name, out.entries, out.bytes,
          "merged from " + std::to_string(end - begin) + " file(s)");
      sources_.push_back(std::move(out));
    }
    return Status::OK();
  }

  // Logs with bad regions go to lost/, then the new manifest (its counters above every number
  // and sequence seen), then the files whose records are all in new tables are removed.
  Status Install() {
    for (const std::string& name : lost_logs_) RINGKV_RETURN_IF_ERROR(MoveToLost(name));
    std::sort(sources_.begin(), sources_.end(), [](const Source& a, const Source& b) {
      return a.max_seq != b.max_seq ? a.max_seq > b.max_seq : a.number > b.number;
    });
    ManifestData m;
    for (const Source& s : sources_) {
      TableMeta t;
      t.file_number = s.number;
      t.file_size = s.bytes;
      t.num_entries = s.entries;
      t.min_seq = s.entries == 0 ? 0 : s.min_seq;
      t.max_seq = s.max_seq;
      m.tables.push_back(t);
      report_->table_entries += s.entries;
      report_->table_bytes += s.bytes;
    }
    m.log_number = next_number_++;  // above every segment: none is left to replay
    m.next_file_number = next_number_;
    m.last_sequence = last_seq_;
    if (move_manifest_) RINGKV_RETURN_IF_ERROR(MoveToLost("MANIFEST"));
    RINGKV_RETURN_IF_ERROR(WriteManifest(dir_, m));
    report_->tables = m.tables.size();
    report_->last_sequence = last_seq_;
    for (const std::string& name : remove_after_) RINGKV_RETURN_IF_ERROR(RemoveFile(Path(name)));
    for (const std::string& name : replayed_logs_) RINGKV_RETURN_IF_ERROR(RemoveFile(Path(name)));
    return SyncDir(dir_);
  }

  const Options& opt_;
  const std::string dir_;
  RepairReport* report_;
  TableOptions topt_;
  uint64_t next_number_ = 1;
  uint64_t last_seq_ = 0;
  bool move_manifest_ = false;
  std::vector<Source> sources_;
  std::vector<std::string> lost_logs_, replayed_logs_, remove_after_;
};

const char* ActionName(RepairEntry::Action a) {
  switch (a) {
    case RepairEntry::Action::kKept:
      return "kept";
    case RepairEntry::Action::kRewritten:
      return "rewritten";
    case RepairEntry::Action::kReplayed:
      return "replayed";
    case RepairEntry::Action::kWritten:
      return "written";
    case RepairEntry::Action::kLost:
      return "LOST";
  }
  return "?";
}

}  // namespace

Status RepairDB(const Options& options, RepairReport* report) {
  *report = RepairReport();
  Repairer r(options, report);
  return r.Run();
}

std::string FormatRepairReport(const std::string& dir, const RepairReport& report) {
  std::string out = "repair of " + dir + ":\n";
  if (!report.old_manifest.empty()) out += "  old MANIFEST: " + report.old_manifest + "\n";
  for (const RepairEntry& e : report.entries) {
    char line[256];
    const bool log = e.file.compare(0, 4, "log-") == 0;
    std::snprintf(line, sizeof(line), "  %-9s %-16s %10" PRIu64 " %s %12" PRIu64 " bytes",
                  ActionName(e.action), e.file.c_str(), e.records, log ? "records" : "entries",
                  e.bytes);
    out += line;
    if (e.action == RepairEntry::Action::kLost) out += "  moved to lost/";
    if (!e.detail.empty()) out += "  (" + e.detail + ")";
    out += "\n";
  }
  out += "  MANIFEST written: " + std::to_string(report.tables) + " table(s), " +
         std::to_string(report.table_entries) + " entries, " +
         std::to_string(report.table_bytes) + " bytes, last sequence " +
         std::to_string(report.last_sequence) + "; " + std::to_string(report.lost_files) +
         " file(s) moved to " + JoinPath(dir, kLostDir) + "\n";
  return out;
}

}  // namespace ringkv::engine
