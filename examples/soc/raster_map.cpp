// soc map's pipeline (raster_map.hpp): models and inputs checked against each other, then the
// raster's blocks in parallel: each thread reads its block through its own GDAL handles, builds
// the windows and predicts with its own model copies; the writes to the map take turns. A block
// is a whole number of the map's tiles, so every tile is written once, complete.

#include "raster_map.hpp"

#include "domain_checks.hpp"
#include "geotiff.hpp"
#include "mpi_blocks.hpp"
#include "mpi_job.hpp"
#include "output_guard.hpp"
#include "quicklook.hpp"
#include "covariate_blocks.hpp"
#include "static_covariates.hpp"
#include "training_record.hpp"

#include <cnnlstm/train/dataset.hpp>
#include <cnnlstm/soilmap/ensemble.hpp>

#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

namespace soc {
namespace {

using cnnlstm::BandBlock;
using cnnlstm::LoadedModel;
using cnnlstm::RasterWindows;

// What the models read (one architecture for all members).
struct ModelNeeds {
  Index patch = 1;            // P of the CNN (1 without one)
  Index channels = 0;         // C of the CNN (0 without one)
  Index series_features = 0;  // F of the LSTM (0 without one)
};

// The models as an ensemble (cnnlstm::load_ensemble: one architecture; one ensemble file, or the
// whole of an older multi-file run), each with output `output`.
cnnlstm::Ensemble<float> load_models(const std::vector<std::string>& paths, Index output) {
  auto ensemble = cnnlstm::load_ensemble<float>(paths);
  for (const auto& note : ensemble.notes) std::cerr << "soc map: note: " << note << "\n";
  const Index outputs = ensemble.spec.head.outputs;
  if (output >= outputs)
    throw cnnlstm::ConfigError("--output " + std::to_string(output) + ": " + paths.front() + " has " + std::to_string(outputs) +
                               " output" + (outputs == 1 ? "" : "s") + " (0.." + std::to_string(outputs - 1) + ")");
  return ensemble;
}

ModelNeeds needs_of(const cnnlstm::ModelSpec& spec, const std::string& path) {
  ModelNeeds needs;
  if (spec.lstm) needs.series_features = spec.lstm->input_size;
  if (!spec.cnn) return needs;
  needs.patch = spec.cnn->patch;
  needs.channels = spec.cnn->in_channels;
  if (needs.patch % 2 == 0)
    throw cnnlstm::ShapeError(path + ": the model reads " + std::to_string(needs.patch) + "x" + std::to_string(needs.patch) +
                              " windows; a window centred on a pixel has an odd size");
  return needs;
}

// The inputs, opened and checked against each other and against the models.
struct MapInputs {
  std::optional<StaticCovariates> statics;
  std::vector<RasterReader> series;
  GeoGrid grid;
  Index years = 0;
};

void check_grids(const MapInputs& in) {
  const RasterReader& reference = in.statics ? in.statics->files().front() : in.series.front();
  for (const RasterReader& r : in.series)
    if (const std::string diff = grid_difference(r.grid(), reference.grid()); !diff.empty())
      throw cnnlstm::DataError(r.path() + ": " + diff + " as in " + reference.path() +
                               " (every input must cover the same pixels: same size, geotransform and projection)");
}

// Both rasters name their bands, with the same names in the same order.
bool same_band_names(const RasterReader& a, const RasterReader& b) {
  if (a.bands() != b.bands()) return false;
  bool named = false;
  for (Index k = 0; k < a.bands(); ++k) {
    const std::string name = a.description(k);
    if (name != b.description(k)) return false;
    named = named || !name.empty();
  }
  return named;
}

// Refuses series files that cannot be the model's features: one file given twice, or the static
// stack given as a series (its bands are covariates, not years; it would pass every band count
// check when it has as many bands as there are years). Distinct series files in another order
// than at training cannot be told apart: the training record names no features yet.
void check_series_files(const MapInputs& in) {
  for (std::size_t i = 0; i < in.series.size(); ++i) {
    const std::string& path = in.series[i].path();
    for (std::size_t j = 0; j < i; ++j)
      if (same_file(path, in.series[j].path()))
        throw cnnlstm::DataError(path + ": given twice in --series (also as " + in.series[j].path() +
                                 "); each series feature has its own file");
    if (!in.statics) continue;
    for (const RasterReader& stack : in.statics->files()) {
      if (same_file(path, stack.path()))
        throw cnnlstm::DataError(path + ": the --static " +
                                 (in.statics->files().size() == 1 ? std::string("stack") : "file " + stack.path()) +
                                 " is given as a series file; a series file has one band per year");
      if (stack.bands() > 1 && same_band_names(in.series[i], stack))
        throw cnnlstm::DataError(path + ": its bands have the names of the --static stack's (" + stack.description(0) +
                                 ", ...): it is a static stack, not a series with one band per year");
    }
  }
}

void check_series(const MapInputs& in, const std::vector<LoadedModel<float>>& models, const ModelNeeds& needs,
                  const std::vector<std::string>& paths) {
  for (const RasterReader& r : in.series)
    if (r.bands() != in.years)
      throw cnnlstm::ShapeError(r.path() + ": " + std::to_string(r.bands()) + " bands (years), but " +
                                in.series.front().path() + " has " + std::to_string(in.years));
  const auto features = static_cast<Index>(in.series.size());
  const Index wanted = needs.series_features;
  if (cnnlstm::first_series_feature(features, wanted) < 0)
    throw cnnlstm::ShapeError(paths.front() + ": the model reads " + std::to_string(wanted) + " series features per year, " +
                              std::to_string(features) + " series files were given (give " + std::to_string(wanted) +
                              ", or 12 in the paper's order, EVI first)");
  check_trained_years(models, paths, in.years, "each series file");
}

MapInputs open_inputs(const MapOptions& o, const std::vector<LoadedModel<float>>& models, const ModelNeeds& needs) {
  MapInputs in;
  if (needs.channels > 0 && o.statics.empty())
    throw cnnlstm::ConfigError("the models read static covariates: give --static STACK.tif (or one file per channel)");
  if (needs.series_features > 0 && o.series.empty()) throw cnnlstm::ConfigError("the models read yearly series: give --series FILE ...");
  if (needs.channels == 0 && !o.statics.empty()) std::cerr << "soc map: note: no model reads --static; ignored\n";
  if (needs.series_features == 0 && !o.series.empty()) std::cerr << "soc map: note: no model reads --series; ignored\n";
  if (needs.channels > 0) {
    in.statics.emplace(o.statics);
    if (in.statics->bands() != needs.channels)
      throw cnnlstm::ShapeError(in.statics->describe() + ": " + std::to_string(in.statics->bands()) +
                                (in.statics->bands() == 1 ? " band" : " bands") + ", but the models read " +
                                std::to_string(needs.channels) + " static covariates (one band per CNN channel, in the training order)");
  }
  if (needs.series_features > 0) {
    for (const auto& path : o.series) in.series.emplace_back(path);
    in.years = in.series.front().bands();
    check_series_files(in);
    check_series(in, models, needs, o.models);
  }
  check_grids(in);
  in.grid = in.statics ? in.statics->grid() : in.series.front().grid();
  return in;
}

// One thread's own input handles (GDAL datasets are not shared between threads), model copies
// and buffers.
struct Worker {
  std::optional<StaticCovariates> statics;
  std::vector<RasterReader> series;
  std::vector<cnnlstm::AnySocModel<float>> models;
  std::optional<BandBlock<float>> static_block, series_block;
  cnnlstm::WindowBatch<float> batch;
  cnnlstm::TensorBuffer<float, 3> series_subset;  // (N, T, F) of a model that reads some of the features
  std::vector<double> members;                    // (N, models) predictions
  std::vector<float> bands;                       // one pixel's bands
  std::vector<float> out;                         // (bands, block rows, block cols)
  const cnnlstm::AreaOfApplicability* aoa = nullptr;  // with --aoa: the DI and AOA bands follow the prediction's
  std::vector<double> predictors, scratch;            // (N, D) the batch's AOA predictors; (D)
  double read_seconds = 0, predict_seconds = 0;
};

// The series a model reads: all features, or the model's consecutive run of them (N, T, wanted).
cnnlstm::TensorRef<float, 3> series_for(Worker& w, Index wanted) {
  const auto& all = w.batch.x_lstm;
  const Index n = all.dimension(0), years = all.dimension(1), have = all.dimension(2);
  if (wanted == have) return all;
  const Index first = cnnlstm::first_series_feature(have, wanted);
  w.series_subset.resize({n, years, wanted});
  for (Index i = 0; i < n; ++i)
    for (Index t = 0; t < years; ++t)
      for (Index f = 0; f < wanted; ++f) w.series_subset(i, t, f) = all(i, t, first + f);
  return w.series_subset;
}

// Model m's predictions of output `output` for the batch -> column m of w.members (N, K).
void predict_member(Worker& w, std::size_t m, Index wanted_features, Index output) {
  std::visit(
      [&](auto& model) {
        using Model = std::decay_t<decltype(model)>;
        typename Model::Inputs inputs;
        if constexpr (std::is_same_v<Model, cnnlstm::CnnModel<float>>) inputs = {w.batch.x_cnn};
        else if constexpr (std::is_same_v<Model, cnnlstm::LstmModel<float>>) inputs = {series_for(w, wanted_features)};
        else inputs = {w.batch.x_cnn, series_for(w, wanted_features)};
        const auto y = model.predict(inputs);  // (N, outputs)
        const std::size_t k = w.models.size();
        for (Index i = 0; i < y.dimension(0); ++i) w.members[static_cast<std::size_t>(i) * k + m] = y(i, output);
      },
      w.models[m]);
}

// The DI and AOA (1 inside, 0 outside) of the batch's predicted pixels -> bands `first` and
// `first + 1` of w.out (pixels without a prediction stay nodata in both).
void applicability_bands(Worker& w, Index wanted_features, Index offset, Index band_size, std::size_t first) {
  const auto& cnn = w.batch.x_cnn;
  const cnnlstm::TensorRef<float, 3> series = w.batch.x_lstm.dimension(2) > 0 ? series_for(w, wanted_features) : w.batch.x_lstm;
  const Index n = w.batch.size(), d = w.aoa->dimensions();
  cnnlstm::applicability_predictors<float>(cnn.data(), cnn.dimension(1), cnn.dimension(2), series.data(), series.dimension(1),
                                          series.dimension(2), n, w.predictors);
  w.scratch.resize(static_cast<std::size_t>(d));
  for (Index i = 0; i < n; ++i) {
    const auto at = static_cast<std::size_t>(offset + w.batch.pixels[static_cast<std::size_t>(i)]);
    const double di = w.aoa->dissimilarity(w.predictors.data() + i * d, w.scratch.data());
    if (!std::isfinite(di) || w.out[at] == static_cast<float>(map_nodata)) continue;
    w.out[first * static_cast<std::size_t>(band_size) + at] = static_cast<float>(di);
    w.out[(first + 1) * static_cast<std::size_t>(band_size) + at] = w.aoa->inside(di) ? 1.0f : 0.0f;
  }
}

// Predicts the pixels of `part` (whole rows of `block`) into w.out.
Index predict_part(const RasterWindows<float>& windows, const PixelRect& block, const PixelRect& part,
                   const ModelNeeds& needs, const MapOptions& o, Worker& w) {
  windows.build(part, w.batch);
  const Index n = w.batch.size();
  if (n == 0) return 0;
  const std::size_t k = w.models.size();
  w.members.resize(static_cast<std::size_t>(n) * k);
  for (std::size_t m = 0; m < k; ++m) predict_member(w, m, needs.series_features, o.output);
  const Index offset = (part.row - block.row) * block.cols, band_size = block.size();
  Index predicted = 0;
  for (Index i = 0; i < n; ++i) {
    const std::span<double> members(w.members.data() + static_cast<std::size_t>(i) * k, k);
    if (!std::all_of(members.begin(), members.end(), [](double v) { return std::isfinite(v); })) continue;
    map_bands(members, w.bands, o.calibration);
    const Index at = offset + w.batch.pixels[static_cast<std::size_t>(i)];
    for (std::size_t b = 0; b < w.bands.size(); ++b) w.out[static_cast<std::size_t>(static_cast<Index>(b) * band_size + at)] = w.bands[b];
    ++predicted;
  }
  if (w.aoa) applicability_bands(w, needs.series_features, offset, band_size, w.bands.size());
  return predicted;
}

// Reads a block's inputs (statics with a halo of P/2) into the worker's blocks.
void read_block(const PixelRect& block, const RasterSize& size, const ModelNeeds& needs, Index years, Worker& w) {
  if (w.statics) w.static_block = read_static_block(*w.statics, cnnlstm::grown_rect(block, needs.patch / 2, size));
  if (!w.series.empty()) w.series_block = read_series_block(w.series, years, block);
}

// One block: read, then predict chunks of rows (about 1024 pixels each) into w.out.
Index map_block(const PixelRect& block, const RasterSize& size, const ModelNeeds& needs, Index years,
                const MapOptions& o, Worker& w) {
  const auto now = [] { return std::chrono::steady_clock::now(); };
  const auto start = now();
  read_block(block, size, needs, years, w);
  const auto read = now();
  const RasterWindows<float> windows(size, o.edge, needs.patch, w.static_block ? &*w.static_block : nullptr,
                                     w.series_block ? &*w.series_block : nullptr, years);
  w.out.assign((w.bands.size() + (w.aoa ? 2 : 0)) * static_cast<std::size_t>(block.size()), static_cast<float>(map_nodata));
  const Index rows_per_part = std::max<Index>(1, 1024 / block.cols);
  Index predicted = 0;
  for (Index row = block.row; row < block.end_row(); row += rows_per_part)
    predicted += predict_part(windows, block, {row, block.col, std::min(rows_per_part, block.end_row() - row), block.cols},
                              needs, o, w);
  w.read_seconds += std::chrono::duration<double>(read - start).count();
  w.predict_seconds += std::chrono::duration<double>(now() - read).count();
  return predicted;
}

// Pixels done, for a person: a bar on a terminal, a line per 10% otherwise.
class MapProgress {
 public:
  MapProgress(bool enabled, Index total) : enabled_(enabled), terminal_(::isatty(STDERR_FILENO) == 1), total_(total) {}

