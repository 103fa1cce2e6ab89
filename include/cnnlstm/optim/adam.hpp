#pragma once
// Adam and AdamW with PyTorch's exact update (torch.optim.Adam / AdamW, amsgrad off), one loop
// over the flat parameter buffer. Per element, with t the number of optimizer steps taken so far
// (starting at 1):
//   Adam (L2):  g = grad + weight_decay * p
//   AdamW:      p = p * (1 - lr * weight_decay);  g = grad
//   m = b1 m + (1 - b1) g          v = b2 v + (1 - b2) g^2
//   p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// eps is added outside the square root, after the bias correction of v. The loop runs a vector
// of parameters at a time.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../kernels/simd.hpp"
#include "../core/parameters.hpp"

namespace cnnlstm {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // true: AdamW
};

inline void validate(const AdamOptions& o) {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw ConfigError("Adam: " + what);
  };
  require(o.lr > 0.0 && std::isfinite(o.lr), "lr must be a positive number, got " + std::to_string(o.lr));
  require(o.beta1 >= 0.0 && o.beta1 < 1.0, "beta1 must be in [0, 1), got " + std::to_string(o.beta1));
  require(o.beta2 >= 0.0 && o.beta2 < 1.0, "beta2 must be in [0, 1), got " + std::to_string(o.beta2));
  require(o.eps > 0.0, "eps must be positive, got " + std::to_string(o.eps));
  require(o.weight_decay >= 0.0,
          "weight_decay must be non-negative, got " + std::to_string(o.weight_decay));
}

template <class T>
class Adam {
 public:
  using Buffer = typename Parameters<T>::Buffer;

  Adam(Index parameter_count, AdamOptions options)
      : options_(options),
        m_(static_cast<std::size_t>(parameter_count), T(0)),
        v_(static_cast<std::size_t>(parameter_count), T(0)) {
    validate(options_);
  }

  const AdamOptions& options() const { return options_; }

  void step(Parameters<T>& params) {
    if (params.size() != static_cast<Index>(m_.size()))
      throw ShapeError("Adam: built for " + std::to_string(m_.size()) + " parameters, given " +
                       std::to_string(params.size()));
    ++step_;
    if (options_.decoupled_weight_decay)
      update<true>(params);
    else
      update<false>(params);
  }

  // State for checkpoints: the moments and the step count.
  std::int64_t steps_taken() const { return step_; }
  const Buffer& first_moment() const { return m_; }
  const Buffer& second_moment() const { return v_; }
  void restore(std::int64_t steps, const Buffer& m, const Buffer& v) {
    if (m.size() != m_.size() || v.size() != v_.size() || steps < 0)
      throw ShapeError("Adam: the saved state does not fit this model's " +
                       std::to_string(m_.size()) + " parameters");
    step_ = steps;
    m_ = m;
    v_ = v;
  }

 private:
  using V = kernels::Lanes<T>;

  // One vectorised pass over the flat buffers (the update of the header comment, per element).
  template <bool Decoupled>
  void update(Parameters<T>& params) {
    const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
    const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
    const V step_size(static_cast<T>(options_.lr / bias1));
    const V bias2_sqrt(static_cast<T>(std::sqrt(bias2)));
    const V b1(static_cast<T>(options_.beta1)), b2(static_cast<T>(options_.beta2));
    const V one_minus_b1(static_cast<T>(1.0 - options_.beta1));
    const V one_minus_b2(static_cast<T>(1.0 - options_.beta2));
    const V eps(static_cast<T>(options_.eps));
    const V decay(static_cast<T>(options_.weight_decay));
    const V shrink(static_cast<T>(1.0 - options_.lr * options_.weight_decay));
    T* p = params.values().data();
    const T* grad = params.grads().data();
    T* m = m_.data();
    T* v = v_.data();
    kernels::for_each_vector<T>(params.size(), [&](Index i, auto n) {
      V w = kernels::load_n(p + i, n), g = kernels::load_n(grad + i, n);
      if constexpr (Decoupled)
        w *= shrink;
      else
        g = xsimd::fma(decay, w, g);
      const V m_new = xsimd::fma(b1, kernels::load_n(m + i, n), one_minus_b1 * g);
      const V v_new = xsimd::fma(b2, kernels::load_n(v + i, n), one_minus_b2 * g * g);
      w -= step_size * m_new / (xsimd::sqrt(v_new) / bias2_sqrt + eps);
      kernels::store_n(m + i, m_new, n);
      kernels::store_n(v + i, v_new, n);
      kernels::store_n(p + i, w, n);
    });
  }

  AdamOptions options_;
  Buffer m_, v_;
  std::int64_t step_ = 0;
};

}  // namespace cnnlstm
