#pragma once
// Training a SocModel: seeded shuffling, mini-batches (the last partial batch kept, like
// PyTorch's DataLoader), MSE loss on standardised targets, Adam, an evaluation every few epochs,
// model selection and early stopping on a validation set (never on the test set), and a state
// that a checkpoint can save so an interrupted run resumes bit-identically.
//
//   Trainer trainer(model, options);
//   auto summary = trainer.fit({inputs, targets}, train_rows, validation_rows);

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "batching.hpp"
#include "../layers/loss.hpp"
#include "../optim/adam.hpp"
#include "prediction.hpp"

namespace cnnlstm {

// The defaults are the recipe of docs/training.md (what soc train uses).
struct TrainerOptions {
  Index epochs = 300;               // the most epochs a network trains
  Index batch_size = 32;
  AdamOptions adam{.lr = 3e-3};
  Index eval_interval = 5;          // evaluate (and maybe select) every this many epochs
  std::uint64_t seed = 314;         // shuffling and dropout
  bool shuffle = true;              // false: visit the training rows in the given order
  Index patience = 20;              // with validation rows: stop after this many evaluations
                                    // without improvement; 0: never
  bool standardize_targets = true;  // a model without a target scaling learns (y - mean) / sd of
                                    // the training targets; a model with one keeps it
  bool standardize_inputs = true;   // likewise for the inputs, feature by feature (model/input_scaling.hpp),
  FeatureScalingKind input_scaling = FeatureScalingKind::standard;  // fitted this way
};

inline void validate(const TrainerOptions& o) {
  if (o.epochs < 0) throw ConfigError("epochs must be 0 or more, got " + std::to_string(o.epochs));
  if (o.batch_size < 1) throw ConfigError("batch_size must be at least 1, got " + std::to_string(o.batch_size));
  if (o.eval_interval < 1)
    throw ConfigError("eval_interval must be at least 1, got " + std::to_string(o.eval_interval));
  if (o.patience < 0) throw ConfigError("patience must be 0 or more, got " + std::to_string(o.patience));
  validate(o.adam);
}

// One evaluation: metrics per output, on the training rows and (if any) the validation rows.
struct EvaluationRecord {
  Index epoch = 0;          // epochs completed
  double train_loss = 0;    // mean batch loss of the last epoch, in standardised units
  std::vector<Metrics> train;
  std::vector<Metrics> validation;  // empty without a validation set
  double seconds = 0;       // since training started
};

// Everything besides the model's own parameters that a resumed run needs.
template <class T>
struct TrainerState {
  using Buffer = typename Parameters<T>::Buffer;
  Index epochs_done = 0;
  std::int64_t adam_steps = 0;
  Buffer adam_m, adam_v;
  Rng::State shuffle_rng{}, dropout_rng{};
  Buffer best_values;  // parameters of the selected model (empty until one is selected)
  Index best_epoch = -1;
  double best_score = std::numeric_limits<double>::infinity();
  Index evaluations_since_best = 0;
  double seconds = 0;
  std::vector<EvaluationRecord> history;
};

struct TrainingSummary {
  Index epochs_done = 0;
  Index best_epoch = -1;  // -1: no validation set, the last epoch's model is kept
  bool stopped_early = false;
};

struct EpochProgress {
  Index epoch = 0, epochs = 0;
  double loss = 0;
  double seconds = 0;
  const EvaluationRecord* evaluation = nullptr;  // set on epochs that evaluated
};

// Data-parallel training (optional: Trainer::share_gradients). Every batch is cut into `parts`
// runs of consecutive rows; this process computes the gradients of the parts `computes` names,
// `exchange` fills in the other parts' (computed by other processes: soc's MPI ranks,
// examples/soc/mpi_gradients.hpp), and the batch's gradient is their sum in part order. Part p
// draws its dropout from its own generator, seeded by the batch and p. So the weights depend on
// `parts` only, never on which process computed which part: any number of processes (or one that
// computes every part) trains the same model, bit for bit. It is not the model of a trainer
// without sharing (other dropout draws, another order of the sums).
template <class T>
struct GradientSharing {
  using Buffer = typename Parameters<T>::Buffer;
  Index parts = 1;
  std::function<bool(Index part)> computes;
  // grads[p], losses[p]: part p's share of the batch's gradient and loss, filled for the parts this
  // process computed (empty when a part has no rows). On return every part with rows is filled.
  std::function<void(std::vector<Buffer>& grads, std::vector<double>& losses)> exchange;
};

// Mean and standard deviation (population) of each target column over the rows: the scaling a
// model without one learns its targets in.
template <class T>
TargetScaling standardization(TensorRef<T, 2> targets, std::span<const std::int64_t> rows) {
  TargetScaling s;
  for (Index k = 0; k < targets.dimension(1); ++k) {
    double sum = 0, sum_sq = 0;
    for (std::int64_t r : rows) {
      const double y = static_cast<double>(targets(r, k));
      sum += y;
      sum_sq += y * y;
    }
    const double n = static_cast<double>(rows.size());
    const double mean = sum / n;
    const double sd = std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
    s.mean.push_back(mean);
    s.scale.push_back(sd > 1e-12 * std::max(1.0, std::abs(mean)) ? sd : 1.0);
  }
  return s;
}

template <class Model>
class Trainer {
 public:
  using T = typename Model::Scalar;
  using Inputs = typename Model::Inputs;
  struct Data {
    Inputs inputs;             // one (N, ...) tensor per branch
    TensorRef<T, 2> targets;   // (N, outputs) in target units
  };