  void update(Index done, double seconds) {
    if (!enabled_ || total_ == 0) return;
    const double share = double(done) / double(total_);
    const double rate = seconds > 0 ? double(done) / seconds : 0;
    const double left = rate > 0 ? double(total_ - done) / rate : 0;
    if (terminal_) {
      const int width = 30, filled = static_cast<int>(width * share);
      std::fprintf(stderr, "\r[%s%s] %3.0f%%  %.0f pixels/s  %.0f s left   ", std::string(std::size_t(filled), '#').c_str(),
                   std::string(std::size_t(width - filled), '.').c_str(), 100 * share, rate, left);
      if (done == total_) std::fprintf(stderr, "\n");
    } else if (int(10 * share) > last_tenth_) {
      last_tenth_ = int(10 * share);
      std::fprintf(stderr, "soc map: %3.0f%% of %ld pixels, %.0f pixels/s\n", 100 * share, long(total_), rate);
    }
    std::fflush(stderr);
  }

 private:
  bool enabled_, terminal_;
  Index total_;
  int last_tenth_ = 0;
};

std::vector<Worker> make_workers(int threads, const MapOptions& o, const MapInputs& in,
                                 const std::vector<LoadedModel<float>>& models, std::size_t bands) {
  std::vector<Worker> workers(static_cast<std::size_t>(threads));
  for (Worker& w : workers) {
    if (in.statics) w.statics.emplace(o.statics);
    for (const RasterReader& r : in.series) w.series.emplace_back(r.path());
    for (const auto& m : models) w.models.push_back(m.model);
    w.bands.resize(bands);
  }
  return workers;
}

// The descriptors this process has open now (Linux lists them in /proc/self/fd).
Index open_descriptors() {
  std::error_code error;
  Index count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end; it.increment(error)) ++count;
  return error || count == 0 ? 64 : count;  // unknown: assume a generous number
}

// Map threads: at most one per block, and no more than the open-file limit (ulimit -n) allows, as
// every thread opens each input raster itself (GDAL handles are not shared between threads).
int map_threads(std::size_t blocks, Index rasters_per_thread) {
  const int wanted = omp_get_max_threads();
  int threads = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(wanted), std::max<std::size_t>(1, blocks)));
  rlimit limit{};
  if (rasters_per_thread == 0 || ::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return threads;
  constexpr Index reserve = 16;  // the map, the quick-look, GDAL's own files
  const Index open = open_descriptors();
  const Index allowed = (static_cast<Index>(limit.rlim_cur) - open - reserve) / rasters_per_thread;
  if (allowed < 1)
    throw cnnlstm::IoError("cannot open the inputs for a map thread: the limit of open files (ulimit -n) is " +
                           std::to_string(limit.rlim_cur) + ", " + std::to_string(open) + " are open, and a thread opens " +
                           std::to_string(rasters_per_thread) + " rasters; raise the limit (for example ulimit -n 4096)");
  if (allowed < threads) {
    std::cerr << "soc map: note: " << allowed << " threads instead of " << threads << ": the limit of open files (ulimit -n "
              << limit.rlim_cur << ") allows no more, each opening " << rasters_per_thread << " rasters\n";
    threads = static_cast<int>(allowed);
  }
  return threads;
}

