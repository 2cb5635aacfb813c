#include "merge/tests/entity_files.h"

#include <algorithm>
#include <sstream>

#include "merge/tests/entity_broken_rows.h"
#include "merge/tests/entity_spellings.h"
#include "merge/tests/property_pipeline.h"

namespace dimstream::property::declared {
namespace {

std::string SpellOp(Rng& rng, const Shape& shape, Op op) {
  const std::vector<std::string>& list = op == Op::kDelete     ? shape.deletes
                                         : op == Op::kTruncate ? shape.truncates
                                                               : shape.upserts;
  std::string v = RandomCase(rng, rng.Pick(list));
  if (rng.Chance(0.1)) {  // compared trimmed
    v = (rng.Chance(0.5) ? " " : "\t") + v + (rng.Chance(0.5) ? " " : "");
  }
  return v;
}

// The fields of record `r` in the file's column order; `e` (when given) allows a load-time sequence and
// collects the spellings.
std::vector<std::string> RowFields(Rng& rng, const Case& c, const std::vector<std::string>& columns,
                                   const Record& r, Effective* e, FilePlan& file) {
  const Shape& shape = c.shape;
  std::vector<std::string> fields;
  std::vector<Val> seq = c.grid.At(r.t);
  for (const std::string& name : columns) {
    std::string field;
    bool done = false;
    for (size_t k = 0; k < shape.keys.size() && !done; ++k) {
      if (shape.keys[k].name != name) {
        continue;
      }
      done = true;
      if (r.op == Op::kTruncate) {
        uint64_t roll = rng.Below(10);
        if (roll < 6) {
          field = NullField(rng);
        } else if (roll < 8) {
          field = CsvField(rng, Spell(rng, shape.keys[k].type, rng.Pick(c.keys)[k]));
        } else {
          field = CsvField(rng, rng.Chance(0.5) ? "not a key" : "-");
          file.key_garbage |= shape.keys[k].type.kind != Kind::kText;
        }
      } else {
        std::string v = Spell(rng, shape.keys[k].type, c.keys[static_cast<size_t>(r.key)][k]);
        field = CsvField(rng, v);
        if (e != nullptr) {
          e->key_spelt += v + "|";
        }
      }
    }
    for (size_t a = 0; a < shape.attrs() && !done; ++a) {
      if (shape.attr(a).name != name) {
        continue;
      }
      done = true;
      std::string v = r.attrs[a] ? Spell(rng, shape.attr(a).type, *r.attrs[a]) : std::string();
      field = r.attrs[a] ? CsvField(rng, v) : NullField(rng);
      if (e != nullptr) {
        e->spelt[a] = v;
      }
    }
    for (size_t s = 0; s < shape.seq.size() && !done; ++s) {
      if (shape.seq[s].name != name) {
        continue;
      }
      done = true;
      if (e != nullptr && e->seq_from_file) {
        field = LoadTimePlaceholder(*e->seq_from_file, rng.Next());
      } else {
        field = CsvField(rng, Spell(rng, shape.seq[s].type, seq[s]));
      }
    }
    if (!done && name == shape.op) {
      done = true;
      std::string v = SpellOp(rng, shape, r.op);
      field = v.empty() ? NullField(rng) : CsvField(rng, v);
    }
    if (!done) {  // an unknown column
      field = rng.Chance(0.3) ? std::string() : CsvField(rng, rng.Pick(ValuePool(Type{}, false)).s);
    }
    fields.push_back(field);
  }
  return fields;
}

// The file's header: its columns, one of them renamed when the file must be rejected for the lack of it.
std::vector<std::string> Header(Rng& rng, const Shape& shape, const FilePlan& file) {
  std::vector<std::string> header = file.columns;
  if (file.failed == "no key column") {
    std::string& k = *std::find(header.begin(), header.end(), rng.Pick(shape.keys).name);
    k = rng.Chance(0.5) ? k + "_x" : "key";
  } else if (file.failed == "no sequence column") {
    // One sequence column gone (or both): a file has all of them or none, and only a single timestamp
    // sequence falls back to the load's commit time.
    bool both = shape.seq.size() == 2 && rng.Chance(0.3);
    for (size_t s = 0; s < shape.seq.size(); ++s) {
      if (s == 0 || both) {
        std::string& h = *std::find(header.begin(), header.end(), shape.seq[shape.seq.size() - 1 - s].name);
        h += "_old";
      }
    }
  }
  return header;
}

}  // namespace

Plan MakePlan(Rng& rng, const Case& c, const PlanOptions& options, const std::string& prefix) {
  const Shape& shape = c.shape;
  const std::vector<Record>& records = c.records;
  Plan plan;
  const std::vector<FileSpan> spans = SplitIntoFiles(rng, records.size(), prefix);
  for (size_t f = 0; f < spans.size(); ++f) {
    const auto& [file_name, begin, end] = spans[f];
    // A file lacks the sequence only where there is none, or where it falls back to the load's commit time.
    FilePlan file{
        .name = file_name,
        .has_seq = !shape.seq.empty() && !(shape.falls_back() && rng.Chance(options.no_seq_file_chance))};
    if (rng.Chance(options.failed_file_chance)) {
      uint64_t roll = rng.Below(3);
      file.failed = roll == 0                          ? "empty file"
                    : roll == 1 && !shape.falls_back() ? "no sequence column"
                                                       : "no key column";
    }
    bool any_end = false;  // a delete or truncate
    bool any_truncate = false;
    std::vector<bool> all_null(shape.attrs(), true);
    for (size_t i = begin; i < end; ++i) {
      any_end |= records[i].op != Op::kUpsert;
      any_truncate |= records[i].op == Op::kTruncate;
      for (size_t a = 0; a < shape.attrs(); ++a) {
        all_null[a] = all_null[a] && !records[i].attrs[a];
      }
    }
    std::vector<std::string> columns;
    for (const Column& k : shape.keys) {
      columns.push_back(k.name);
    }
    std::vector<bool> present(shape.attrs());
    for (size_t a = 0; a < shape.attrs(); ++a) {
      bool may_drop = options.drop_non_null_columns || all_null[a];
      present[a] = !(may_drop && rng.Chance(options.drop_non_null_columns ? 0.07 : 0.3));
      file.values_left_out |= !present[a] && !all_null[a];
      if (present[a]) {
        columns.push_back(shape.attr(a).name);
      }
    }
    if (file.has_seq) {
      for (const Column& s : shape.seq) {
        columns.push_back(s.name);
      }
    }
    bool has_op = !shape.op.empty();
    if (has_op && shape.empty_upsert() && !any_truncate) {
      // Without its operation column a file's rows are upserts: only where "" is one, so that no reading
      // of section 1 would reject them.
      bool may_drop = options.drop_non_null_columns || !any_end;
      has_op = !(may_drop && rng.Chance(options.drop_non_null_columns ? 0.1 : 0.3));
      file.values_left_out |= !has_op && any_end;
    }
    if (has_op) {
      columns.push_back(shape.op);
    }
    if (rng.Chance(options.extra_column_chance)) {
      columns.push_back(rng.Chance(0.5) ? "source_system" : "ingest_note");
    }
    rng.Shuffle(columns);
    file.columns = columns;

    auto join = [](const std::vector<std::string>& fields) {
      std::string line = JoinFields(fields);
      return line.empty() ? std::string("\"\"") : line;  // a line with no bytes is skipped, not a row
    };
    std::vector<CsvLine> lines;
    auto maybe_bad_row = [&] {
      if (!file.failed.empty() || !rng.Chance(options.bad_row_chance)) {
        return;
      }
      const Record& model = records[end > begin ? begin + rng.Below(end - begin) : rng.Below(records.size())];
      std::vector<std::string> fields = RowFields(rng, c, columns, model, nullptr, file);
      ExpectedReject reject;
      bool valid_utf8 = true;
      if (!BreakRow(rng, shape, columns, model, fields, reject, valid_utf8)) {
        return;
      }
      lines.push_back(BrokenLine(join(fields), reject, valid_utf8));
    };
    for (size_t i = begin; i < end; ++i) {
      const Record& r = records[i];
      Effective e{.key = r.key,
                  .op = has_op ? r.op : Op::kUpsert,
                  .spelt = std::vector<std::string>(shape.attrs()),
                  .file = f,
                  .row = i - begin};
      if (file.has_seq) {
        e.seq = c.grid.At(r.t);
        if (rng.Chance(options.load_time_tie_chance)) {
          // Prefer an earlier file without the sequence that holds the same key.
          e.seq_from_file = PickLoadTimeFile(
              rng, plan.files.size(),
              [&](size_t j) { return !plan.files[j].has_seq && plan.files[j].failed.empty(); },
              [&](size_t j) {
                return std::any_of(
                    plan.files[j].rows.begin(), plan.files[j].rows.end(),
                    [&](const Effective& x) { return x.key == r.key || x.key < 0 || r.key < 0; });
              });
          if (e.seq_from_file) {
            e.seq.reset();
          }
        }
      }
      maybe_bad_row();
      lines.push_back({join(RowFields(rng, c, columns, r, &e, file)), std::nullopt});
      for (size_t a = 0; a < shape.attrs(); ++a) {
        e.attrs.push_back(present[a] ? r.attrs[a] : std::nullopt);
        if (!present[a]) {
          e.spelt[a].clear();
        }
      }
      if (file.failed.empty()) {
        file.rows.push_back(e);
      }
    }
    maybe_bad_row();

    file.crlf = rng.Chance(0.5);
    std::string eol = file.crlf ? "\r\n" : "\n";
    std::vector<std::string> header = Header(rng, shape, file);
    std::string& out = file.content;
    if (file.failed != "empty file") {
      file.bom = rng.Chance(0.1);
      out += file.bom ? "\xEF\xBB\xBF" : "";
      WriteCsv(rng, header, lines, eol, out, file.rejects);
    }
    file.merge_after = rng.Chance(options.merge_chance);
    file.idle_after = file.merge_after && rng.Chance(0.3);
    file.restart_before = f > 0 && rng.Chance(options.restart_chance);
    plan.files.push_back(std::move(file));
  }
  plan.files.back().merge_after = true;
  plan.snapshot = rng.Chance(0.7);
  plan.compaction = static_cast<Compaction>(rng.Below(kCompactions));
  return plan;
}

std::string Plan::Describe(bool with_content) const {
  std::ostringstream o;
  o << "  (" << CompactionName(compaction) << ")\n";
  for (const FilePlan& f : files) {
    o << "  load " << f.name << " (" << f.rows.size() << " rows" << (f.has_seq ? "" : ", no sequence")
      << (f.failed.empty() ? "" : ", rejected whole: " + f.failed) << DescribeRejects(f.rejects) << ")"
      << (f.restart_before ? " after a merge restart" : "") << (f.merge_after ? ", then merge" : "")
      << (f.idle_after ? ", then an idle merge" : "") << "\n";
  }
  if (with_content) {
    o << "  as a behaviour case (\\r shown as text):\n";
    for (const FilePlan& f : files) {
      std::string shown;
      for (char c : f.content) {
        shown += c == '\r' ? std::string("\\r") : c == '\0' ? std::string("\\0") : std::string(1, c);
      }
      o << "--- file " << f.name << "\n"
        << shown << (f.content.empty() || f.content.back() != '\n' ? "\n(no final line end)\n" : "")
        << (f.merge_after ? "--- merge\n" : "");
    }
  }
  return o.str();
}

}  // namespace dimstream::property::declared
