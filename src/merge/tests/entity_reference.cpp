#include "merge/tests/entity_reference.h"

#include <algorithm>
#include <optional>
#include <tuple>

namespace dimstream::property::declared {
namespace {

struct RefVersion {
  std::vector<Cell> attrs;
  std::vector<std::string> spelt;
  std::vector<Val> valid_from;
  std::optional<std::vector<Val>> valid_to;
};

}  // namespace

std::vector<Val> SeqOf(const std::vector<FilePlan>& files, size_t file, const Effective& e,
                       const std::map<std::string, Micros>& load_sequence) {
  if (e.seq_from_file) {
    return {Num(load_sequence.at(files[*e.seq_from_file].name))};
  }
  if (e.seq) {
    return *e.seq;
  }
  return {Num(load_sequence.at(files[file].name))};
}

Tables ReferenceFold(const Case& c, const std::vector<FilePlan>& files,
                     const std::map<std::string, Micros>& load_sequence, std::set<std::string>* features) {
  const Shape& shape = c.shape;
  auto saw = [&](const std::string& what) {
    if (features != nullptr) {
      features->insert("fold: " + what);
    }
  };
  struct Event {
    std::vector<Val> seq;
    size_t file;
    size_t row;
    const Effective* rec;
  };
  std::vector<Event> truncates;
  std::map<int, std::vector<Event>> by_key;
  for (size_t f = 0; f < files.size(); ++f) {
    for (const Effective& e : files[f].rows) {
      Event ev{SeqOf(files, f, e, load_sequence), e.file, e.row, &e};
      (e.op == Op::kTruncate ? truncates : by_key[e.key]).push_back(ev);
    }
  }
  auto before = [](const Event& a, const Event& b) {
    if (a.seq != b.seq) {
      return a.seq < b.seq;
    }
    return std::tie(a.file, a.row) < std::tie(b.file, b.row);
  };
  std::vector<Type> seq_types = shape.seq_types();
  auto seq_text = [&](const std::vector<Val>& seq) {
    Row out;
    for (size_t i = 0; i < seq_types.size(); ++i) {
      out.push_back(Canon(seq_types[i], seq[i]));
    }
    return out;
  };
  Tables t;
  for (auto& [key, own] : by_key) {
    std::vector<Event> recs = own;
    recs.insert(recs.end(), truncates.begin(), truncates.end());
    std::sort(recs.begin(), recs.end(), before);
    std::vector<RefVersion> versions;
    std::optional<size_t> cur;
    const Effective* latest_upsert = nullptr;
    for (size_t i = 0; i < recs.size(); ++i) {
      const Effective& r = *recs[i].rec;
      if (i + 1 < recs.size() && recs[i + 1].seq == recs[i].seq) {
        const Effective& next = *recs[i + 1].rec;
        saw(recs[i + 1].file == recs[i].file ? "tie in one file" : "tie across files");
        if (r.op == Op::kTruncate && next.op != Op::kTruncate) {
          saw("tie: a truncate superseded by a later record of the key");
        } else if (r.op != Op::kTruncate && next.op == Op::kTruncate) {
          saw("tie: a record superseded by a later truncate");
        }
        if (r.seq_from_file || next.seq_from_file) {
          saw("tie between a sequence value and a load time");
        }
        if (r.attrs == next.attrs && r.op == next.op && r.key == next.key) {
          saw("exact duplicate");
        }
        continue;  // superseded by a later arrival with the same sequence
      }
      std::vector<Val> seq = recs[i].seq;
      if (features != nullptr) {
        for (size_t j = i + 1; j < recs.size(); ++j) {
          if (std::tie(recs[j].file, recs[j].row) < std::tie(recs[i].file, recs[i].row)) {
            saw(r.op == Op::kTruncate ? "late truncate before newer records"
                : r.op == Op::kDelete ? "late delete before newer records"
                                      : "late upsert before newer records");
            break;
          }
        }
      }
      if (r.op != Op::kUpsert) {
        if (cur) {
          saw(r.op == Op::kTruncate ? "truncate closes a version" : "delete closes a version");
          versions[*cur].valid_to = seq;
          cur.reset();
        } else if (r.op == Op::kDelete) {
          saw("delete of a key with no current version");
        }
        continue;
      }
      latest_upsert = &r;
      if (!cur) {
        if (!versions.empty()) {
          saw("re-insert after a delete or truncate");
        }
        versions.push_back({r.attrs, r.spelt, seq, std::nullopt});
        cur = versions.size() - 1;
        continue;
      }
      RefVersion& v = versions[*cur];
      bool scd2_differs = false;
      bool spelt_otherwise = false;
      for (size_t a = shape.scd1.size(); a < shape.attrs(); ++a) {
        scd2_differs |= v.attrs[a] != r.attrs[a];  // NULL equals NULL, differs from any value
        spelt_otherwise |= v.attrs[a] && v.attrs[a] == r.attrs[a] && v.spelt[a] != r.spelt[a];
      }
      if (scd2_differs) {
        saw("SCD2 change opens a version");
        v.valid_to = seq;
        versions.push_back({r.attrs, r.spelt, seq, std::nullopt});
        cur = versions.size() - 1;
      } else {
        saw(v.attrs == r.attrs ? "upsert changing nothing" : "SCD1 change in place");
        if (spelt_otherwise) {
          saw("SCD2 value resent in another spelling: no new version");
        }
        for (size_t a = 0; a < shape.scd1.size(); ++a) {
          v.attrs[a] = r.attrs[a];
        }
        v.spelt = r.spelt;
      }
    }
    if (shape.all_versions && latest_upsert != nullptr) {
      // Kimball's Type 6: every version carries the SCD1 values of the key's latest upsert.
      for (size_t i = 0; i < versions.size(); ++i) {
        for (size_t a = 0; a < shape.scd1.size(); ++a) {
          if (i + 1 < versions.size() && versions[i].attrs[a] != latest_upsert->attrs[a]) {
            saw("all_versions rewrites a closed version's SCD1 value");
          }
          versions[i].attrs[a] = latest_upsert->attrs[a];
        }
      }
    }
    for (const RefVersion& v : versions) {
      Row row;
      for (size_t k = 0; k < shape.keys.size(); ++k) {
        row.push_back(Canon(shape.keys[k].type, c.keys[static_cast<size_t>(key)][k]));
      }
      for (size_t a = 0; a < shape.attrs(); ++a) {
        row.push_back(v.attrs[a] ? Value(Canon(shape.attr(a).type, *v.attrs[a])) : std::nullopt);
      }
      for (const Value& x : seq_text(v.valid_from)) {
        row.push_back(x);
      }
      Row cur_row = row;
      if (v.valid_to) {
        for (const Value& x : seq_text(*v.valid_to)) {
          row.push_back(x);
        }
      } else {
        row.insert(row.end(), seq_types.size(), std::nullopt);
      }
      row.push_back(v.valid_to ? "false" : "true");
      t.history.push_back(row);
      if (!v.valid_to) {
        t.current.push_back(cur_row);
      }
    }
  }
  std::sort(t.history.begin(), t.history.end());
  std::sort(t.current.begin(), t.current.end());
  return t;
}

}  // namespace dimstream::property::declared