// The values of a block's bands into the check (declared nodata values skipped; non-finite ones
// the check skips itself): static band c is channel c, series band f * Y + t is feature f.
void tally_block(const BandBlock<float>& block, Index years, bool series, cnnlstm::InputRangeCheck& check) {
  const Index size = block.rect.size();
  std::vector<float> valid;
  for (Index b = 0; b < block.bands(); ++b) {
    const float* v = block.values.data() + b * size;
    const auto nodata = block.nodata[static_cast<std::size_t>(b)];
    valid.clear();
    for (Index i = 0; i < size; ++i)
      if (!nodata || static_cast<double>(v[i]) != *nodata) valid.push_back(v[i]);
    const Index n = static_cast<Index>(valid.size());
    if (series) check.add_feature(b / years, valid.data(), n);
    else check.add_channel(b, valid.data(), n);
  }
}

// The static bands' and series files' names against the ones the model was trained on.
void check_band_order(const cnnlstm::InputNames& trained, const MapInputs& in) {
  std::vector<std::string> channels, features;
  for (Index b = 0; in.statics && b < in.statics->bands(); ++b) channels.push_back(in.statics->band_name(b));
  for (const RasterReader& r : in.series) features.push_back(std::filesystem::path(r.path()).stem().string());
  if (in.statics) check_input_order(trained.channels, channels, "static channel", "map");
  check_input_order(trained.features, features, "series file", "map");
}

