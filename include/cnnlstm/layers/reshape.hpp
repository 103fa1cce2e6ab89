#pragma once
// The plumbing between the model's layers; none has parameters.
//   Flatten       (N, C, H, W) -> (N, C*H*W)      PyTorch's x.view(N, -1)
//   LastTimeStep  (N, T, H)    -> (N, H)          PyTorch's out[:, -1, :]
//   Concat        (N, A), (N, B), ... -> (N, A + B + ...)   PyTorch's torch.cat([a, b], dim=1)
// Flatten and LastTimeStep get forward/backward in PyTorch's layout from TorchLayout
// (torch_layout.hpp) over their lane pair; Concat, with K inputs, has its own.

#include <algorithm>
#include <array>

#include "../core/context.hpp"
#include "../kernels/lane_tensor.hpp"
#include "../core/tensor.hpp"
#include "torch_layout.hpp"

namespace cnnlstm {

template <class T>
class Flatten : public TorchLayout<Flatten<T>, T, 4, 2> {
 public:
  // x (N, C, H, W) -> (N, C*H*W); in lanes x (C, H*W*Np) -> (C*H*W, Np), the same memory when
  // the channel rows are contiguous (always, but for one sample whose H*W is not a whole number
  // of vectors).
  kernels::LaneTensor<T, 2> forward_lanes(const kernels::LaneTensor<T, 4>& x, const Context&) {
    input_shape_ = x.shape;
    const Index np = x.stride(), positions = x.lanes.cols / std::max<Index>(np, 1);
    const Shape<2> shape{x.shape[0], x.lanes.rows * positions};
    if (x.lanes.contiguous()) return {{x.lanes.data, shape[1], np, np}, shape};
    const kernels::LaneSpan<T> y = y_lanes_.resize(shape[1], np);
    for (Index c = 0; c < x.lanes.rows; ++c)
      std::copy_n(x.lanes.row(c), x.lanes.cols, y.data + c * x.lanes.cols);
    return {y, shape};
  }

  // dy (N, C*H*W) -> dx (N, C, H, W); in lanes dy (C*H*W, Np) -> (C, H*W*Np)
  kernels::LaneTensor<T, 4> backward_lanes(const kernels::LaneTensor<T, 2>& dy) {
    if (dy.shape[0] != input_shape_[0] || dy.shape[0] * dy.shape[1] != element_count(input_shape_))
      throw flatten_error(dy.shape);
    const Index channels = input_shape_[1], cols = dy.lanes.rows / channels * dy.lanes.cols;
    if (kernels::padded_cols<T>(cols) == cols) return {{dy.lanes.data, channels, cols, cols}, input_shape_};
    const kernels::LaneSpan<T> dx = dx_lanes_.resize(channels, cols);
    for (Index c = 0; c < channels; ++c) std::copy_n(dy.lanes.data + c * cols, cols, dx.row(c));
    return {dx, input_shape_};
  }

 private:
  ShapeError flatten_error(const Shape<2>& got) const {
    return ShapeError("Flatten backward: expected input " + shape_string(input_shape_) + " flattened, got " +
                      shape_string(got));
  }

  Shape<4> input_shape_{};
  kernels::LaneBuffer<T> y_lanes_, dx_lanes_;  // used only for one sample with padded rows
};

template <class T>
class LastTimeStep : public TorchLayout<LastTimeStep<T>, T, 3, 2> {
 public:
  // x (N, T, H) -> y (N, H); in lanes x (T*H, Np) -> the rows of the last step (H, Np), the same
  // memory
  kernels::LaneTensor<T, 2> forward_lanes(const kernels::LaneTensor<T, 3>& x, const Context&) {
    require_shape(x.shape[1] > 0, "LastTimeStep", "(N, T, H) with T >= 1", x.shape);
    input_shape_ = x.shape;
    const Index steps = x.shape[1], h = x.shape[2];
    return {x.lanes.rows_from((steps - 1) * h, h), {x.shape[0], h}};
  }

  // dy (N, H) -> dx (N, T, H), zero except at the last step; in lanes dy (H, Np) -> dx (T*H, Np)
  kernels::LaneTensor<T, 3> backward_lanes(const kernels::LaneTensor<T, 2>& dy) {
    const Index n = input_shape_[0], steps = input_shape_[1], h = input_shape_[2];
    if (dy.shape != Shape<2>{n, h}) throw gradient_error(dy.shape);
    const kernels::LaneSpan<T> dx = dx_lanes_.resize(steps * h, dy.lanes.cols);
    std::fill_n(dx.data, (steps - 1) * h * dx.ld, T(0));
    for (Index j = 0; j < h; ++j) std::copy_n(dy.lanes.row(j), dy.lanes.cols, dx.row((steps - 1) * h + j));
    return {dx, input_shape_};
  }

 private:
  ShapeError gradient_error(const Shape<2>& got) const {
    const Shape<2> expected{input_shape_[0], input_shape_[2]};
    return ShapeError("LastTimeStep backward: expected input " + shape_string(expected) + ", got " +
                      shape_string(got));
  }

  Shape<3> input_shape_{};
  kernels::LaneBuffer<T> dx_lanes_;
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
      if (parts[k].dimension(0) != n) throw part_error(k, n, parts[k].shape());
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
    if (dy.dimension(1) != total)
      throw ShapeError("Concat backward: expected input (N, " + std::to_string(total) + "), got " +
                       shape_string(dy.shape()));
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

  using LaneParts = std::array<kernels::LaneTensor<T, 2>, K>;

  // Lane layout: parts[k] (F_k, Np) -> y (sum F_k, Np), the parts' rows one after another
  kernels::LaneTensor<T, 2> forward_lanes(const LaneParts& parts, const Context&) {
    const Index n = parts[0].samples();
    Index total = 0;
    for (std::size_t k = 0; k < K; ++k) {
      if (parts[k].samples() != n) throw part_error(k, n, parts[k].shape);
      widths_[k] = parts[k].shape[1];
      total += widths_[k];
    }
    const kernels::LaneSpan<T> y = y_lanes_.resize(total, parts[0].lanes.cols);
    Index row = 0;
    for (const auto& part : parts)
      for (Index r = 0; r < part.lanes.rows; ++r, ++row) std::copy_n(part.lanes.row(r), y.cols, y.row(row));
    return {y, {n, total}};
  }

  // Lane layout: dy (sum F_k, Np) -> dparts[k], views of its rows
  LaneParts backward_lanes(const kernels::LaneTensor<T, 2>& dy) const {
    LaneParts parts;
    Index row = 0;
    for (std::size_t k = 0; k < K; ++k) {
      parts[k] = {dy.lanes.rows_from(row, widths_[k]), {dy.shape[0], widths_[k]}};
      row += widths_[k];
    }
    return parts;
  }

 private:
  static ShapeError part_error(std::size_t k, Index n, const Shape<2>& got) {
    return ShapeError("Concat: expected input part " + std::to_string(k) + " with " + std::to_string(n) +
                      " rows, got " + shape_string(got));
  }

  std::array<Index, K> widths_{};
  std::array<TensorBuffer<T, 2>, K> grads_;
  TensorBuffer<T, 2> y_;
  kernels::LaneBuffer<T> y_lanes_;
};

}  // namespace cnnlstm
