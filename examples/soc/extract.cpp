// soc extract: a sample table (CSV or a point layer) and the covariate rasters -> the arrays
// soc train, soc cv and soc predict read, cut by the code soc map uses (site_extraction.hpp):
//   DIR/x_cnn.npy (N, C, P, P), x_lstm.npy (N, T, F), y.npy (N) or (N, K), coords.npy (N, 2),
//   train_index.npy, test_index.npy (a seeded random split of the kept rows), sites.csv (every
//   input site: kept, or why not) and bands.json (the channels' and features' names).
// Everything is read and checked before anything is written; then every file is written in full
// under a temporary name, and only then are they renamed into place. Like soc simulate, it replaces only files it wrote itself (OwnedFolder).

#include "common_flags.hpp"
#include "commands.hpp"
#include "command_line.hpp"
#include "output_guard.hpp"
#include "site_extraction.hpp"

#include <cnnlstm/core/random.hpp>
#include <cnnlstm/io/atomic_file.hpp>
#include <cnnlstm/io/npy.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <iostream>
#include <numeric>
#include <sstream>

namespace soc {
namespace {

const std::vector<std::string> output_names{"x_cnn.npy",       "x_lstm.npy",     "y.npy",     "coords.npy", "train_index.npy",
                                            "test_index.npy", "sites.csv",      "bands.json"};

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string number_or_empty(const std::optional<double>& v) {
  if (!v) return "";
  std::ostringstream s;
  s.precision(12);
  s << *v;
  return s.str();
}

// sites.csv: id, the table's coordinates, the rasters' x and y, row, col, status, array_row.
std::string sites_csv(const Extraction& e) {
  std::ostringstream out;
  out << "id," << csv_field(e.x_name) << ',' << csv_field(e.y_name) << ",raster_x,raster_y,row,col,status,array_row\n";
  for (const SiteOutcome& s : e.sites) {
    out << csv_field(s.site.id) << ',' << number_or_empty(s.site.x) << ',' << number_or_empty(s.site.y) << ','
        << number_or_empty(s.x) << ',' << number_or_empty(s.y) << ',';
    if (s.row >= 0) out << s.row << ',' << s.col;
    else out << ',';
    out << ',' << to_string(s.status) << ',';
    if (s.array_row >= 0) out << s.array_row;
    out << '\n';
  }
  return out.str();
}

nlohmann::json bands_json(const Extraction& e, const ExtractOptions& o) {
  return {{"x_cnn_channels", e.channel_names}, {"x_lstm_features", e.feature_names}, {"targets", e.target_names},
          {"static_files", o.statics},         {"series_files", o.series},          {"years", e.years},
          {"patch", e.patch},                  {"edge", cnnlstm::to_string(o.edge)},  {"samples", o.samples.path},
          {"crs", e.crs}};
}

// The kept rows in a seeded random order, split: (train, test).
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> split_rows(Index n, double test_fraction, std::uint64_t seed) {
  std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  cnnlstm::Rng rng(seed);
  for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
  const auto test = static_cast<std::size_t>(std::llround(test_fraction * double(n)));
  std::vector<std::int64_t> test_rows(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(test)), train_rows(rows.begin() + static_cast<std::ptrdiff_t>(test), rows.end());
  std::sort(test_rows.begin(), test_rows.end());
  std::sort(train_rows.begin(), train_rows.end());
  return {train_rows, test_rows};
}

// Files of the output folder written in full under temporary names before any is renamed into
// place: a failure while writing (a full disk) leaves the folder as it was.
class StagedFiles {
 public:
  explicit StagedFiles(const OwnedFolder& dir) : dir_(dir) {}

  template <class T>
  void npy(const std::string& name, const std::vector<T>& values, const std::vector<Index>& shape) {
    const Index count = std::accumulate(shape.begin(), shape.end(), Index{1}, std::multiplies<>());
    if (count != static_cast<Index>(values.size()))
      throw cnnlstm::ShapeError(name + ": " + std::to_string(values.size()) + " values for the shape " + cnnlstm::shape_string(shape));
    const std::string preamble = cnnlstm::format_npy_header(cnnlstm::dtype_of<T>(), shape);
    auto& file = stage(name);
    file.write(preamble.data(), preamble.size());
    file.write(values.data(), values.size() * sizeof(T));
  }

  void text(const std::string& name, const std::string& content) { stage(name).write(content.data(), content.size()); }

  // Renames every staged file into place, recording each as the command's, then removes the
  // files of an earlier run that this one does not write.
  void commit(const std::vector<std::string>& obsolete) {
    for (auto& [name, file] : files_) {
      file->commit();
      dir_.wrote(name);
    }
    for (const auto& name : obsolete) std::filesystem::remove(dir_.path(name));
  }

 private:
  cnnlstm::AtomicFile& stage(const std::string& name) {
    files_.emplace_back(name, std::make_unique<cnnlstm::AtomicFile>(dir_.path(name)));
    return *files_.back().second;
  }

