#pragma once
// Inverted dropout, PyTorch's nn.Dropout: in training each element is kept with probability
// 1 - p and scaled by 1 / (1 - p), else zeroed; in evaluation it is the identity.
// The mask comes from the training context's generator, so a seed fixes it.

#include <string>

#include "../core/context.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

// mask[i] = 0 with probability p, else 1 / (1 - p).
template <class T>
void draw_dropout_mask(T* mask, Index n, double p, Rng& rng) {
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  for (Index i = 0; i < n; ++i) mask[i] = rng.bernoulli(p) ? T(0) : keep_scale;
}

template <class T, int Rank>
class Dropout {
 public:
  explicit Dropout(double p) : p_(p) {
    if (!(p >= 0.0 && p < 1.0))
      throw ConfigError("Dropout: probability must be in [0, 1), got " + std::to_string(p));
  }

  double probability() const { return p_; }

  // x -> y = x * mask (training) or x (evaluation)
  TensorRef<T, Rank> forward(TensorRef<T, Rank> x, const Context& ctx) {
    y_.resize(x.shape());
    training_ = ctx.training() && p_ > 0.0;
    if (training_) {
      mask_.resize(x.shape());
      draw_dropout_mask(mask_.data(), x.size(), p_, ctx.rng());
      y_.matrix(1, x.size()).array() = x.matrix(1, x.size()).array() * mask_.matrix(1, x.size()).array();
    } else {
      std::copy_n(x.data(), x.size(), y_.data());
    }
    cached_ = ctx.training();
    return y_;
  }

  // dy -> dx = dy * mask
  TensorRef<T, Rank> backward(TensorRef<T, Rank> dy) {
    if (!cached_) throw UsageError("Dropout: backward needs a training-mode forward");
    if (dy.shape() != y_.shape())
      throw ShapeError("Dropout backward: expected input " + shape_string(y_.shape()) + ", got " +
                       shape_string(dy.shape()));
    dx_.resize(dy.shape());
    if (training_)
      dx_.matrix(1, dy.size()).array() = dy.matrix(1, dy.size()).array() * mask_.matrix(1, dy.size()).array();
    else
      std::copy_n(dy.data(), dy.size(), dx_.data());
    return dx_;
  }

 private:
  double p_;
  bool training_ = false, cached_ = false;
  TensorBuffer<T, Rank> mask_;  // same shape as x: 0 or 1 / (1 - p)
  TensorBuffer<T, Rank> y_, dx_;
};

}  // namespace cnnlstm
