#pragma once

// The phases of dimstream_bench_scaleout, in the order Run calls them.
#include <string>
#include <vector>

#include "bench/scaleout/scaleout.h"

namespace dimstream::scaleout {

// `loaders` `dimstream load` processes, each with its own data directory, consuming one RabbitMQ queue of
// notifications for the objects of one shared file:// bucket, into database LoadDatabase(loaders). Timed
// from the first notification published to the last load committed; checks that every file and every row
// was loaded exactly once.
Status RunLoadPhase(const Context& c, uint64_t loaders, LoadResult& r, std::vector<Check>& checks);

// One `dimstream merge` over the raw rows of LoadDatabase(first), in transactions of one file's rows
// (merge.max_rows_per_run = rows per file), so that it folds file by file as the seed's procedure does.
Status RunMergePhase(const Context& c, MergeResult& r, std::vector<Check>& checks);

// A `dimstream run` on the merged database; the fresh files are linked into its landing at
// --fresh-per-sec, each timed until the merge commit that covers it is seen.
Status RunFreshnessPhase(const Context& c, FreshResult& r, std::vector<Check>& checks);

// The seed's procedure ported to PostgreSQL, on the loaded files in dimstream's load order (`order`: object
// keys), in database kSeedDatabase; then its tables compared with dimstream's (before the freshness files).
Status RunSeedPhase(const Context& c, const std::vector<std::string>& order, SeedResult& r);

// Compares the seed's customer_current and customer_history with dimstream's (key, attributes; and
// is_current for history) as multisets.
Status CompareWithSeed(const Context& c, std::vector<Check>& checks);

// The object keys of the loads of `db`, in load id order.
Result<std::vector<std::string>> LoadOrder(const Context& c, const std::string& db);

}  // namespace dimstream::scaleout
