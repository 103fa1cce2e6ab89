#pragma once
// SocModel: one branch per kind of covariate, their features joined, a dense head on top.
//
//   x_1 (N, ...) -> branch 1 -> (N, F_1) --+
//   x_2 (N, ...) -> branch 2 -> (N, F_2) --+-> concat (N, sum F) -> head -> (N, outputs)
//   ...                                    |
//
// The paper's seven variants are SocModel<T, CnnBranch<T>>, SocModel<T, LstmBranch<T>> and
// SocModel<T, CnnBranch<T>, LstmBranch<T>> with its sizes (see model_spec.hpp). Any type that meets
// the Branch concept (branch.hpp) can be added: a deeper CNN, another LSTM, a third covariate.
//
// The model owns its parameters in one flat buffer (core/parameters.hpp) and its layers' buffers.
// forward() runs in the mode its Context says: training caches for backward() and applies dropout;
// evaluation caches nothing. After one call at a given batch size, neither allocates.
//
// Inside, the branches and the head pass their tensors in the lane layout (samples along the
// vector lanes, kernels/lane_tensor.hpp); a branch that only offers the PyTorch-layout Branch
// contract is converted at its boundary.
//
// Threads (OpenMP, as many as omp_get_max_threads() allows):
//  - evaluation of more than prediction_chunk samples runs in chunks of that size, which keeps a
//    chunk's working set in the caches; from parallel_chunks_from chunks up the chunks are spread
//    over the threads, each with its own copy of the layers' buffers;
//  - otherwise (training, smaller evaluations), from parallel_branches_from samples up the
//    branches run side by side, one thread each;
//  - below that, everything runs on the calling thread.
// Every sample goes through the same arithmetic whatever its chunk, lane or thread, so
// predictions are bit-identical for any batch size and thread count, and training results for
// any thread count (the parameter gradients of a branch are always summed by one thread).

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <omp.h>

#include "branch.hpp"
#include "dense_head.hpp"
#include "input_scaling.hpp"
#include "../layers/reshape.hpp"

namespace cnnlstm {

// A branch that can also hand its features over in the lane layout, as the standard branches do.
template <class B, class T>
concept LaneBranch = Branch<B, T> && requires(B b, Parameters<T>& p, const Parameters<T>& cp,
                                              typename B::Input x, const kernels::LaneTensor<T, 2>& dy,
                                              const Context& ctx) {
  { b.forward_lanes(cp, x, ctx) } -> std::same_as<kernels::LaneTensor<T, 2>>;
  { b.backward_lanes(p, dy) } -> std::same_as<typename B::Input>;
};

// Whether a branch may draw from the training context's generator (dropout): the standard
// branches say so; any other branch is assumed to.
template <class B>
constexpr bool may_draw_random_numbers() {
  if constexpr (requires { B::draws_random_numbers; })
    return B::draws_random_numbers;
  else
    return true;
}

// Evaluation splits batches into chunks of this many samples.
inline constexpr Index prediction_chunk = 64;
// Evaluation spreads its chunks over the threads from this many chunks (512 samples) up. Below,
// a parallel region saves less than a millisecond, and on a busy machine it can cost a whole
// time slice when one of its threads is descheduled at the barrier.
inline constexpr Index parallel_chunks_from = 8;
// The feature axis of a branch's input (Branch trait feature_axis), 0 when it has none.
template <class B>
constexpr int feature_axis_of() {
  if constexpr (requires { B::feature_axis; })
    return B::feature_axis;
  else
    return 0;
}

template <class Ref>
struct ref_rank;
template <class U, int R>
struct ref_rank<TensorRef<U, R>> {
  static constexpr int value = R;
};

// From this many samples up, with two or more OpenMP threads, the branches run side by side.
inline constexpr Index parallel_branches_from = 16;

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
      : options_(options), main_(construction_layout_, options_), params_(std::move(construction_layout_)) {}

  const Options& options() const { return options_; }
  Index outputs() const { return options_.head.outputs; }

  Parameters<T>& parameters() { return params_; }
  const Parameters<T>& parameters() const { return params_; }
  void zero_grad() { params_.zero_grad(); }

  template <std::size_t I>
  auto& branch() { return std::get<I>(main_.branches); }
  template <std::size_t I>
  const auto& branch() const { return std::get<I>(main_.branches); }
  DenseHead<T>& head() { return main_.head; }

