#pragma once
// Linear (fully connected) layer, PyTorch's nn.Linear: y = x W^T + b.
//   x (N, in)  ->  y (N, out);   weight (out, in), bias (out)

#include <string>

#include "../context.hpp"
#include "../init.hpp"
#include "../parameters.hpp"
#include "../tensor.hpp"

namespace cnnlstm {

template <class T>
class Linear {
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

  // x (N, in) -> y (N, out)
  TensorRef<T, 2> forward(const Parameters<T>& p, TensorRef<T, 2> x, const Context& ctx) {
    require_shape(x.dimension(1) == in_, "Linear '" + name_ + "'",
                  "(N, " + std::to_string(in_) + ")", x.shape());
    const Index n = x.dimension(0);
    y_.resize({n, out_});
    auto y = y_.matrix(n, out_);
    y.noalias() = x.matrix(n, in_) * p.matrix(weight_, out_, in_).transpose();
    y.rowwise() += p.vector(bias_);
    if (ctx.training()) {
      x_.resize(x.shape());
      std::copy_n(x.data(), x.size(), x_.data());
    }
    cached_ = ctx.training();
    return y_;
  }

  // dy (N, out) -> dx (N, in);  dW += dy^T x,  db += sum_n dy,  dx = dy W
  TensorRef<T, 2> backward(Parameters<T>& p, TensorRef<T, 2> dy) {
    if (!cached_) throw UsageError("Linear '" + name_ + "': backward needs a training-mode forward");
    const Index n = x_.dimension(0);
    require_shape(dy.dimension(0) == n && dy.dimension(1) == out_,
                  "Linear '" + name_ + "' backward", shape_string(y_.shape()), dy.shape());
    const auto g = dy.matrix(n, out_);
    p.grad_matrix(weight_, out_, in_).noalias() += g.transpose() * x_.matrix(n, in_);
    p.grad_vector(bias_) += g.colwise().sum();
    dx_.resize({n, in_});
    dx_.matrix(n, in_).noalias() = g * p.matrix(weight_, out_, in_);
    return dx_;
  }

 private:
  std::string name_;
  Index in_, out_;
  ParamSlot weight_, bias_;
  bool cached_ = false;
  TensorBuffer<T, 2> x_;   // (N, in) input cached for backward
  TensorBuffer<T, 2> y_;   // (N, out)
  TensorBuffer<T, 2> dx_;  // (N, in)
};

}  // namespace cnnlstm
