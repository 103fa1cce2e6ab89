#pragma once
// The default training recipe for small soil data sets: choose the number of epochs by internal
// k-fold cross-validation over the training rows, refit an ensemble of networks on all of them for
// that many epochs, and calibrate a 90% prediction interval on the cross-validation's out-of-fold
// predictions (cross-conformal, in the spirit of CV+: no site is held back from training).
//
//   1. The training rows are split into `folds` random folds. For each fold a network (its own
//      seed) trains on the other folds with Trainer, evaluated on the fold every eval_interval
//      epochs; its predictions on the fold are kept at every evaluation. A fold stops after
//      `patience` evaluations without improvement, or at trainer.epochs.
//   2. The out-of-fold predictions of every site at each evaluated epoch give one pooled curve,
//      score(e) = mean over outputs of RMSE(e) / sd(target): the recipe's epochs E* is its minimum
//      over the epochs that every fold reached. Pooling all training sites makes this choice far
//      less noisy than a validation tenth, and costs no site.
//   3. `members` networks (other seeds) train on all training rows for E* epochs; the ensemble
//      predicts their mean.
//   4. Per output, the out-of-fold absolute residuals at E* calibrate the interval:
//      mean -+ q, q the ceil((n + 1)(1 - alpha))-th smallest residual (uncertainty.hpp).
// Networks train side by side, one network per thread (as many threads as OpenMP may use, each
// network single-threaded inside): no barrier per step, so a busy core slows one network, not all. Every
// network depends only on its own seed and rows: the result is bit-identical for any thread count.
// The folds' and the members' trainings are each one list of independent tasks, run by the recipe's
// `run_tasks` (a TaskRunner): by default here, side by side; a program may run them elsewhere (soc
// runs a share of them on each rank of an MPI job, examples/soc/mpi_tasks.hpp). A task's result
// travels as bytes (the fold's predictions, the member's weights), exactly: the result is the same.
//
//   auto result = train_recipe(blank_model, {inputs, targets}, train_rows, RecipeOptions{});
//   // result.members, result.epochs, result.calibration, result.out_of_fold

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <omp.h>

#include "folds.hpp"
#include "trainer.hpp"
#include "uncertainty.hpp"

namespace cnnlstm {

struct RecipeOptions {
  TrainerOptions trainer{};  // each network's training; trainer.epochs caps the epochs the CV tries
  Index folds = 5;           // internal cross-validation folds over the training rows (>= 2)
  Index members = 10;        // networks refit on all training rows and averaged
  double alpha = 0.1;        // the interval's miscoverage: 0.1 gives the 90% interval
  std::optional<double> lower_limit = 0.0;  // no interval bound below this (SOC >= 0); none: unbounded
  InitOptions init{};        // initialisation of every network (the paper's by default)
};

inline void validate(const RecipeOptions& o) {
  validate(o.trainer);
  if (o.trainer.epochs < 1) throw ConfigError("the recipe needs at least 1 epoch to try, got " + std::to_string(o.trainer.epochs));
  if (o.folds < 2) throw ConfigError("the recipe needs at least 2 cross-validation folds, got " + std::to_string(o.folds));
  if (o.members < 1) throw ConfigError("the recipe needs at least 1 member, got " + std::to_string(o.members));
  if (!(o.alpha > 0 && o.alpha < 1)) throw ConfigError("the interval's alpha must be in (0, 1), got " + std::to_string(o.alpha));
}

// One point of the cross-validation curve.
struct CvPoint {
  Index epoch = 0;
  double score = 0;  // mean over outputs of out-of-fold RMSE / target sd
};

template <class Model>
struct RecipeResult {
  std::vector<Model> members;
  Index epochs = 0;                                // E*, chosen by the cross-validation
  std::vector<CvPoint> cv_curve;                   // the pooled out-of-fold curve
  Matrix<double> out_of_fold;                      // (training rows, outputs) at E*, in target units
  std::vector<ConformalCalibration> calibration;   // one per output
  std::vector<std::int64_t> fold_of_site;          // (training rows) the internal fold holding each out
};

// Reported after each network finishes (from the thread that trained it, one report at a time).
struct RecipeProgress {
  std::string stage;  // "fold" or "member"
  Index done = 0, total = 0;
};

// Runs task(0..count-1) on as many threads as OpenMP may use (omp_get_max_threads(), which
// OMP_NUM_THREADS and --threads set), each thread taking the next task when it is done with one
// and running it single-threaded inside. Plain threads, not an OpenMP team: a thread out of work
// exits instead of spinning at a barrier, which on a busy machine took the CPU from the threads
// still training (the run was slower than with one thread). The first exception (in task order)
// is rethrown after all tasks ended.
template <class Task>
void run_side_by_side(Index count, Task&& task) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(count));
  std::atomic<Index> next{0};
  const auto work = [&] {
    for (Index t = next++; t < count; t = next++) {
      try {
        task(t);
      } catch (...) {
        errors[static_cast<std::size_t>(t)] = std::current_exception();
      }
    }
  };
  const int threads = static_cast<int>(std::min<Index>(omp_get_max_threads(), count));
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> helpers;
    try {
      for (int i = 1; i < threads; ++i)
        helpers.emplace_back([&] {
          omp_set_num_threads(1);  // this thread's own setting: its network runs on it alone
          work();
        });
    } catch (const std::system_error&) {
      // No more threads to be had: the tasks still all run, on the threads there are.
    }
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    work();
    omp_set_num_threads(saved);
    for (auto& h : helpers) h.join();
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Runs `count` independent tasks and returns each one's result, as bytes, in task order, on the
// caller's side. task(t) may be called on any thread (or, by a program's runner, in another process
// with the same inputs); the first exception (in task order) propagates.
using TaskRunner = std::function<std::vector<std::string>(Index count, const std::function<std::string(Index)>& task)>;