  const OwnedFolder& dir_;
  std::vector<std::pair<std::string, std::unique_ptr<cnnlstm::AtomicFile>>> files_;
};

void write_extraction(const Extraction& e, const ExtractOptions& o, const OwnedFolder& dir, double test_fraction,
                      std::uint64_t seed) {
  StagedFiles files(dir);
  std::vector<std::string> obsolete;
  const Index n = e.kept;
  if (e.channels > 0) files.npy("x_cnn.npy", e.x_cnn, {n, e.channels, e.patch, e.patch});
  else obsolete.push_back("x_cnn.npy");
  if (e.features > 0) files.npy("x_lstm.npy", e.x_lstm, {n, e.years, e.features});
  else obsolete.push_back("x_lstm.npy");
  files.npy("y.npy", e.y, e.targets == 1 ? std::vector<Index>{n} : std::vector<Index>{n, e.targets});
  files.npy("coords.npy", e.coords, {n, 2});
  const auto [train, test] = split_rows(n, test_fraction, seed);
  files.npy("train_index.npy", train, {static_cast<Index>(train.size())});
  if (!test.empty()) files.npy("test_index.npy", test, {static_cast<Index>(test.size())});
  else obsolete.push_back("test_index.npy");
  files.text("sites.csv", sites_csv(e));
  files.text("bands.json", bands_json(e, o).dump(2) + "\n");
  files.commit(obsolete);
}

}  // namespace

int run_extract(const Arguments& args) {
  CommandLine cl("extract",
                 "Cuts each sampling site's covariates from the rasters, as soc map reads them (the same windows, edge\n"
                 "and nodata rules), into the arrays soc train, cv and predict read. The sites' coordinates are\n"
                 "transformed into the rasters' CRS; each site takes the pixel that holds it. Sites outside the\n"
                 "rasters, with nodata in their window or series, or without a target are left out and listed in\n"
                 "DIR/sites.csv with the reason.",
                 {{"samples", "FILE", "sample table: .csv, or a point layer GDAL reads (GeoPackage, Shapefile, GeoJSON)"},
                  flags::static_covariates,
                  flags::series,
                  {"target", "NAME", "column to learn (one output per --target)", true},
                  {"crs", "EPSG:N", "CRS of a CSV's coordinates (default EPSG:4326 for lon/lat columns)"},
                  {"x", "COL", "CSV column of the x (longitude) coordinate (default: found by name)"},
                  {"y", "COL", "CSV column of the y (latitude) coordinate (default: found by name)"},
                  {"id", "COL", "column of the sites' ids (default: id, else the row number)"},
                  {"patch", "P", "side of the static window, odd (default 5)"},
                  flags::edge,
                  {"test-fraction", "X", "share of the kept sites in test_index.npy (default 0.2; 0: all in train_index.npy)"},
                  {"seed", "N", "seed of the train/test split (default 314)"},
                  {"out", "DIR", "output folder"},
                  flags::force("extract")});
  if (!cl.parse(spread_values(args, {"--static", "--series"}))) return 0;
  ExtractOptions o;
  o.samples.path = cl.required("samples");
  o.samples.targets = cl.all("target");
  if (o.samples.targets.empty()) throw UsageError("extract: give --target COLUMN (the sample table's column to learn)");
  o.samples.crs = cl.text("crs");
  o.samples.x_column = cl.text("x");
  o.samples.y_column = cl.text("y");
  o.samples.id_column = cl.text("id");
  o.statics = cl.all("static");
  o.series = cl.all("series");
  o.patch = cl.integer("patch", 1, 255).value_or(5);
  o.edge = cnnlstm::edge_mode_from_string(cl.text("edge", "nodata"));
  const double test_fraction = cl.number("test-fraction", 0, 0.9).value_or(0.2);
  const auto seed = static_cast<std::uint64_t>(cl.integer("seed", 0, std::numeric_limits<long long>::max()).value_or(314));
  const OwnedFolder dir(cl.required("out"), "extract", output_names, cl.has("force"));
  std::vector<OutputPath> outputs;
  for (const auto& name : output_names) outputs.push_back({dir.path(name), "--out"});
  std::vector<std::string> inputs{o.samples.path};
  inputs.insert(inputs.end(), o.statics.begin(), o.statics.end());
  inputs.insert(inputs.end(), o.series.begin(), o.series.end());
  check_outputs(outputs, inputs);

  const Extraction e = extract_sites(o);
  if (e.kept == 0) throw cnnlstm::DataError("extract: no site kept (" + e.summary() + "); nothing written to " + dir.folder());
  if (test_fraction > 0 && std::llround(test_fraction * double(e.kept)) == 0)
    throw cnnlstm::DataError("extract: " + std::to_string(e.kept) + " sites kept, too few for a test share of " +
                             cnnlstm::message_number(test_fraction) + "; give --test-fraction 0");
  write_extraction(e, o, dir, test_fraction, seed);
  std::cerr << "soc extract: " << e.summary() << " -> " << dir.folder() << "\n";
  return 0;
}

}  // namespace soc