  Trainer(Model& model, TrainerOptions options)
      : model_(model), options_(options), adam_(model.parameters().size(), options.adam) {
    validate(options_);
    state_.shuffle_rng = Rng(options_.seed).state();
    state_.dropout_rng = Rng(options_.seed ^ 0xD1B54A32D192ED03ull).state();
  }

  const TrainerOptions& options() const { return options_; }
  // Called after every epoch (progress bars) and after every evaluation (checkpoints).
  std::function<void(const EpochProgress&)> on_epoch;
  std::function<void(const EvaluationRecord&)> on_evaluation;
  // Set for data-parallel training (GradientSharing); unset, each batch is one gradient here.
  std::optional<GradientSharing<T>> share_gradients;

  TrainerState<T> state() const {
    TrainerState<T> s = state_;
    s.adam_steps = adam_.steps_taken();
    s.adam_m = adam_.first_moment();
    s.adam_v = adam_.second_moment();
    return s;
  }
  void restore(const TrainerState<T>& s) {
    adam_.restore(s.adam_steps, s.adam_m, s.adam_v);
    state_ = s;
  }

  // Trains until options.epochs are done (continuing from a restored state) or early stopping.
  // With validation rows the selected (best) model is left in the model, else the last one.
  TrainingSummary fit(const Data& data, std::span<const std::int64_t> train_rows,
                      std::span<const std::int64_t> validation_rows) {
    check_data(data, train_rows, validation_rows);
    if (state_.epochs_done == 0 && options_.standardize_targets && model_.target_scaling().mean.empty())
      model_.set_target_scaling(standardization(data.targets, train_rows));
    if (state_.epochs_done == 0 && options_.standardize_inputs && !model_.scales_inputs())
      model_.set_input_scaling(model_.fit_input_scaling(data.inputs, train_rows, options_.input_scaling));
    TrainingSummary summary;
    summary.stopped_early = options_.patience > 0 && state_.evaluations_since_best >= options_.patience;  // resumed
    const auto started = std::chrono::steady_clock::now() - seconds_to_duration(state_.seconds);
    while (state_.epochs_done < options_.epochs && !summary.stopped_early) {
      const double loss = run_epoch(data, train_rows);
      ++state_.epochs_done;
      state_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const EvaluationRecord* record = nullptr;
      if (state_.epochs_done % options_.eval_interval == 0 || state_.epochs_done == options_.epochs) {
        record = &evaluate_and_select(data, train_rows, validation_rows, loss);
        summary.stopped_early = options_.patience > 0 && state_.evaluations_since_best >= options_.patience;
      }
      if (on_epoch) on_epoch({state_.epochs_done, options_.epochs, loss, state_.seconds, record});
      if (record && on_evaluation) on_evaluation(*record);
    }
    if (!state_.best_values.empty()) model_.parameters().values() = state_.best_values;
    summary.epochs_done = state_.epochs_done;
    summary.best_epoch = state_.best_epoch;
    return summary;
  }