// Before anything is written: the inputs of up to 16 blocks spread over the raster (all of a
// small one) against the models' training ranges (cnnlstm/soilmap/input_ranges.hpp).
void check_input_ranges(const cnnlstm::TrainingDomain& domain, const std::vector<PixelRect>& blocks, const RasterSize& size,
                        const ModelNeeds& needs, const MapInputs& in, const MapOptions& o, Worker& w) {
  if (!domain.ranges) return;
  cnnlstm::InputRangeCheck check(*domain.ranges);
  if (check.channels() != needs.channels || (in.series.size() > 0 && check.features() != static_cast<Index>(in.series.size())))
    return;  // other inputs than at training (a subset of the series): the shape checks speak for them
  constexpr std::size_t samples = 16;
  const std::size_t count = std::min(samples, blocks.size());
  for (std::size_t k = 0; k < count; ++k) {
    read_block(blocks[k * blocks.size() / count], size, needs, in.years, w);
    if (w.static_block) tally_block(*w.static_block, in.years, false, check);
    if (w.series_block) tally_block(*w.series_block, in.years, true, check);
  }
  std::vector<std::string> channel_names, feature_names;
  for (Index b = 0; in.statics && b < in.statics->bands(); ++b) channel_names.push_back(in.statics->band_name(b));
  for (const RasterReader& r : in.series) feature_names.push_back(std::filesystem::path(r.path()).stem().string());
  enforce_input_ranges(check, o.allow_out_of_range, "map", channel_names, feature_names);
}

