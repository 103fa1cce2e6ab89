#pragma once
// The LSTM branch: reads yearly remote-sensing series.
//   x (N, T, F) -> LSTM (layers, hidden H) -> output at the last year (N, H) -> fc -> tanh -> (N, features)
// The paper: F = 1 (EVI), 11 (phenology) or 12 (both, EVI first), H = 8, 2 layers, fc_lstm_1 8->16.
// It computes in the lane layout; forward/backward come from BranchTorchLayout.

#include <string>

#include "branch.hpp"
#include "branch_torch_layout.hpp"
#include "../layers/activation.hpp"
#include "../layers/lstm.hpp"
#include "../layers/reshape.hpp"

namespace cnnlstm {

struct LstmBranchOptions {
  Index input_size = 12;    // F, features per year
  Index hidden_size = 8;
  Index num_layers = 2;
  double dropout = 0.0;     // between LSTM layers, training only
  Index features = 16;      // width of the fully connected layer
  std::string lstm_name = "lstm";
  std::string fc_name = "fc_lstm_1";

  bool operator==(const LstmBranchOptions&) const = default;
};

template <class T>
class LstmBranch : public BranchTorchLayout<LstmBranch<T>, T, TensorRef<T, 3>> {
 public:
  using Options = LstmBranchOptions;
  using Input = TensorRef<T, 3>;
  static constexpr const char* input_name = "x_lstm";
  static constexpr int feature_axis = 2;  // features of (N, T, F)
  static constexpr bool draws_random_numbers = true;  // dropout between LSTM layers

  LstmBranch(ParameterLayout& layout, const Options& options)
      : options_(options),
        lstm_(layout, options.lstm_name,
              LstmOptions{options.input_size, options.hidden_size, options.num_layers, options.dropout}),
        fc_(layout, options.fc_name, options.hidden_size, options.features) {}

  const Options& options() const { return options_; }
  Index output_features() const { return options_.features; }

  void initialize(Parameters<T>& p, Rng& rng, const InitOptions& init) const {
    lstm_.initialize(p, rng);
    initialize_linear(fc_, p, rng, init);
  }

  // x (N, T, F) -> features in the lane layout (features, Np), which is how SocModel runs the branch
  kernels::LaneTensor<T, 2> forward_lanes(const Parameters<T>& p, Input x, const Context& ctx) {
    const auto sequence = lstm_.forward_lanes(p, kernels::to_lanes(x, x_lanes_), ctx);
    return tanh_.forward_lanes(fc_.forward_lanes(p, last_.forward_lanes(sequence, ctx), ctx), ctx);
  }

  // dfeatures (features, Np) in the lane layout -> dx (N, T, F)
  Input backward_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dfeatures) {
    return kernels::from_lanes(lstm_.backward_lanes(p, backward_above_lstm(p, dfeatures)), dx_);
  }

  // The same without dx: only the parameter gradients, which is all training needs.
  void backward_parameters_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dfeatures) {
    lstm_.backward_parameters_lanes(p, backward_above_lstm(p, dfeatures));
  }

 private:
  // dfeatures (features, Np) -> gradient of the LSTM's output (T*H, Np); accumulates fc's gradients
  kernels::LaneTensor<T, 3> backward_above_lstm(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dfeatures) {
    return last_.backward_lanes(fc_.backward_lanes(p, tanh_.backward_lanes(dfeatures)));
  }

  Options options_;
  LSTM<T> lstm_;
  LastTimeStep<T> last_;
  Linear<T> fc_;
  Tanh<T, 2> tanh_;
  kernels::LaneBuffer<T> x_lanes_;  // x (T*F, Np)
  TensorBuffer<T, 3> dx_;                             // (N, T, F)
};

}  // namespace cnnlstm
