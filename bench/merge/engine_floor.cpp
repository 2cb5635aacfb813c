#include "bench/merge/engine_floor.h"

#include <fmt/format.h>

#include "bench/merge/seed_db.h"
#include "warehouse/sql.h"

namespace dimstream {

Status RunEngineFloor(const BenchOptions& o, const std::vector<PlannedFile>& plan, const Paths& p,
                      EngineFloor& r) {
  fs::path path = p.seed_db;
  path += ".floor";
  std::error_code ec;
  fs::remove(path, ec);
  Status done = [&]() -> Status {
    auto opened = SeedDb::Open(path, WarehouseOptions(o, p));
    if (!opened.ok()) {
      return opened.error();
    }
    std::unique_ptr<SeedDb> db = std::move(opened).value();
    bool created = false;
    for (const FileGroup group : {FileGroup::kInitial, FileGroup::kChange}) {
      for (const PlannedFile* f : FilesOf(plan, group)) {
        const std::string read = fmt::format("SELECT * FROM read_csv({}, header = true)",
                                             QuoteLiteral((p.files / f->name).string()));
        double cpu = ProcessCpuSeconds();
        auto start = Clock::now();
        DIMSTREAM_TRY(db->Exec(created ? "INSERT INTO floor " + read : "CREATE TABLE floor AS " + read));
        created = true;
        (group == FileGroup::kInitial ? r.initial : r.change)
            .Add(Seconds(Clock::now() - start), f->mix.rows(), ProcessCpuSeconds() - cpu);
      }
      if (group == FileGroup::kInitial && created) {
        double cpu = ProcessCpuSeconds();
        auto start = Clock::now();
        DIMSTREAM_TRY(db->Exec("CREATE TABLE copy AS SELECT * FROM floor"));
        r.initial_copy.Add(Seconds(Clock::now() - start), r.initial.rows, ProcessCpuSeconds() - cpu);
      }
    }
    return Ok();
  }();
  fs::remove(path, ec);
  fs::path wal = path;
  wal += ".wal";
  fs::remove(wal, ec);
  return done;
}

}  // namespace dimstream