  // The paper's initialisation from a seed: PyTorch's defaults, Linear layers as InitOptions says.
  void initialize(std::uint64_t seed, const InitOptions& init = {}) {
    Rng rng(seed);
    std::apply([&](const auto&... b) { (b.initialize(params_, rng, init), ...); }, main_.branches);
    main_.head.initialize(params_, rng, init);
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

  // One FeatureScaling per branch input (input_scaling.hpp); empty ones leave that input as it is.
  using InputScaling = std::array<FeatureScaling, branch_count>;
  const InputScaling& input_scaling() const { return input_scaling_; }
  void set_input_scaling(InputScaling scaling) {
    check_input_scaling(scaling, std::index_sequence_for<Branches...>{});
    input_scaling_ = std::move(scaling);
  }
  bool scales_inputs() const {
    return std::any_of(input_scaling_.begin(), input_scaling_.end(), [](const FeatureScaling& s) { return !s.empty(); });
  }
  // The scaling of every input that has a feature axis, fitted on the given rows.
  InputScaling fit_input_scaling(const Inputs& x, std::span<const std::int64_t> rows,
                                 FeatureScalingKind kind = FeatureScalingKind::standard) const {
    InputScaling s;
    fit_scalings(s, x, rows, kind, std::index_sequence_for<Branches...>{});
    return s;
  }

  // inputs (N, ...) per branch, in their own units -> network output (N, outputs), in
  // standardised units. With an input scaling, the branches see the scaled inputs.
  TensorRef<T, 2> forward(const Inputs& raw, const Context& ctx) {
    const Inputs& x = scales_inputs() ? scale_inputs(raw, std::index_sequence_for<Branches...>{}) : raw;
    check_batch_sizes(x, std::index_sequence_for<Branches...>{});
    const Index n = std::get<0>(x).dimension(0);
    if (!ctx.training() && n > prediction_chunk) return forward_in_chunks(x);
    main_.parallel = branches_side_by_side(n);
    return kernels::from_lanes(main_.forward(params_, x, ctx), output_);
  }

  // dy (N, outputs) -> gradient of each input (in its own units); accumulates every parameter gradient
  Inputs backward(TensorRef<T, 2> dy) {
    const Inputs g = main_.backward(params_, dy);
    return scales_inputs() ? unscale_gradients(g, std::index_sequence_for<Branches...>{}) : g;
  }

  // dy (N, outputs): accumulates every parameter gradient and skips the inputs' gradients,
  // which training does not need (the same parameter gradients as backward(), bit for bit).
  void backward_parameters(TensorRef<T, 2> dy) { main_.backward_parameters(params_, dy); }

  // Evaluation-mode prediction in target units (N, outputs), owned by the caller: a later call
  // leaves it as it is. predict_view() is the same without allocating the result.
  Tensor<T, 2> predict(const Inputs& x) {
    const TensorRef<T, 2> y = predict_view(x);
    Tensor<T, 2> out(y.dimension(0), y.dimension(1));
    std::copy_n(y.data(), y.size(), out.data());
    return out;
  }

  // predict() as a view of the model's buffers, for hot loops that copy the values out at once:
  // it allocates nothing after the first call at the largest batch, and the next forward() or
  // predict_view() on this model overwrites it.
  TensorRef<T, 2> predict_view(const Inputs& x) {
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
  // The layers and their buffers, everything one thread needs to run the model.
  struct Pipeline {
    std::tuple<Branches...> branches;
    DenseHead<T> head;
    Concat<T, branch_count> concat;
    std::array<kernels::LaneBuffer<T>, branch_count> feature_lanes;  // of branches without lanes
    std::array<TensorBuffer<T, 2>, branch_count> feature_grads;      // of branches without lanes
    kernels::LaneBuffer<T> dy_lanes;
    bool parallel = false;  // the branches run on threads of their own (see branches_side_by_side)

    Pipeline(ParameterLayout& layout, const Options& o)
        : branches(declare_branches(layout, o, std::index_sequence_for<Branches...>{})),
          head(layout, total_features(), o.head) {}

    // inputs -> network output (outputs, Np)
    kernels::LaneTensor<T, 2> forward(const Parameters<T>& p, const Inputs& x, const Context& ctx) {
      std::array<kernels::LaneTensor<T, 2>, branch_count> features;
      for_each_branch([&](auto i) { features[i] = forward_branch<i>(p, x, ctx); });
      return head.forward_lanes(p, concat.forward_lanes(features, ctx), ctx);
    }

    Inputs backward(Parameters<T>& p, TensorRef<T, 2> dy) {
      const auto dfeatures = backward_head(p, dy);
      Inputs dx;
      for_each_branch([&](auto i) { std::get<i>(dx) = backward_branch<i>(p, dfeatures[i]); });
      return dx;
    }

    void backward_parameters(Parameters<T>& p, TensorRef<T, 2> dy) {
      const auto dfeatures = backward_head(p, dy);
      for_each_branch([&](auto i) { backward_branch_parameters<i>(p, dfeatures[i]); });
    }

   private:
    template <std::size_t... I>
    static std::tuple<Branches...> declare_branches(ParameterLayout& layout, const Options& o,
                                                    std::index_sequence<I...>) {
      // Braced initialisation runs left to right: parameters are declared branch by branch.
      return std::tuple<Branches...>{Branches(layout, std::get<I>(o.branches))...};
    }

    Index total_features() const {
      return std::apply([](const auto&... b) { return (Index{0} + ... + b.output_features()); }, branches);
    }

    template <std::size_t I>
    kernels::LaneTensor<T, 2> forward_branch(const Parameters<T>& p, const Inputs& x, const Context& ctx) {
      auto& b = std::get<I>(branches);
      if constexpr (LaneBranch<std::tuple_element_t<I, std::tuple<Branches...>>, T>)
        return b.forward_lanes(p, std::get<I>(x), ctx);
      else
        return kernels::to_lanes(b.forward(p, std::get<I>(x), ctx), feature_lanes[I]);
    }

    // dy (N, outputs) -> each branch's dfeatures (F_i, Np); accumulates the head's gradients
    std::array<kernels::LaneTensor<T, 2>, branch_count> backward_head(Parameters<T>& p, TensorRef<T, 2> dy) {
      return concat.backward_lanes(head.backward_lanes(p, kernels::to_lanes(dy, dy_lanes)));
    }

    // A branch's parameter gradients: through its backward_parameters_lanes when it has one (the
    // standard branches), else through its backward, whose dx is then unused.
    template <std::size_t I>
    void backward_branch_parameters(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dfeatures) {
      auto& b = std::get<I>(branches);
      if constexpr (requires { b.backward_parameters_lanes(p, dfeatures); })
        b.backward_parameters_lanes(p, dfeatures);
      else
        backward_branch<I>(p, dfeatures);
    }

    template <std::size_t I>
    auto backward_branch(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dfeatures) {
      auto& b = std::get<I>(branches);
      if constexpr (LaneBranch<std::tuple_element_t<I, std::tuple<Branches...>>, T>)
        return b.backward_lanes(p, dfeatures);
      else
        return b.backward(p, kernels::from_lanes(dfeatures, feature_grads[I]));
    }

    // Calls f(std::integral_constant<std::size_t, I>{}) for every branch I: in order, or with
    // `parallel` each branch on a thread of its own. Either way one thread computes all of a
    // branch, so the results are the same bits.
    template <class F>
    void for_each_branch(F&& f) {
      const auto call = [&](std::size_t k) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
          ((k == I ? f(std::integral_constant<std::size_t, I>{}) : void()), ...);
        }(std::index_sequence_for<Branches...>{});
      };
      if (!parallel) {
        for (std::size_t k = 0; k < branch_count; ++k) call(k);
        return;
      }
      std::exception_ptr error;
#pragma omp parallel for num_threads(static_cast<int>(branch_count)) schedule(static, 1)
      for (std::size_t k = 0; k < branch_count; ++k) {
        try {
          call(k);
        } catch (...) {
#pragma omp critical
          error = std::current_exception();
        }
      }
      if (error) std::rethrow_exception(error);
    }
  };