  const std::vector<EvaluationRecord>& history() const { return state_.history; }

 private:
  static auto seconds_to_duration(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
  }

  void check_data(const Data& data, std::span<const std::int64_t> train_rows,
                  std::span<const std::int64_t> validation_rows) const {
    if (train_rows.empty()) throw DataError("training: the training set is empty");
    if (data.targets.dimension(1) != model_.outputs())
      throw ShapeError("training: the model has " + std::to_string(model_.outputs()) +
                       " outputs but the targets have " + std::to_string(data.targets.dimension(1)) +
                       " columns");
    const Index n = data.targets.dimension(0);
    for (auto rows : {train_rows, validation_rows})
      for (std::int64_t r : rows)
        if (r < 0 || r >= n)
          throw DataError("training: row index " + std::to_string(r) + " is outside 0.." + std::to_string(n - 1));
  }

  // One pass over the training rows; returns the mean batch loss.
  double run_epoch(const Data& data, std::span<const std::int64_t> train_rows) {
    order_.assign(train_rows.begin(), train_rows.end());
    Rng shuffle_rng;
    shuffle_rng.set_state(state_.shuffle_rng);
    if (options_.shuffle) shuffle_rng.shuffle(order_.begin(), order_.end());
    state_.shuffle_rng = shuffle_rng.state();
    Rng dropout_rng;
    dropout_rng.set_state(state_.dropout_rng);
    double loss_sum = 0;
    Index batches = 0;
    const auto b = static_cast<std::size_t>(options_.batch_size);
    for (std::size_t start = 0; start < order_.size(); start += b, ++batches) {
      const std::span<const std::int64_t> rows(order_.data() + start, std::min(b, order_.size() - start));
      loss_sum += share_gradients ? shared_step(data, rows, dropout_rng) : train_step(data, rows, dropout_rng);
    }
    state_.dropout_rng = dropout_rng.state();
    return loss_sum / static_cast<double>(batches);
  }

  double train_step(const Data& data, std::span<const std::int64_t> rows, Rng& dropout_rng) {
    const double loss = gradient_of(data, rows, dropout_rng);
    adam_.step(model_.parameters());
    return loss;
  }

  // One batch as parts (GradientSharing): this process's parts, the others' by exchange, their
  // sum in part order, one Adam step.
  double shared_step(const Data& data, std::span<const std::int64_t> rows, Rng& dropout_rng) {
    const GradientSharing<T>& sharing = *share_gradients;
    const std::uint64_t batch_seed = dropout_rng.next();
    const auto n = static_cast<Index>(rows.size()), parts = sharing.parts;
    part_grads_.assign(static_cast<std::size_t>(parts), {});
    part_losses_.assign(static_cast<std::size_t>(parts), 0.0);
    for (Index p = 0; p < parts; ++p) {
      const Index begin = n * p / parts, end = n * (p + 1) / parts;
      if (end == begin || !sharing.computes(p)) continue;
      Rng part_rng(batch_seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(p + 1)));
      const double share = static_cast<double>(end - begin) / static_cast<double>(n);
      part_losses_[static_cast<std::size_t>(p)] = share * gradient_of(data, rows.subspan(begin, end - begin), part_rng);
      auto& g = part_grads_[static_cast<std::size_t>(p)] = model_.parameters().grads();
      for (T& v : g) v *= static_cast<T>(share);
    }
    sharing.exchange(part_grads_, part_losses_);
    auto& grads = model_.parameters().grads();
    std::fill(grads.begin(), grads.end(), T(0));
    double loss = 0;
    for (Index p = 0; p < parts; ++p) {
      const auto& g = part_grads_[static_cast<std::size_t>(p)];
      if (g.empty()) continue;
      if (g.size() != grads.size())
        throw ShapeError("data-parallel training: part " + std::to_string(p) + " has " + std::to_string(g.size()) +
                         " gradients, the model " + std::to_string(grads.size()));
      for (std::size_t i = 0; i < g.size(); ++i) grads[i] += g[i];
      loss += part_losses_[static_cast<std::size_t>(p)];
    }
    if (!std::isfinite(loss)) diverged(loss);
    adam_.step(model_.parameters());
    return loss;
  }

