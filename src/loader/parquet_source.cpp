#include "loader/parquet_source.h"

#include <duckdb.h>

#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "common/utf8.h"

namespace dimstream {
namespace {

// A DuckDB handle that is destroyed once, by whoever holds it last. The loader's readers must not depend
// on the warehouse, so they do not share its wrappers (warehouse/duckdb/duckdb_handles.h).
template <typename H, void (*Destroy)(H*)>
class Owned {
 public:
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  Owned(Owned&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      Reset();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~Owned() { Reset(); }

  H get() const { return h_; }
  // For the C functions that create the handle through a pointer.
  H* out() {
    Reset();
    return &h_;
  }
  void Reset() {
    if (h_ != nullptr) {
      Destroy(&h_);
      h_ = nullptr;
    }
  }

 private:
  H h_ = nullptr;
};

using Config = Owned<duckdb_config, duckdb_destroy_config>;
using Database = Owned<duckdb_database, duckdb_close>;
using Connection = Owned<duckdb_connection, duckdb_disconnect>;
using Prepared = Owned<duckdb_prepared_statement, duckdb_destroy_prepare>;
using Pending = Owned<duckdb_pending_result, duckdb_destroy_pending>;
using Chunk = Owned<duckdb_data_chunk, duckdb_destroy_data_chunk>;
using LogicalType = Owned<duckdb_logical_type, duckdb_destroy_logical_type>;

// duckdb_result is a struct, not a pointer: destroyed (even when zeroed or failed) with its owner.
class QueryResult {
 public:
  QueryResult() = default;
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;
  ~QueryResult() { duckdb_destroy_result(&result_); }
  duckdb_result* get() { return &result_; }

 private:
  duckdb_result result_{};
};

// read_parquet takes its argument as a glob pattern: "a*.parquet" would also read every other file that
// matches, and a directory reads all the files in it. A character in brackets matches only itself.
std::string EscapeGlob(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '*' || c == '?' || c == '[') {
      out += '[';
      out += c;
      out += ']';
    } else {
      out += c;
    }
  }
  return out;
}

// `text` with each `from` replaced by `to`.
void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) {
    return;
  }
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

bool IsNested(duckdb_type type) {
  return type == DUCKDB_TYPE_STRUCT || type == DUCKDB_TYPE_LIST || type == DUCKDB_TYPE_MAP ||
         type == DUCKDB_TYPE_ARRAY || type == DUCKDB_TYPE_UNION;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

}  // namespace

struct ParquetSource::Impl {
  std::filesystem::path file;
  std::string memory_limit;
  std::string name;     // the file name alone, for messages
  std::string path;     // absolute
  std::string pattern;  // `path` as read_parquet's glob

  Database db;
  Connection conn;
  QueryResult result;  // streaming: each fetch decodes the next rows of the file
  bool opened = false;
  bool ready = false;  // ReadHeader succeeded: `result` streams the rows

  std::vector<bool> nested;       // [column]: the field is JSON text (raw embeds it as is)
  std::vector<std::string> keys;  // [column]: "\"name\":" for raw

  Chunk current;                       // the chunk Next serves rows from
  std::vector<Chunk> kept;             // chunks whose views the caller may still hold, until Release
  std::vector<duckdb_string_t*> data;  // [column] of `current`
  std::vector<uint64_t*> validity;     // [column] of `current`; null when no row is NULL
  idx_t rows = 0;                      // in `current`
  idx_t next = 0;                      // the row of `current` Next gives next
  uint64_t line = 0;                   // rows given so far
  bool ended = false;
  bool failed = false;
  Error error = Error::Invalid("");
  std::string raw;  // the last record's raw text, rewritten by every Next

