#pragma once
// SocModel: one branch per kind of covariate, their features joined, a dense head on top.
//
//   x_1 (N, ...) -> branch 1 -> (N, F_1) --+
//   x_2 (N, ...) -> branch 2 -> (N, F_2) --+-> concat (N, sum F) -> head -> (N, outputs)
//   ...                                    |
//
// The paper's seven variants are SocModel<T, CnnBranch<T>>, SocModel<T, LstmBranch<T>> and
// SocModel<T, CnnBranch<T>, LstmBranch<T>> with its sizes (see variants.hpp). Any type that meets
// the Branch concept (branch.hpp) can be added: a deeper CNN, another LSTM, a third covariate.
//
// The model owns its parameters in one flat buffer (parameters.hpp) and its layers' buffers.
// forward() runs in the mode its Context says: training caches for backward() and applies dropout;
// evaluation caches nothing. After one call at a given batch size, neither allocates.

#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "branch.hpp"
#include "dense_head.hpp"
#include "layers/reshape.hpp"

namespace cnnlstm {

// The network learns standardised targets; predict() maps its output back to target units:
// prediction = output * scale + mean, per output. Empty vectors mean the identity.
struct TargetScaling {
  std::vector<double> mean;
  std::vector<double> scale;
};

template <class T, class... Branches>
  requires(sizeof...(Branches) >= 1 && (Branch<Branches, T> && ...))
class SocModel {
 public:
  using Scalar = T;
  static constexpr std::size_t branch_count = sizeof...(Branches);
  using Inputs = std::tuple<typename Branches::Input...>;  // one (N, ...) tensor per branch
  static constexpr std::array<const char*, branch_count> input_names{Branches::input_name...};

  struct Options {
    std::tuple<typename Branches::Options...> branches;
    DenseHeadOptions head;
  };

  explicit SocModel(const Options& options)
      : options_(options),
        branches_(declare_branches(std::index_sequence_for<Branches...>{})),
        head_(construction_layout_, total_features(), options.head),
        params_(std::move(construction_layout_)) {}

  const Options& options() const { return options_; }
  Index outputs() const { return options_.head.outputs; }

  Parameters<T>& parameters() { return params_; }
  const Parameters<T>& parameters() const { return params_; }
  void zero_grad() { params_.zero_grad(); }

  // Calls f(spec, value pointer, gradient pointer) for every tensor in state_dict order.
  template <class F>
  void visit_parameters(F&& f) {
    for (const ParameterSpec& spec : params_.layout().specs())
      f(spec, params_.value(spec.slot), params_.grad(spec.slot));
  }

  template <std::size_t I>
  auto& branch() { return std::get<I>(branches_); }
  template <std::size_t I>
  const auto& branch() const { return std::get<I>(branches_); }
  DenseHead<T>& head() { return head_; }

  // The paper's initialisation from a seed: PyTorch's defaults, Linear layers as InitOptions says.
  void initialize(std::uint64_t seed, const InitOptions& init = {}) {
    Rng rng(seed);
    std::apply([&](const auto&... b) { (b.initialize(params_, rng, init), ...); }, branches_);
    head_.initialize(params_, rng, init);
  }

  const TargetScaling& target_scaling() const { return scaling_; }
  void set_target_scaling(TargetScaling scaling) {
    const auto n = static_cast<std::size_t>(outputs());
    if (!(scaling.mean.empty() && scaling.scale.empty()) &&
        (scaling.mean.size() != n || scaling.scale.size() != n))
      throw ConfigError("target scaling: expected " + std::to_string(n) +
                        " means and scales (one per output), got " +
                        std::to_string(scaling.mean.size()) + " and " +
                        std::to_string(scaling.scale.size()));
    scaling_ = std::move(scaling);
  }

  // inputs (N, ...) per branch -> network output (N, outputs), in standardised units
  TensorRef<T, 2> forward(const Inputs& x, const Context& ctx) {
    check_batch_sizes(x, std::index_sequence_for<Branches...>{});
    const auto features = forward_branches(x, ctx, std::index_sequence_for<Branches...>{});
    return head_.forward(params_, concat_.forward(features, ctx), ctx);
  }

  // dy (N, outputs) -> gradient of each input; accumulates every parameter gradient
  Inputs backward(TensorRef<T, 2> dy) {
    const auto dfeatures = concat_.backward(head_.backward(params_, dy));
    return backward_branches(dfeatures, std::index_sequence_for<Branches...>{});
  }

  // Evaluation-mode prediction in target units (N, outputs).
  TensorRef<T, 2> predict(const Inputs& x) {
    const TensorRef<T, 2> y = forward(x, Context::evaluation());
    if (scaling_.mean.empty()) return y;
    prediction_.resize(y.shape());
    const Index n = y.dimension(0), k = y.dimension(1);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < k; ++j)
        prediction_(i, j) = static_cast<T>(y(i, j) * scaling_.scale[static_cast<std::size_t>(j)] +
                                           scaling_.mean[static_cast<std::size_t>(j)]);
    return prediction_;
  }

 private:
  template <std::size_t... I>
  std::tuple<Branches...> declare_branches(std::index_sequence<I...>) {
    // Braced initialisation runs left to right: parameters are declared branch by branch.
    return std::tuple<Branches...>{
        Branches(construction_layout_, std::get<I>(options_.branches))...};
  }

  Index total_features() const {
    return std::apply([](const auto&... b) { return (Index{0} + ... + b.output_features()); },
                      branches_);
  }

  template <std::size_t... I>
  void check_batch_sizes(const Inputs& x, std::index_sequence<I...>) const {
    const Index n = std::get<0>(x).dimension(0);
    const std::array<Index, branch_count> sizes{std::get<I>(x).dimension(0)...};
    for (std::size_t k = 1; k < branch_count; ++k)
      if (sizes[k] != n)
        throw ShapeError(std::string("SocModel: input ") + input_names[k] + " has " +
                         std::to_string(sizes[k]) + " samples but " + input_names[0] + " has " +
                         std::to_string(n));
  }

  template <std::size_t... I>
  std::array<TensorRef<T, 2>, branch_count> forward_branches(const Inputs& x, const Context& ctx,
                                                             std::index_sequence<I...>) {
    return {std::get<I>(branches_).forward(params_, std::get<I>(x), ctx)...};
  }

  template <std::size_t... I>
  Inputs backward_branches(const std::array<TensorRef<T, 2>, branch_count>& dfeatures,
                           std::index_sequence<I...>) {
    return Inputs{std::get<I>(branches_).backward(params_, dfeatures[I])...};
  }

  Options options_;
  ParameterLayout construction_layout_;  // filled by the layers' constructors, then moved to params_
  std::tuple<Branches...> branches_;
  DenseHead<T> head_;
  Parameters<T> params_;
  Concat<T, branch_count> concat_;
  TargetScaling scaling_;
  TensorBuffer<T, 2> prediction_;  // (N, outputs) in target units
};

}  // namespace cnnlstm
