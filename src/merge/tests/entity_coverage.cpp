#include "merge/tests/entity_coverage.h"

#include <algorithm>
#include <optional>

#include "merge/tests/entity_reference.h"

namespace dimstream::property::declared {

void PlanFeatures(const Case& c, const std::vector<FilePlan>& files,
                  const std::map<std::string, Micros>& load_sequence, std::set<std::string>& features) {
  const Shape& shape = c.shape;
  features.insert("entity: key arity " + std::to_string(shape.keys.size()));
  for (const Column& k : shape.keys) {
    features.insert("entity: key type " +
                    (k.type.kind == Kind::kDecimal ? std::string("decimal") : k.type.Name()));
  }
  for (size_t a = 0; a < shape.attrs(); ++a) {
    const Type& t = shape.attr(a).type;
    features.insert("entity: attribute type " +
                    (t.kind == Kind::kDecimal ? std::string("decimal") : t.Name()));
    if (t.kind == Kind::kDecimal && t.p > 18) {
      features.insert("entity: attribute type decimal wider than 18 digits");
    }
  }
  features.insert("entity: " + std::to_string(shape.scd1.size()) + " SCD1, " +
                  std::to_string(shape.scd2.size()) + " SCD2 attributes");
  features.insert("entity: sequence " + shape.seq_mode);
  features.insert("entity: operations " + shape.op_style);
  if (!shape.truncates.empty()) {
    features.insert("entity: a truncate value");
  }
  features.insert(std::string("entity: scd1_scope ") + (shape.all_versions ? "all_versions" : "current"));
  if (shape.key_id_bits < 64) {
    features.insert("entity: key_id_bits " + std::to_string(shape.key_id_bits) +
                    (c.keys.size() > (1u << shape.key_id_bits) ? ", more keys than key ids" : ""));
  }
  bool with = false;
  bool without = false;
  std::map<int, std::set<std::string>> key_spellings;
  std::optional<size_t> merged_upto;  // the last file merged before the current one was loaded
  for (size_t f = 0; f < files.size(); ++f) {
    const FilePlan& file = files[f];
    if (!shape.seq.empty()) {
      (file.has_seq ? with : without) = true;
    }
    if (file.failed.empty() && file.rows.empty()) {
      features.insert("input: file with no rows");
    }
    if (!file.failed.empty()) {
      features.insert("input: file rejected whole: " + file.failed);
    }
    if (file.values_left_out) {
      features.insert("input: column with values left out of a header");
    }
    if (file.bom) {
      features.insert("input: BOM");
    }
    if (file.key_garbage) {
      features.insert("input: truncate whose key is no value of its type");
    }
    for (const ExpectedReject& r : file.rejects) {
      features.insert("input: row rejected: " + r.kind);
    }
    if (std::find(file.columns.begin(), file.columns.end(), "source_system") != file.columns.end() ||
        std::find(file.columns.begin(), file.columns.end(), "ingest_note") != file.columns.end()) {
      features.insert("input: unknown extra column");
    }
    for (const Effective& e : file.rows) {
      if (e.key >= 0) {
        key_spellings[e.key].insert(e.key_spelt);
      }
      // kNul: on PostgreSQL, the byte that stands for a NUL.
      if (e.key_spelt.find(kNul) != std::string::npos) {
        features.insert("input: a key with a NUL inside");
      }
      for (const std::string& v : e.spelt) {
        if (v.find(kNul) != std::string::npos) {
          features.insert("input: an attribute with a NUL inside");
        }
      }
      for (size_t g = 0; merged_upto && g <= *merged_upto; ++g) {
        for (const Effective& x : files[g].rows) {
          if ((x.key == e.key || e.key < 0) &&
              SeqOf(files, g, x, load_sequence) > SeqOf(files, f, e, load_sequence)) {
            features.insert(e.key < 0 ? "fold: late truncate after newer records were merged"
                                      : "fold: late record after the newer one was merged");
          }
        }
      }
    }
    if (file.merge_after) {
      merged_upto = f;
    }
    if (file.restart_before) {
      features.insert(files[f - 1].idle_after ? "input: merge restarted after an idle run saved its key index"
                                              : "input: merge restarted");
    }
  }
  for (const auto& [key, spellings] : key_spellings) {
    if (spellings.size() > 1) {
      features.insert("input: one key written in several spellings");
    }
  }
  if (without) {
    features.insert(with ? "input: files with and without the timestamp sequence"
                         : "input: only files without the timestamp sequence");
  }
}

}  // namespace dimstream::property::declared