  // The branches run side by side for a batch big enough to pay for the threads, when there are
  // threads to spare and at most one branch may draw random numbers (so that the draws come in
  // the same order as on one thread).
  static bool branches_side_by_side(Index n) {
    constexpr int random_branches = (int{may_draw_random_numbers<Branches>()} + ...);
    return branch_count > 1 && random_branches <= 1 && n >= parallel_branches_from &&
           omp_get_max_threads() > 1;
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

  // Samples [first, first + count) of every input.
  template <std::size_t... I>
  static Inputs slice(const Inputs& x, Index first, Index count, std::index_sequence<I...>) {
    return Inputs{slice_rows(std::get<I>(x), first, count)...};
  }
  template <int Rank>
  static TensorRef<T, Rank> slice_rows(const TensorRef<T, Rank>& x, Index first, Index count) {
    Shape<Rank> shape = x.shape();
    const Index row = x.size() / shape[0];
    shape[0] = count;
    return TensorRef<T, Rank>(x.data() + first * row, shape);
  }

  template <std::size_t... I>
  void check_input_scaling(const InputScaling& s, std::index_sequence<I...>) const {
    (check_branch_scaling<I, Branches>(s[I]), ...);
  }
  template <std::size_t I, class B>
  void check_branch_scaling(const FeatureScaling& s) const {
    if (s.empty()) return;
    if constexpr (feature_axis_of<B>() == 0)
      throw ConfigError(std::string("input ") + B::input_name + " has no feature axis, so it cannot be scaled");
    else
      check_feature_scaling(s, static_cast<Index>(s.mean.size()), B::input_name);
  }

  template <std::size_t... I>
  void fit_scalings(InputScaling& s, const Inputs& x, std::span<const std::int64_t> rows, FeatureScalingKind kind,
                    std::index_sequence<I...>) const {
    ((s[I] = feature_axis_of<Branches>() == 0 ? FeatureScaling{}
                                               : fit_feature_scaling(std::get<I>(x), feature_axis_of<Branches>(), rows, kind)),
     ...);
  }

  template <std::size_t... I>
  const Inputs& scale_inputs(const Inputs& raw, std::index_sequence<I...>) {
    (scale_input<I, Branches>(raw), ...);
    return scaled_views_;
  }
  template <std::size_t I, class B>
  void scale_input(const Inputs& raw) {
    const auto& x = std::get<I>(raw);
    const FeatureScaling& s = input_scaling_[I];
    if (s.empty()) {
      std::get<I>(scaled_views_) = x;
      return;
    }
    constexpr int axis = feature_axis_of<B>();
    check_feature_scaling(s, x.dimension(axis), B::input_name);
    apply_feature_scaling(x, axis, s, std::get<I>(scaled_));
    std::get<I>(scaled_views_) = std::get<I>(scaled_);
  }

  template <std::size_t... I>
  Inputs unscale_gradients(const Inputs& g, std::index_sequence<I...>) {
    return {unscale_gradient<I, Branches>(std::get<I>(g))...};
  }
  template <std::size_t I, class B>
  typename B::Input unscale_gradient(const typename B::Input& g) {
    const FeatureScaling& s = input_scaling_[I];
    if (s.empty()) return g;
    auto& buffer = std::get<I>(input_grads_);
    buffer.resize(g.shape());
    std::copy_n(g.data(), g.size(), buffer.data());
    unscale_feature_gradient(buffer, feature_axis_of<B>(), s);
    return buffer;
  }

  // Chunk c of the batch through `pipe`, its outputs into rows of output_.
  void run_chunk(Pipeline& pipe, const Inputs& x, Index c) {
    const Index n = std::get<0>(x).dimension(0), first = c * prediction_chunk;
    const Index count = std::min(prediction_chunk, n - first);
    pipe.parallel = false;  // the chunks are the parallel work
    const auto y = pipe.forward(params_, slice(x, first, count, std::index_sequence_for<Branches...>{}),
                                Context::evaluation());
    kernels::from_lanes(y.lanes, count, 1, output_.data() + first * outputs());
  }

  // Evaluation of more than one chunk: the first chunk on this thread (so that bad inputs throw
  // here), the others spread over the OpenMP threads, thread t running workers_[t - 1].
  TensorRef<T, 2> forward_in_chunks(const Inputs& x) {
    const Index n = std::get<0>(x).dimension(0), chunks = (n + prediction_chunk - 1) / prediction_chunk;
    output_.resize({n, outputs()});
    run_chunk(main_, x, 0);
    const int threads = chunks < parallel_chunks_from ? 1 : static_cast<int>(std::min<Index>(omp_get_max_threads(), chunks - 1));
    if (threads == 1) {  // no parallel region at all: libgomp allocates a team for each one of one thread
      for (Index c = 1; c < chunks; ++c) run_chunk(main_, x, c);
      return output_;
    }
    while (static_cast<int>(workers_.size()) + 1 < threads) workers_.push_back(main_);
    std::exception_ptr error;
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      Pipeline& pipe = t == 0 ? main_ : workers_[static_cast<std::size_t>(t - 1)];
#pragma omp for schedule(dynamic)
      for (Index c = 1; c < chunks; ++c) {
        try {
          run_chunk(pipe, x, c);
        } catch (...) {
#pragma omp critical
          error = std::current_exception();
        }
      }
    }
    if (error) std::rethrow_exception(error);
    return output_;
  }

  Options options_;
  ParameterLayout construction_layout_;  // filled by the layers' constructors, then moved to params_
  Pipeline main_;                        // training and single-chunk evaluation
  Parameters<T> params_;
  std::vector<Pipeline> workers_;        // evaluation threads 1, 2, ...: copies of main_
  TargetScaling scaling_;
  InputScaling input_scaling_{};
  std::tuple<TensorBuffer<T, ref_rank<typename Branches::Input>::value>...> scaled_;      // scaled inputs
  std::tuple<TensorBuffer<T, ref_rank<typename Branches::Input>::value>...> input_grads_;  // in raw units
  Inputs scaled_views_{};
  TensorBuffer<T, 2> output_;            // (N, outputs) in standardised units
  TensorBuffer<T, 2> prediction_;        // (N, outputs) in target units
};

}  // namespace cnnlstm
