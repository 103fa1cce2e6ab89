#pragma once
// The plumbing between the model's layers; none has parameters.
//   Flatten       (N, C, H, W) -> (N, C*H*W)      PyTorch's x.view(N, -1)
//   LastTimeStep  (N, T, H)    -> (N, H)          PyTorch's out[:, -1, :]
//   Concat        (N, A), (N, B) -> (N, A + B)    PyTorch's torch.cat([a, b], dim=1)

#include <utility>

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

template <class T>
class Concat {
 public:
  TensorRef<T, 2> forward(TensorRef<T, 2> a, TensorRef<T, 2> b, const Context&) {
    require_shape(a.dimension(0) == b.dimension(0), "Concat",
                  "a second input with " + std::to_string(a.dimension(0)) + " rows", b.shape());
    const Index n = a.dimension(0);
    width_a_ = a.dimension(1);
    width_b_ = b.dimension(1);
    y_.resize({n, width_a_ + width_b_});
    auto y = y_.matrix(n, width_a_ + width_b_);
    y.leftCols(width_a_) = a.matrix(n, width_a_);
    y.rightCols(width_b_) = b.matrix(n, width_b_);
    return y_;
  }
  // dy (N, A + B) -> (da (N, A), db (N, B))
  std::pair<TensorRef<T, 2>, TensorRef<T, 2>> backward(TensorRef<T, 2> dy) {
    require_shape(dy.dimension(1) == width_a_ + width_b_, "Concat backward",
                  "(N, " + std::to_string(width_a_ + width_b_) + ")", dy.shape());
    const Index n = dy.dimension(0);
    da_.resize({n, width_a_});
    db_.resize({n, width_b_});
    const auto g = dy.matrix(n, width_a_ + width_b_);
    da_.matrix(n, width_a_) = g.leftCols(width_a_);
    db_.matrix(n, width_b_) = g.rightCols(width_b_);
    return {da_, db_};
  }

 private:
  Index width_a_ = 0, width_b_ = 0;
  TensorBuffer<T, 2> y_, da_, db_;
};

}  // namespace cnnlstm