void check_options(const MapOptions& o) {
  if (o.models.empty()) throw cnnlstm::ConfigError("give at least one --model");
  if (o.out.empty()) throw cnnlstm::ConfigError("give --out MAP.tif");
  if (o.block < 16 || o.block > max_block || o.block % 16 != 0)
    throw cnnlstm::ConfigError("--block must be a multiple of 16 in [16, " + std::to_string(max_block) +
                               "] (it is also the map's tile size), got " + std::to_string(o.block));
  if (o.output < 0) throw cnnlstm::ConfigError("--output must not be negative");
  if (!o.quicklook.empty() && !o.quicklook.ends_with(".png"))
    throw cnnlstm::ConfigError("--quicklook must name a .png file, got '" + o.quicklook + "'");
  if (!job_root()) return;  // only rank 0 writes
  std::vector<OutputPath> outputs{{o.out, "--out"}};
  if (!o.quicklook.empty()) outputs.push_back({o.quicklook, "--quicklook"});
  std::vector<std::string> inputs = o.models;
  inputs.insert(inputs.end(), o.statics.begin(), o.statics.end());
  inputs.insert(inputs.end(), o.series.begin(), o.series.end());
  check_outputs(outputs, inputs);
}

// What every rank of a job must agree on: the grid, the input files (paths and sizes: a path on a
// node's own disk may hold another file), the flags that shape the map (the bands name --aoa),
// and the models' weights (a hash of them is compared, mpi_job.hpp).
std::string job_fingerprint(const MapOptions& o, const MapInputs& in, const std::vector<LoadedModel<float>>& models,
                            const std::vector<std::string>& bands) {
  std::ostringstream text;
  text.precision(17);
  text << in.grid.size.rows << 'x' << in.grid.size.cols << ' ' << in.grid.projection << ' ' << in.years << ' '
       << in.series.size() << ' ' << (in.statics ? in.statics->bands() : 0) << ' ' << o.block << ' ' << int(o.edge) << ' '
       << o.output << ' ' << o.out;
  for (const double g : in.grid.geotransform) text << ' ' << g;
  std::vector<std::string> files = o.series;
  if (in.statics) files.insert(files.end(), o.statics.begin(), o.statics.end());
  for (const auto& f : files) {
    std::error_code error;
    text << ' ' << f << ':' << std::filesystem::file_size(f, error);
  }
  for (const auto& b : bands) text << ' ' << b;
  for (const auto& m : models)
    std::visit([&](const auto& model) {
      const auto& values = model.parameters().values();
      text.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
    }, m.model);
  return text.str();
}

}  // namespace