// The default TaskRunner: every task here, side by side.
inline std::vector<std::string> run_tasks_here(Index count, const std::function<std::string(Index)>& task) {
  std::vector<std::string> results(static_cast<std::size_t>(count));
  run_side_by_side(count, [&](Index t) { results[static_cast<std::size_t>(t)] = task(t); });
  return results;
}

namespace detail {

// Plain values and arrays of them to and from bytes, for the results of a recipe's tasks.
class ByteWriter {
 public:
  template <class V>
  void put(const V* values, std::size_t count) {
    put_size(count);
    bytes_.append(reinterpret_cast<const char*>(values), count * sizeof(V));
  }
  void put_size(std::size_t n) { bytes_.append(reinterpret_cast<const char*>(&n), sizeof n); }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  explicit ByteReader(const std::string& bytes) : bytes_(bytes) {}
  std::size_t size() { return read_raw<std::size_t>(1).front(); }
  template <class V>
  std::vector<V> get() { return read_raw<V>(size()); }
  template <class V>
  void get_into(V* out, std::size_t expected) {
    const std::vector<V> values = get<V>();
    if (values.size() != expected)
      throw FormatError("a recipe task's result holds " + std::to_string(values.size()) + " values, expected " +
                        std::to_string(expected));
    std::memcpy(out, values.data(), expected * sizeof(V));
  }

 private:
  template <class V>
  std::vector<V> read_raw(std::size_t count) {
    if (count > (bytes_.size() - at_) / sizeof(V))
      throw FormatError("a recipe task's result ends early (" + std::to_string(bytes_.size()) + " bytes)");
    std::vector<V> values(count);
    std::memcpy(values.data(), bytes_.data() + at_, count * sizeof(V));
    at_ += count * sizeof(V);
    return values;
  }
  const std::string& bytes_;
  std::size_t at_ = 0;
};

// Seeds of the networks: fold f gets network_seed(seed, 0, f), member m network_seed(seed, 1, m);
// member 0 has the run's seed itself, so a one-member recipe initialises like a plain Trainer run.
inline std::uint64_t network_seed(std::uint64_t seed, int stage, Index k) {
  if (stage == 1 && k == 0) return seed;
  Rng rng(seed ^ (stage == 0 ? 0xF01D5EEDull : 0x3E3BE45EEDull));
  std::uint64_t s = 0;
  for (Index i = 0; i <= k; ++i) s = rng.next();
  return s;
}

}  // namespace detail

template <class Model>
class Recipe {
 public:
  using T = typename Model::Scalar;
  using Data = typename Trainer<Model>::Data;

  explicit Recipe(RecipeOptions options) : options_(std::move(options)) { validate(options_); }
  std::function<void(const RecipeProgress&)> on_progress;  // after each network this process trained
  TaskRunner run_tasks = run_tasks_here;                    // runs the folds, then the members

