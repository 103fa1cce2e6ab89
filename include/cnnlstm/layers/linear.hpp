#pragma once
// Linear (fully connected) layer, PyTorch's nn.Linear: y = x W^T + b.
//   x (N, in)  ->  y (N, out);   weight (out, in), bias (out)
// Inside a model it runs in the lane layout (kernels/lane_tensor.hpp), where the same product
// reads y (out, Np) = W x + b 1^T: one GEMM with the samples along the vector lanes.
// forward/backward in PyTorch's layout come from TorchLayout (torch_layout.hpp).

#include <string>

#include "../core/context.hpp"
#include "../core/init.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/gemm_nt.hpp"
#include "../kernels/lane_tensor.hpp"
#include "../core/parameters.hpp"
#include "../core/tensor.hpp"
#include "torch_layout.hpp"

namespace cnnlstm {

template <class T>
class Linear : public TorchLayout<Linear<T>, T, 2, 2> {
 public:
  Linear(ParameterLayout& layout, std::string name, Index in_features, Index out_features)
      : name_(std::move(name)),
        in_(in_features),
        out_(out_features),
        weight_(layout.add(name_ + ".weight", {out_features, in_features})),
        bias_(layout.add(name_ + ".bias", {out_features})) {}

  const std::string& name() const { return name_; }
  Index in_features() const { return in_; }
  Index out_features() const { return out_; }

  // PyTorch's default: weight and bias U(-1/sqrt(in), 1/sqrt(in)).
  void initialize(Parameters<T>& p, Rng& rng) const {
    fill_uniform(p, weight_, default_init_bound(in_), rng);
    fill_uniform(p, bias_, default_init_bound(in_), rng);
  }
  // The paper's recipe: Xavier-uniform weight, constant bias.
  void initialize_xavier(Parameters<T>& p, Rng& rng, T bias) const {
    fill_uniform(p, weight_, xavier_bound(in_, out_), rng);
    fill_constant(p, bias_, bias);
  }

  // x (N, in) -> y (N, out); in lanes x (in, Np) -> y (out, Np) = W x + b. Training keeps a
  // copy of x for backward.
  kernels::LaneTensor<T, 2> forward_lanes(const Parameters<T>& p, const kernels::LaneTensor<T, 2>& x,
                                          const Context& ctx) {
    if (x.shape[1] != in_)
      throw ShapeError("Linear '" + name_ + "': expected input (N, " + std::to_string(in_) + "), got " +
                       shape_string(x.shape));
    const auto y = y_lanes_.resize(out_, x.lanes.cols);
    kernels::gemm(weight_operand_(weight(p), y.cols), x.lanes, y, p.value(bias_));
    input_shape_ = x.shape;
    cached_ = ctx.training();
    if (cached_) kernels::copy_lanes(x.lanes, x_cache_);
    return {y, {x.samples(), out_}};
  }

  // dy (N, out) -> dx (N, in); in lanes dy (out, Np) -> dx (in, Np):
  //   dW += dy x^T,  db += dy 1,  dx = W^T dy
  kernels::LaneTensor<T, 2> backward_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 2>& dy) {
    check_gradient_shape(dy.shape);
    kernels::gemm_nt<T>({dy.lanes}, {x_cache_.view()}, p.grad(weight_), in_);
    kernels::row_sums<T>({dy.lanes}, p.grad(bias_));
    const auto dx = dx_lanes_.resize(in_, dy.lanes.cols);
    kernels::gemm(weight(p).transposed(), dy.lanes, dx);
    return {dx, input_shape_};
  }

 private:
  kernels::MatrixRef<T> weight(const Parameters<T>& p) const {
    return kernels::MatrixRef<T>::row_major(p.value(weight_), out_, in_);
  }

  void check_gradient_shape(const Shape<2>& got) const {
    if (!cached_) throw UsageError("Linear '" + name_ + "': backward needs a training-mode forward");
    if (got != Shape<2>{input_shape_[0], out_})
      throw ShapeError("Linear '" + name_ + "' backward: expected input " +
                       shape_string(Shape<2>{input_shape_[0], out_}) + ", got " + shape_string(got));
  }

  std::string name_;
  Index in_, out_;
  ParamSlot weight_, bias_;
  bool cached_ = false;
  Shape<2> input_shape_{};                      // (N, in) of the last forward
  kernels::LaneBuffer<T> x_cache_;              // (in, Np) the last training input, for backward
  kernels::WeightOperand<T> weight_operand_;    // W^T for one-sample batches
  kernels::LaneBuffer<T> y_lanes_, dx_lanes_;   // (out, Np), (in, Np)
};

}  // namespace cnnlstm
