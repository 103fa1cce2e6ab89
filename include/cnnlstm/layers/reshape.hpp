#pragma once
// The plumbing between the model's layers; none has parameters.
//   Flatten       (N, C, H, W) -> (N, C*H*W)      PyTorch's x.view(N, -1)
//   LastTimeStep  (N, T, H)    -> (N, H)          PyTorch's out[:, -1, :]
//   Concat        (N, A), (N, B), ... -> (N, A + B + ...)   PyTorch's torch.cat([a, b], dim=1)

#include <array>

#include "../context.hpp"
#include "../tensor.hpp"

namespace cnnlstm {

template <class T>
class Flatten {
 public:
  TensorRef<T, 2> forward(TensorRef<T, 4> x, const Context&) {
    input_shape_ = x.shape();
    return TensorRef<T, 2>(x.data(), {x.dimension(0), x.size() / std::max<Index>(x.dimension(0), 1)});
  }
  // A view of dy with the input's shape: flattening moves no data.
  TensorRef<T, 4> backward(TensorRef<T, 2> dy) const {
    require_shape(dy.size() == element_count(input_shape_), "Flatten backward",
                  shape_string(input_shape_) + " flattened", dy.shape());
    return TensorRef<T, 4>(dy.data(), input_shape_);
  }

 private:
  Shape<4> input_shape_{};
};

template <class T>
class LastTimeStep {
 public:
  TensorRef<T, 2> forward(TensorRef<T, 3> x, const Context&) {
    require_shape(x.dimension(1) > 0, "LastTimeStep", "(N, T, H) with T >= 1", x.shape());
    input_shape_ = x.shape();
    const Index n = x.dimension(0), steps = x.dimension(1), h = x.dimension(2);
    y_.resize({n, h});
    for (Index i = 0; i < n; ++i)
      std::copy_n(x.data() + (i * steps + steps - 1) * h, h, y_.data() + i * h);
    return y_;
  }
  // dy (N, H) -> dx (N, T, H), zero except at the last step
  TensorRef<T, 3> backward(TensorRef<T, 2> dy) {
    const Index n = input_shape_[0], steps = input_shape_[1], h = input_shape_[2];
    require_shape(dy.shape() == Shape<2>{n, h}, "LastTimeStep backward",
                  shape_string(Shape<2>{n, h}), dy.shape());
    dx_.resize(input_shape_);
    dx_.set_zero();
    for (Index i = 0; i < n; ++i)
      std::copy_n(dy.data() + i * h, h, dx_.data() + (i * steps + steps - 1) * h);
    return dx_;
  }

 private:
  Shape<3> input_shape_{};
  TensorBuffer<T, 2> y_;
  TensorBuffer<T, 3> dx_;
};

// Joins K feature matrices side by side, in order.
template <class T, std::size_t K>
class Concat {
 public:
  using Parts = std::array<TensorRef<T, 2>, K>;

  // parts[k] (N, F_k) -> y (N, sum F_k)
  TensorRef<T, 2> forward(const Parts& parts, const Context&) {
    const Index n = parts[0].dimension(0);
    Index total = 0;
    for (std::size_t k = 0; k < K; ++k) {
      require_shape(parts[k].dimension(0) == n, "Concat",
                    "part " + std::to_string(k) + " with " + std::to_string(n) + " rows",
                    parts[k].shape());
      widths_[k] = parts[k].dimension(1);
      total += widths_[k];
    }
    y_.resize({n, total});
    auto y = y_.matrix(n, total);
    Index offset = 0;
    for (std::size_t k = 0; k < K; ++k) {
      y.middleCols(offset, widths_[k]) = parts[k].matrix(n, widths_[k]);
      offset += widths_[k];
    }
    return y_;
  }

  // dy (N, sum F_k) -> dparts[k] (N, F_k)
  Parts backward(TensorRef<T, 2> dy) {
    Index total = 0;
    for (Index w : widths_) total += w;
    require_shape(dy.dimension(1) == total, "Concat backward",
                  "(N, " + std::to_string(total) + ")", dy.shape());
    const Index n = dy.dimension(0);
    const auto g = dy.matrix(n, total);
    Parts parts;
    Index offset = 0;
    for (std::size_t k = 0; k < K; ++k) {
      grads_[k].resize({n, widths_[k]});
      grads_[k].matrix(n, widths_[k]) = g.middleCols(offset, widths_[k]);
      parts[k] = grads_[k];
      offset += widths_[k];
    }
    return parts;
  }

 private:
  std::array<Index, K> widths_{};
  std::array<TensorBuffer<T, 2>, K> grads_;
  TensorBuffer<T, 2> y_;
};

}  // namespace cnnlstm