  // DuckDB's message, in terms of the file name, without the query excerpt it appends.
  std::string Reason(std::string message) const {
    if (size_t at = message.find("\nLINE "); at != std::string::npos) {
      message.resize(at);
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    // "Invalid Input Error: ..." - the kind is said by the Error, not in its words.
    if (size_t colon = message.find(": "); colon != std::string::npos) {
      std::string_view head(message.data(), colon);
      if (head.ends_with(" Error") && head.find_first_of("'\"/") == std::string_view::npos) {
        message.erase(0, colon + 2);
      }
    }
    ReplaceAll(message, pattern, name);
    ReplaceAll(message, path, name);
    return message;
  }

  // A failed query as the contract's kinds: an I/O failure may pass (kRetryable), anything else is the
  // file's fault and fails the same way every time (kInvalidInput).
  Error ToError(duckdb_error_type type, const char* message) const {
    std::string text = fmt::format("cannot read {} as Parquet: {}", name,
                                   Reason(message != nullptr ? message : "unknown error"));
    if (type == DUCKDB_ERROR_IO) {
      return Error::Retryable(text);
    }
    if (type == DUCKDB_ERROR_OUT_OF_MEMORY) {
      // Row groups are decoded whole: a file written with huge ones needs more than the limit each time.
      return Error::Invalid(text + fmt::format(" (the reader's memory limit is {}: rewrite the file with "
                                               "smaller row groups, or raise the limit)",
                                               memory_limit));
    }
    return Error::Invalid(text);
  }

  Status Open() {
    Config config;
    if (duckdb_create_config(config.out()) != DuckDBSuccess) {
      return Error::Retryable("cannot create a DuckDB configuration (out of memory?)");
    }
    // One thread keeps the memory bound and the rows in the file's order; no extension may be fetched
    // from the network (a path is never a URL here anyway); no temporary files: the reader never needs
    // to spill, and an in-memory database would spill into the working directory.
    const std::pair<const char*, std::string> settings[] = {
        {"memory_limit", memory_limit},         {"threads", "1"},
        {"preserve_insertion_order", "true"},   {"autoinstall_known_extensions", "false"},
        {"autoload_known_extensions", "false"}, {"temp_directory", ""},
    };
    for (const auto& [key, value] : settings) {
      if (duckdb_set_config(config.get(), key, value.c_str()) != DuckDBSuccess) {
        return Error::Permanent(fmt::format("cannot read Parquet: DuckDB refuses {} = '{}'", key, value));
      }
    }
    char* open_error = nullptr;
    duckdb_state st = duckdb_open_ext(nullptr, db.out(), config.get(), &open_error);
    if (st != DuckDBSuccess) {
      std::string message = open_error != nullptr ? open_error : "unknown error";
      duckdb_free(open_error);
      return Error::Permanent("cannot start DuckDB to read Parquet: " + message);
    }
    if (duckdb_connect(db.get(), conn.out()) != DuckDBSuccess) {
      return Error::Retryable("cannot connect to DuckDB to read Parquet");
    }
    // TIMESTAMP WITH TIME ZONE is cast to text in the session's zone, which would otherwise be the host's.
    QueryResult set;
    if (duckdb_query(conn.get(), "SET TimeZone = 'UTC'", set.get()) != DuckDBSuccess) {
      return Error::Permanent(std::string("cannot set DuckDB's time zone to UTC: ") +
                              duckdb_result_error(set.get()));
    }
    return Ok();
  }

  // Runs `sql` with the file as its only parameter, streaming or not.
  Status Run(const std::string& sql, bool streaming, QueryResult& out) {
    Prepared prepared;
    if (duckdb_prepare(conn.get(), sql.c_str(), prepared.out()) != DuckDBSuccess) {
      return Error::Permanent(fmt::format("cannot read {} as Parquet: cannot prepare the query: {}", name,
                                          Reason(duckdb_prepare_error(prepared.get()))));
    }
    if (duckdb_bind_varchar_length(prepared.get(), 1, pattern.data(), pattern.size()) != DuckDBSuccess) {
      return Error::Permanent(fmt::format("cannot read {} as Parquet: cannot bind its path", name));
    }
    if (!streaming) {
      if (duckdb_execute_prepared(prepared.get(), out.get()) != DuckDBSuccess) {
        return ToError(duckdb_result_error_type(out.get()), duckdb_result_error(out.get()));
      }
      return Ok();
    }
    // The C API streams only through a pending result (the warehouse adapter does the same).
    Pending pending;
    if (duckdb_pending_prepared_streaming(prepared.get(), pending.out()) != DuckDBSuccess) {
      const char* message = pending.get() != nullptr ? duckdb_pending_error(pending.get()) : nullptr;
      return ToError(DUCKDB_ERROR_INVALID, message);
    }
    if (duckdb_execute_pending(pending.get(), out.get()) != DuckDBSuccess) {
      return ToError(duckdb_result_error_type(out.get()), duckdb_result_error(out.get()));
    }
    return Ok();
  }

  Status ReadHeader(std::vector<std::string>& names) {
    if (opened) {
      return Error::Permanent("ParquetSource::ReadHeader called twice");
    }
    opened = true;
    name = file.filename().string();
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(file, ec);
    if (ec) {
      return Error::Retryable(fmt::format("cannot read {}: {}", name, ec.message()));
    }
    path = absolute.string();
    pattern = EscapeGlob(path);
    auto status = std::filesystem::status(absolute, ec);
    if (ec || !std::filesystem::exists(status)) {
      // The loader has just written the file; if it is gone, a retry writes it again.
      return Error::Retryable(fmt::format("cannot read {}: {}", name,
                                          ec ? ec.message() : std::string("the file does not exist")));
    }
    if (!std::filesystem::is_regular_file(status)) {
      return Error::Invalid(fmt::format("cannot read {} as Parquet: it is not a regular file", name));
    }
    DIMSTREAM_TRY(Open());

    // The footer alone gives the columns: LIMIT 0 reads no row group.
    QueryResult schema;
    DIMSTREAM_TRY(Run("SELECT * FROM read_parquet($1) LIMIT 0", false, schema));
    idx_t columns = duckdb_column_count(schema.get());
    std::string select;
    names.clear();
    for (idx_t c = 0; c < columns; ++c) {
      std::string column = duckdb_column_name(schema.get(), c);
      LogicalType type;
      *type.out() = duckdb_column_logical_type(schema.get(), c);
      duckdb_type id = duckdb_get_type_id(type.get());
      std::string quoted = QuoteIdentifier(column);
      select += c == 0 ? "" : ", ";
      if (id == DUCKDB_TYPE_VARCHAR || id == DUCKDB_TYPE_BLOB) {
        // A BLOB's bytes are given as they are: writers that store text without Parquet's string
        // annotation (older Hive, Impala, Spark) then load as text, and bytes that are not UTF-8 are
        // rejected by the parser when the column is one of the entity's. DuckDB's BLOB-to-text cast would
        // turn every byte outside ASCII into \xNN and change such text silently.
        select += quoted;
      } else if (IsNested(id)) {
        select += fmt::format("CAST(to_json({}) AS VARCHAR)", quoted);
      } else {
        // Integers, decimals and hugeints exactly; doubles and floats in their shortest round-trip form
        // (1e+300, 0.1); booleans true/false; dates YYYY-MM-DD; timestamps "2024-01-01 10:00:00.5" and
        // with time zone "... +00" (UTC, set above), both of which ParseTimestamp accepts.
        select += fmt::format("CAST({} AS VARCHAR)", quoted);
      }
      nested.push_back(IsNested(id));
      std::string key;
      AppendJsonString(key, column);
      keys.push_back(key + ":");
      names.push_back(std::move(column));
    }
    if (columns == 0) {
      return Error::Invalid(fmt::format("cannot read {} as Parquet: the file has no columns", name));
    }
    // Rows are numbered by counting them: the scan's file_row_number column would clash with a column of
    // that name in the file, and one thread with insertion order preserved gives the rows in file order.
    DIMSTREAM_TRY(Run("SELECT " + select + " FROM read_parquet($1)", true, result));
    data.resize(columns);
    validity.resize(columns);
    ready = true;
    return Ok();
  }

  // Makes `current` the next chunk with rows; false at the end or on a failure.
  bool NextChunk() {
    while (true) {
      if (current.get() != nullptr) {
        // Its rows were given out: their views stay valid until Release.
        kept.push_back(std::move(current));
      }
      *current.out() = duckdb_fetch_chunk(*result.get());
      if (current.get() == nullptr) {
        const char* message = duckdb_result_error(result.get());
        if (message != nullptr) {
          failed = true;
          error = ToError(duckdb_result_error_type(result.get()), message);
        } else {
          ended = true;
        }
        return false;
      }
      rows = duckdb_data_chunk_get_size(current.get());
      next = 0;
      if (rows == 0) {
        current.Reset();
        continue;
      }
      for (idx_t c = 0; c < data.size(); ++c) {
        duckdb_vector v = duckdb_data_chunk_get_vector(current.get(), c);
        data[c] = static_cast<duckdb_string_t*>(duckdb_vector_get_data(v));
        validity[c] = duckdb_vector_get_validity(v);
      }
      return true;
    }
  }

  SourceStatus Next(SourceRecord& record) {
    if (failed) {
      return SourceStatus::kFailed;
    }
    if (!ready || ended) {
      return SourceStatus::kEnd;
    }
    if (next == rows && !NextChunk()) {
      return failed ? SourceStatus::kFailed : SourceStatus::kEnd;
    }
    const idx_t row = next++;
    record.line = ++line;
    record.fields.resize(data.size());
    raw.clear();
    raw += '{';
    for (size_t c = 0; c < data.size(); ++c) {
      raw += c == 0 ? "" : ",";
      raw += keys[c];
      if (validity[c] != nullptr && !duckdb_validity_row_is_valid(validity[c], row)) {
        record.fields[c] = SourceField{{}, true};
        raw += "null";
        continue;
      }
      // A string of up to 12 bytes is stored inside the vector itself, so the pointer must be into the
      // chunk's data, not into a copy of the duckdb_string_t.
      duckdb_string_t* s = data[c] + row;
      std::string_view text(duckdb_string_t_data(s), duckdb_string_t_length(*s));
      record.fields[c] = SourceField{text, false};
      if (nested[c]) {
        raw += text;
      } else {
        AppendJsonString(raw, text);
      }
    }
    raw += '}';
    record.raw = raw;
    return SourceStatus::kRecord;
  }
};

ParquetSource::ParquetSource(std::filesystem::path file, std::string memory_limit)
    : impl_(std::make_unique<Impl>()) {
  impl_->file = std::move(file);
  impl_->memory_limit = std::move(memory_limit);
}

ParquetSource::~ParquetSource() = default;

Status ParquetSource::ReadHeader(std::vector<std::string>& names) {
  return impl_->ReadHeader(names);
}

SourceStatus ParquetSource::Next(SourceRecord& record, std::string& why) {
  why.clear();
  return impl_->Next(record);
}

Error ParquetSource::failure() const {
  return impl_->error;
}

bool ParquetSource::Stable(std::string_view view) const {
  // Every field views a chunk that is kept until Release; only `raw` is rewritten by the next record.
  const char* raw = impl_->raw.data();
  return view.data() < raw || view.data() > raw + impl_->raw.capacity();
}

void ParquetSource::Release() {
  impl_->kept.clear();
}

size_t ParquetSource::held_chunks() const {
  return impl_->kept.size() + (impl_->current.get() != nullptr ? 1 : 0);
}

}  // namespace dimstream