  RecipeResult<Model> fit(const Model& blank, const Data& data, std::span<const std::int64_t> train_rows) {
    if (static_cast<Index>(train_rows.size()) < 2 * options_.folds)
      throw DataError("the recipe's " + std::to_string(options_.folds) + "-fold cross-validation needs at least " +
                      std::to_string(2 * options_.folds) + " training rows, got " + std::to_string(train_rows.size()));
    Scalings scaling{options_.trainer.standardize_targets ? standardization(data.targets, train_rows) : TargetScaling{},
                     options_.trainer.standardize_inputs ? blank.fit_input_scaling(data.inputs, train_rows, options_.trainer.input_scaling)
                                                         : typename Model::InputScaling{}};
    RecipeResult<Model> result;
    const std::vector<FoldRun> folds = run_folds(blank, scaling, data, train_rows);
    result.cv_curve = pooled_curve(folds, data.targets, train_rows, scaling.targets);
    const auto best = std::min_element(result.cv_curve.begin(), result.cv_curve.end(),
                                       [](const CvPoint& a, const CvPoint& b) { return a.score < b.score; });
    result.epochs = best->epoch;
    result.out_of_fold = out_of_fold_at(folds, static_cast<std::size_t>(best - result.cv_curve.begin()),
                                        train_rows.size(), blank.outputs());
    result.fold_of_site.resize(train_rows.size());
    for (std::size_t f = 0; f < folds.size(); ++f)
      for (const std::size_t p : folds[f].positions) result.fold_of_site[p] = static_cast<std::int64_t>(f);
    result.members = run_members(blank, scaling, data, train_rows, result.epochs);
    result.calibration = calibrate(result.out_of_fold, data.targets, train_rows);
    return result;
  }

 private:
  // One fold's network: the positions (in train_rows) of its held-out sites and its predictions
  // there after each evaluation ((fold sites, outputs) per evaluation).
  struct FoldRun {
    std::vector<std::size_t> positions;
    std::vector<Index> epochs;
    std::vector<Matrix<double>> predictions;
  };

  // The scalings every network of the recipe shares: fitted once, on all training rows.
  struct Scalings {
    TargetScaling targets;
    typename Model::InputScaling inputs;
  };

  Model fresh(const Model& blank, const Scalings& scaling, std::uint64_t seed) const {
    Model m = blank;
    m.initialize(seed, options_.init);
    m.set_target_scaling(scaling.targets);
    m.set_input_scaling(scaling.inputs);
    return m;
  }

  std::vector<FoldRun> run_folds(const Model& blank, const Scalings& scaling, const Data& data,
                                 std::span<const std::int64_t> train_rows) {
    const auto n = static_cast<Index>(train_rows.size());
    const std::vector<Fold> folds = random_folds(options_.folds, n, options_.trainer.seed);
    Index done = 0;
    const std::vector<std::string> results = run_tasks(options_.folds, [&](Index f) {
      const Fold& fold = folds[static_cast<std::size_t>(f)];
      std::vector<std::int64_t> fit, held_out;
      for (auto p : fold.train) fit.push_back(train_rows[static_cast<std::size_t>(p)]);
      FoldRun run;
      for (auto p : fold.test) {
        run.positions.push_back(static_cast<std::size_t>(p));
        held_out.push_back(train_rows[static_cast<std::size_t>(p)]);
      }
      const std::uint64_t seed = detail::network_seed(options_.trainer.seed, 0, f);
      Model model = fresh(blank, scaling, seed);
      TrainerOptions o = options_.trainer;
      o.seed = seed;
      Trainer<Model> trainer(model, o);
      trainer.on_evaluation = [&](const EvaluationRecord& r) {
        run.epochs.push_back(r.epoch);
        run.predictions.push_back(predict_rows(model, data.inputs, held_out));
      };
      trainer.fit(data, fit, held_out);
      report("fold", done, options_.folds);
      return bytes_of(run);
    });
    std::vector<FoldRun> runs;
    for (const std::string& bytes : results) runs.push_back(fold_run_of(bytes, blank.outputs()));
    return runs;
  }

  // A fold's run as bytes, and back (its predictions: (fold sites, outputs) per evaluation).
  static std::string bytes_of(const FoldRun& run) {
    detail::ByteWriter out;
    out.put(run.positions.data(), run.positions.size());
    out.put(run.epochs.data(), run.epochs.size());
    for (const auto& p : run.predictions) out.put(p.data(), static_cast<std::size_t>(p.size()));
    return out.take();
  }

  static FoldRun fold_run_of(const std::string& bytes, Index outputs) {
    detail::ByteReader in(bytes);
    FoldRun run;
    run.positions = in.get<std::size_t>();
    run.epochs = in.get<Index>();
    for (std::size_t e = 0; e < run.epochs.size(); ++e) {
      run.predictions.emplace_back(static_cast<Index>(run.positions.size()), outputs);
      in.get_into(run.predictions.back().data(), static_cast<std::size_t>(run.predictions.back().size()));
    }
    return run;
  }

