#pragma once
// The CNN branch: reads static covariates as a small image patch around each site.
//   x (N, C, P, P) -> [conv_k -> ReLU -> MaxPool] x blocks -> flatten -> fc -> ReLU -> (N, features)
// The paper's CovLSTM: C = 10, P = 5, conv1 10->6 and conv2 6->16 (k 2, s 1, p 1), max-pool 2,
// flatten 16*2*2 = 64, fc_cnn_1 64->16. The flattened width is computed from the patch size.
// It computes in the lane layout; forward/backward come from BranchTorchLayout.

#include <iterator>
#include <string>
#include <vector>

#include "branch.hpp"
#include "branch_torch_layout.hpp"
#include "../layers/activation.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/maxpool2d.hpp"
#include "../layers/reshape.hpp"

namespace cnnlstm {

struct CnnBranchOptions {
  Index in_channels = 10;
  Index patch = 5;                          // square window, P x P pixels
  std::vector<Index> conv_channels{6, 16};  // one conv block per entry
  Index kernel = 2;
  Index stride = 1;
  Index padding = 1;
  Index pool = 2;                           // max-pool kernel and stride
  Index features = 16;                      // width of the fully connected layer
  std::string conv_prefix = "conv";         // blocks are named conv1, conv2, ...
  std::string fc_name = "fc_cnn_1";

  bool operator==(const CnnBranchOptions&) const = default;
};

template <class T>
class CnnBranch : public BranchTorchLayout<CnnBranch<T>, T, TensorRef<T, 4>> {
 public:
  using Options = CnnBranchOptions;
  using Input = TensorRef<T, 4>;
  static constexpr const char* input_name = "x_cnn";
  static constexpr int feature_axis = 1;  // channels of (N, C, P, P)
  static constexpr bool draws_random_numbers = false;  // no dropout: may run beside another branch

  CnnBranch(ParameterLayout& layout, const Options& options)
      : options_(options), fc_(declare_layers(layout)) {}

  const Options& options() const { return options_; }
  Index output_features() const { return options_.features; }
  // Width of the flattened last block, C_last * h * w (64 in the paper).
  Index flattened_features() const { return flat_width_; }

  void initialize(Parameters<T>& p, Rng& rng, const InitOptions& init) const {
    for (const Block& b : blocks_) b.conv.initialize(p, rng);
    initialize_linear(fc_, p, rng, init);
  }

  // x (N, C, P, P) -> features in the lane layout (F, Np), which is how SocModel runs the branch
  kernels::LaneTensor<T, 2> forward_lanes(const Parameters<T>& p, Input x, const Context& ctx) {
    if (x.dimension(1) != options_.in_channels || x.dimension(2) != options_.patch ||
        x.dimension(3) != options_.patch)
      throw ShapeError("CNN branch (x_cnn): expected input (N, " + std::to_string(options_.in_channels) +
                       ", " + std::to_string(options_.patch) + ", " + std::to_string(options_.patch) +
                       "), got " + shape_string(x.shape()));
    kernels::LaneTensor<T, 4> h = kernels::to_lanes(x, x_lanes_);
    for (Block& b : blocks_)
      h = b.relu_pool.forward_lanes(b.conv.forward_lanes(p, h, ctx), ctx);
    return fc_relu_.forward_lanes(fc_.forward_lanes(p, flatten_.forward_lanes(h, ctx), ctx), ctx);
  }

  // dfeatures (F, Np) in the lane layout -> dx (N, C, P, P)
  Input backward_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dfeatures) {
    return kernels::from_lanes(blocks_.front().conv.backward_lanes(p, backward_above_first_conv(p, dfeatures)),
                               dx_);
  }

  // The same without dx: only the parameter gradients, which is all training needs.
  void backward_parameters_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dfeatures) {
    blocks_.front().conv.backward_parameters_lanes(p, backward_above_first_conv(p, dfeatures));
  }

 private:
  // dfeatures (F, Np) -> gradient of the first convolution's output (O, Ho*Wo*Np); accumulates
  // the gradients of every layer above it
  kernels::LaneTensor<T, 4> backward_above_first_conv(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dfeatures) {
    kernels::LaneTensor<T, 4> g =
        flatten_.backward_lanes(fc_.backward_lanes(p, fc_relu_.backward_lanes(dfeatures)));
    for (auto b = blocks_.rbegin(); b != blocks_.rend(); ++b) {
      g = b->relu_pool.backward_lanes(g);
      if (std::next(b) != blocks_.rend()) g = b->conv.backward_lanes(p, g);
    }
    return g;
  }

  struct Block {
    Conv2d<T> conv;
    ReluMaxPool2d<T> relu_pool;  // ReLU, then max pooling, in one pass
  };

  // Declares the conv blocks (checking that the patch survives them), then the fully connected
  // layer on their flattened output, in PyTorch's state_dict order.
  Linear<T> declare_layers(ParameterLayout& layout) {
    const Options& o = options_;
    if (o.conv_channels.empty()) throw ConfigError("CNN branch: conv_channels is empty");
    if (o.patch < 1 || o.in_channels < 1 || o.features < 1)
      throw ConfigError("CNN branch: in_channels, patch and features must be positive");
    Index channels = o.in_channels, size = o.patch;
    for (std::size_t k = 0; k < o.conv_channels.size(); ++k) {
      const std::string name = o.conv_prefix + std::to_string(k + 1);
      Conv2d<T> conv(layout, name, {channels, o.conv_channels[k], o.kernel, o.stride, o.padding});
      ReluMaxPool2d<T> pool(o.pool);
      try {
        const Index after_conv = conv.output_size(size, size)[0];
        size = pool.output_size(after_conv, after_conv)[0];
      } catch (const ShapeError& e) {
        throw ConfigError("CNN branch: a " + std::to_string(o.patch) + "x" +
                          std::to_string(o.patch) + " patch is too small for conv block " +
                          std::to_string(k + 1) + " (kernel " + std::to_string(o.kernel) +
                          ", padding " + std::to_string(o.padding) + ", pool " +
                          std::to_string(o.pool) + "): " + e.what());
      }
      channels = o.conv_channels[k];
      blocks_.push_back({std::move(conv), std::move(pool)});
    }
    flat_width_ = channels * size * size;
    return Linear<T>(layout, o.fc_name, flat_width_, o.features);
  }

  Options options_;
  std::vector<Block> blocks_;
  Index flat_width_ = 0;
  Flatten<T> flatten_;
  Linear<T> fc_;
  ReLU<T, 2> fc_relu_;
  kernels::LaneBuffer<T> x_lanes_;  // x (C, P*P*Np)
  TensorBuffer<T, 4> dx_;                             // (N, C, P, P)
};

}  // namespace cnnlstm
