#pragma once
// Stochastic gradient descent with momentum, PyTorch's torch.optim.SGD:
//   g = grad + weight_decay * p
//   b = g on the first step, else momentum * b + (1 - dampening) * g
//   g = g + momentum * b (Nesterov) or b (classic)      (no momentum: g as is)
//   p = p - lr * g

#include <string>

#include "../core/errors.hpp"
#include "../core/parameters.hpp"

namespace cnnlstm {

struct SgdOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

template <class T>
class SGD {
 public:
  SGD(Index parameter_count, SgdOptions options)
      : options_(options), buffer_(static_cast<std::size_t>(parameter_count), T(0)) {
    if (!(options_.lr > 0.0)) throw ConfigError("SGD: lr must be positive, got " + std::to_string(options_.lr));
    if (options_.momentum < 0.0 || options_.weight_decay < 0.0)
      throw ConfigError("SGD: momentum and weight_decay must be non-negative");
    if (options_.nesterov && (options_.momentum <= 0.0 || options_.dampening != 0.0))
      throw ConfigError("SGD: Nesterov momentum needs momentum > 0 and dampening 0");
  }

  void step(Parameters<T>& params) {
    if (params.size() != static_cast<Index>(buffer_.size()))
      throw ShapeError("SGD: built for " + std::to_string(buffer_.size()) + " parameters, given " +
                       std::to_string(params.size()));
    const T lr = static_cast<T>(options_.lr), mu = static_cast<T>(options_.momentum);
    const T decay = static_cast<T>(options_.weight_decay);
    const T keep = static_cast<T>(1.0 - options_.dampening);
    T* p = params.values().data();
    const T* grad = params.grads().data();
    T* b = buffer_.data();
    for (Index i = 0; i < params.size(); ++i) {
      T g = grad[i] + decay * p[i];
      if (options_.momentum != 0.0) {
        b[i] = first_step_ ? g : mu * b[i] + keep * g;
        g = options_.nesterov ? g + mu * b[i] : b[i];
      }
      p[i] -= lr * g;
    }
    first_step_ = false;
  }

 private:
  SgdOptions options_;
  typename Parameters<T>::Buffer buffer_;  // momentum buffer, one value per parameter
  bool first_step_ = true;
};

}  // namespace cnnlstm
