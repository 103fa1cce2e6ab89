#pragma once
// The dense head over the joined branch features:
//   features (N, F) -> [fc_head_k -> ReLU] x hidden -> final Linear -> (N, outputs)
// The paper has no hidden layer: fc_final 32->1. Several outputs (soil properties or depths)
// share the branches, as in multi-task digital soil mapping.

#include <string>
#include <vector>

#include "branch.hpp"
#include "../layers/activation.hpp"

namespace cnnlstm {

struct DenseHeadOptions {
  std::vector<Index> hidden{};            // widths of hidden layers, each followed by ReLU
  Index outputs = 1;
  std::string name = "fc_final";          // the final layer
  std::string hidden_prefix = "fc_head_"; // hidden layers: fc_head_1, fc_head_2, ...

  bool operator==(const DenseHeadOptions&) const = default;
};

template <class T>
class DenseHead {
 public:
  using Options = DenseHeadOptions;

  DenseHead(ParameterLayout& layout, Index in_features, const Options& options)
      : options_(options), final_(declare_layers(layout, in_features)) {}

  const Options& options() const { return options_; }

  void initialize(Parameters<T>& p, Rng& rng, const InitOptions& init) const {
    for (const Hidden& h : hidden_) initialize_linear(h.fc, p, rng, init);
    initialize_linear(final_, p, rng, init);
  }

  // features (N, F) -> y (N, outputs)
  TensorRef<T, 2> forward(const Parameters<T>& p, TensorRef<T, 2> x, const Context& ctx) {
    return kernels::from_lanes(forward_lanes(p, kernels::to_lanes(x, x_lanes_), ctx), y_);
  }

  // dy (N, outputs) -> dfeatures (N, F)
  TensorRef<T, 2> backward(Parameters<T>& p, TensorRef<T, 2> dy) {
    return kernels::from_lanes(backward_lanes(p, kernels::to_lanes(dy, dy_lanes_)), dx_);
  }

  // The same in the lane layout: features (F, Np) -> y (outputs, Np) and back.
  kernels::LaneTensor<T, 2> forward_lanes(const Parameters<T>& p, kernels::LaneTensor<T, 2> x,
                                          const Context& ctx) {
    for (Hidden& h : hidden_) x = h.relu.forward_lanes(h.fc.forward_lanes(p, x, ctx), ctx);
    return final_.forward_lanes(p, x, ctx);
  }

  kernels::LaneTensor<T, 2> backward_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dy) {
    kernels::LaneTensor<T, 2> g = final_.backward_lanes(p, dy);
    for (auto h = hidden_.rbegin(); h != hidden_.rend(); ++h)
      g = h->fc.backward_lanes(p, h->relu.backward_lanes(g));
    return g;
  }

 private:
  struct Hidden {
    Linear<T> fc;
    ReLU<T, 2> relu;
  };

  Linear<T> declare_layers(ParameterLayout& layout, Index in_features) {
    if (options_.outputs < 1) throw ConfigError("dense head: outputs must be at least 1");
    Index width = in_features;
    for (std::size_t k = 0; k < options_.hidden.size(); ++k) {
      if (options_.hidden[k] < 1) throw ConfigError("dense head: hidden widths must be positive");
      hidden_.push_back({Linear<T>(layout, options_.hidden_prefix + std::to_string(k + 1), width,
                                   options_.hidden[k]),
                         ReLU<T, 2>{}});
      width = options_.hidden[k];
    }
    return Linear<T>(layout, options_.name, width, options_.outputs);
  }

  Options options_;
  std::vector<Hidden> hidden_;
  Linear<T> final_;
  kernels::LaneBuffer<T> x_lanes_, dy_lanes_;  // conversions of the PyTorch-layout calls
  TensorBuffer<T, 2> y_, dx_;
};

}  // namespace cnnlstm