  std::vector<Model> run_members(const Model& blank, const Scalings& scaling, const Data& data,
                                 std::span<const std::int64_t> train_rows, Index epochs) {
    Index done = 0;
    const auto seed_of = [&](Index m) { return detail::network_seed(options_.trainer.seed, 1, m); };
    const std::vector<std::string> results = run_tasks(options_.members, [&](Index m) {
      Model model = fresh(blank, scaling, seed_of(m));
      TrainerOptions o = options_.trainer;
      o.seed = seed_of(m);
      o.epochs = epochs;
      o.patience = 0;
      o.eval_interval = std::max<Index>(epochs, 1);  // one evaluation, at the end
      Trainer<Model>(model, o).fit(data, train_rows, {});
      report("member", done, options_.members);
      const auto& weights = model.parameters().values();
      detail::ByteWriter out;
      out.put(weights.data(), weights.size());
      return out.take();
    });
    std::vector<Model> members;
    for (Index m = 0; m < options_.members; ++m) {  // each member's weights into a network like the one trained
      members.push_back(fresh(blank, scaling, seed_of(m)));
      auto& weights = members.back().parameters().values();
      detail::ByteReader(results[static_cast<std::size_t>(m)]).get_into(weights.data(), weights.size());
    }
    return members;
  }

  void report(const char* stage, Index& done, Index total) {
    const std::lock_guard<std::mutex> lock(progress_mutex_);
    ++done;
    if (on_progress) on_progress({stage, done, total});
  }

  // The pooled out-of-fold score at each evaluation that every fold reached.
  std::vector<CvPoint> pooled_curve(const std::vector<FoldRun>& folds, TensorRef<T, 2> targets,
                                    std::span<const std::int64_t> train_rows, const TargetScaling& scaling) const {
    std::size_t evaluations = folds.front().epochs.size();
    for (const auto& f : folds) evaluations = std::min(evaluations, f.epochs.size());
    const Index outputs = targets.dimension(1);
    const std::vector<double> sd = target_sd(targets, train_rows, scaling);
    std::vector<CvPoint> curve;
    for (std::size_t j = 0; j < evaluations; ++j) {
      std::vector<double> sse(static_cast<std::size_t>(outputs), 0.0);
      for (const auto& f : folds)
        for (std::size_t i = 0; i < f.positions.size(); ++i)
          for (Index k = 0; k < outputs; ++k) {
            const double e = f.predictions[j](static_cast<Index>(i), k) - targets(train_rows[f.positions[i]], k);
            sse[static_cast<std::size_t>(k)] += e * e;
          }
      double score = 0;
      for (Index k = 0; k < outputs; ++k)
        score += std::sqrt(sse[static_cast<std::size_t>(k)] / static_cast<double>(train_rows.size())) /
                 sd[static_cast<std::size_t>(k)];
      curve.push_back({folds.front().epochs[j], score / static_cast<double>(outputs)});
    }
    return curve;
  }

  static std::vector<double> target_sd(TensorRef<T, 2> targets, std::span<const std::int64_t> rows,
                                       const TargetScaling& scaling) {
    if (!scaling.scale.empty()) return scaling.scale;
    return standardization(targets, rows).scale;
  }

  static Matrix<double> out_of_fold_at(const std::vector<FoldRun>& folds, std::size_t evaluation, std::size_t rows,
                                       Index outputs) {
    Matrix<double> oof(static_cast<Index>(rows), outputs);
    for (const auto& f : folds)
      for (std::size_t i = 0; i < f.positions.size(); ++i)
        oof.row(static_cast<Index>(f.positions[i])) = f.predictions[evaluation].row(static_cast<Index>(i));
    return oof;
  }

  std::vector<ConformalCalibration> calibrate(const Matrix<double>& oof, TensorRef<T, 2> targets,
                                              std::span<const std::int64_t> train_rows) const {
    std::vector<ConformalCalibration> out;
    for (Index k = 0; k < oof.cols(); ++k) {
      std::vector<double> predicted, observed;
      for (std::size_t i = 0; i < train_rows.size(); ++i) {
        predicted.push_back(oof(static_cast<Index>(i), k));
        observed.push_back(static_cast<double>(targets(train_rows[i], k)));
      }
      out.push_back(calibrate_residuals(predicted, observed, options_.alpha, options_.lower_limit));
    }
    return out;
  }

  RecipeOptions options_;
  std::mutex progress_mutex_;
};

template <class Model>
RecipeResult<Model> train_recipe(const Model& blank, const typename Trainer<Model>::Data& data,
                                 std::span<const std::int64_t> train_rows, const RecipeOptions& options = {}) {
  return Recipe<Model>(options).fit(blank, data, train_rows);
}

}  // namespace cnnlstm