// Blocks in parallel: each thread reads and predicts its block; writes take turns. Under mpirun
// the blocks are shared among the ranks (mpi_blocks.hpp) and rank 0 writes them all.
MapSummary make_map(const MapOptions& options) {
  check_options(options);
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  auto ensemble = load_models(options.models, options.output);
  MapOptions o = options;
  if (!o.calibration) o.calibration = ensemble.calibration(o.output);
  const auto& models = ensemble.members;
  const ModelNeeds needs = needs_of(ensemble.spec, o.models.front());
  const MapInputs in = open_inputs(o, models, needs);
  const RasterSize size = in.grid.size;

  const auto domain = cnnlstm::stored_training_domain(ensemble.metadata, o.models.front());
  if (domain.names) check_band_order(*domain.names, in);
  const std::optional<cnnlstm::AreaOfApplicability> aoa =
      o.aoa ? std::optional(required_aoa(domain, o.models.front(), "map")) : std::nullopt;

  MapSummary summary;
  summary.bands = map_band_names(models.size(), o.calibration);
  const std::size_t prediction_bands = summary.bands.size();
  if (aoa) summary.bands.insert(summary.bands.end(), {"DI", "AOA"});
  if (job_size() > 1) require_same_on_all_ranks(job_fingerprint(o, in, models, summary.bands), "inputs, flags or models");
  summary.pixels = size.rows * size.cols;
  summary.ranks = job_size();
  const auto blocks = cnnlstm::raster_blocks(size, o.block);
  summary.threads = map_threads(blocks.size(), (in.statics ? static_cast<Index>(in.statics->files().size()) : 0) + static_cast<Index>(in.series.size()));
  auto workers = make_workers(summary.threads, o, in, models, prediction_bands);
  for (Worker& w : workers) w.aoa = aoa ? &*aoa : nullptr;
  if (job_root()) check_input_ranges(domain, blocks, size, needs, in, o, workers.front());  // the same on every rank
  std::optional<GeoTiffWriter> writer;
  if (job_root()) writer.emplace(o.out, in.grid, summary.bands, map_nodata, GeoTiffLayout{o.block, true});
  MapProgress progress(o.progress && job_root(), summary.pixels);
  Index done = 0;
  BlockWork work;
  work.blocks = blocks.size();
  work.threads = summary.threads;
  work.map = [&](std::size_t k, int t) { return map_block(blocks[k], size, needs, in.years, o, workers[static_cast<std::size_t>(t)]); };
  work.output = [&](int t) { return std::span<const float>(workers[static_cast<std::size_t>(t)].out); };
  work.write = [&](std::size_t k, std::span<const float> values, Index predicted) {
    const double t = seconds();
    writer->write(blocks[k], values.data());
    summary.write_seconds += seconds() - t;
    summary.predicted += predicted;
    done += blocks[k].size();
    progress.update(done, seconds());
  };
  work.seconds = [&] {
    std::pair<double, double> s{0, 0};
    for (const Worker& w : workers) s = {s.first + w.read_seconds, s.second + w.predict_seconds};
    return s;
  };
  if (job_size() > 1) {
    const OtherRanks others = map_blocks_on_ranks(work);
    summary.read_seconds = others.read_seconds;
    summary.predict_seconds = others.predict_seconds;
    summary.threads += others.threads;
    if (!job_root()) return summary;
  } else {
    std::exception_ptr error;
    std::atomic<bool> failed{false};
#pragma omp parallel for schedule(dynamic) num_threads(summary.threads)
    for (std::size_t k = 0; k < blocks.size(); ++k) {
      if (failed) continue;
      try {
        const int t = omp_get_thread_num();
        const Index predicted = work.map(k, t);
#pragma omp critical(soc_map_write)
        work.write(k, work.output(t), predicted);
      } catch (...) {
#pragma omp critical(soc_map_error)
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
    if (error) std::rethrow_exception(error);
  }
  const double t = seconds();
  writer->commit();
  summary.write_seconds += seconds() - t;
  const auto [read, predict] = work.seconds();
  summary.read_seconds += read;
  summary.predict_seconds += predict;
  if (!o.quicklook.empty()) write_quicklook(o.out, o.quicklook, o.legend, map_nodata);
  summary.seconds = seconds();
  return summary;
}

}  // namespace soc