  // The gradient of the mean loss over `rows` into the model's gradients; returns the loss.
  double gradient_of(const Data& data, std::span<const std::int64_t> rows, Rng& dropout_rng) {
    batch_.gather(data.inputs, rows);
    gather_rows(data.targets, rows, targets_);
    standardize(targets_);
    model_.zero_grad();
    const auto prediction = model_.forward(batch_.views(), Context::training(dropout_rng));
    const double loss = static_cast<double>(loss_.forward(prediction, targets_));
    if (!std::isfinite(loss)) diverged(loss);
    model_.backward_parameters(loss_.backward());
    return loss;
  }

  void standardize(TensorBuffer<T, 2>& y) const {
    const TargetScaling& s = model_.target_scaling();
    if (s.mean.empty()) return;
    for (Index i = 0; i < y.dimension(0); ++i)
      for (Index k = 0; k < y.dimension(1); ++k) {
        const auto j = static_cast<std::size_t>(k);
        y(i, k) = static_cast<T>((static_cast<double>(y(i, k)) - s.mean[j]) / s.scale[j]);
      }
  }

  [[noreturn]] void diverged(double loss) {
    std::string kept = "no model was selected yet";
    if (!state_.best_values.empty()) {
      model_.parameters().values() = state_.best_values;
      kept = "the best model so far (epoch " + std::to_string(state_.best_epoch) + ") was kept";
    }
    throw NumericalError("training diverged in epoch " + std::to_string(state_.epochs_done + 1) +
                         " (loss " + std::to_string(loss) +
                         "): lower the learning rate, standardise the targets, or check the inputs "
                         "for extreme values; " + kept);
  }

  const EvaluationRecord& evaluate_and_select(const Data& data, std::span<const std::int64_t> train_rows,
                                              std::span<const std::int64_t> validation_rows, double loss) {
    EvaluationRecord record;
    record.epoch = state_.epochs_done;
    record.train_loss = loss;
    record.seconds = state_.seconds;
    record.train = metrics_per_output(predict_rows(model_, data.inputs, train_rows), data.targets, train_rows);
    if (!validation_rows.empty()) {
      record.validation = metrics_per_output(predict_rows(model_, data.inputs, validation_rows),
                                             data.targets, validation_rows);
      select(record.validation);
    }
    state_.history.push_back(std::move(record));
    return state_.history.back();
  }

  // Keeps the parameters when the validation score (mean over outputs of RMSE / target sd)
  // improves on the best so far.
  void select(const std::vector<Metrics>& validation) {
    const TargetScaling& s = model_.target_scaling();
    double score = 0;
    for (std::size_t k = 0; k < validation.size(); ++k)
      score += validation[k].rmse / (s.scale.empty() ? 1.0 : s.scale[k]);
    score /= static_cast<double>(validation.size());
    if (score < state_.best_score) {
      state_.best_score = score;
      state_.best_epoch = state_.epochs_done;
      state_.best_values = model_.parameters().values();
      state_.evaluations_since_best = 0;
    } else {
      ++state_.evaluations_since_best;
    }
  }

  Model& model_;
  TrainerOptions options_;
  Adam<T> adam_;
  TrainerState<T> state_;
  std::vector<std::int64_t> order_;
  BatchBuffers<Inputs> batch_;
  TensorBuffer<T, 2> targets_;
  MSELoss<T> loss_;
  std::vector<typename Parameters<T>::Buffer> part_grads_;  // data-parallel: each part's gradient
  std::vector<double> part_losses_;
};

}  // namespace cnnlstm
