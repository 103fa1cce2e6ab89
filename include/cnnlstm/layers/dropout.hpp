#pragma once
// Inverted dropout, PyTorch's nn.Dropout: in training each element is kept with probability
// 1 - p and scaled by 1 / (1 - p), else zeroed; in evaluation it is the identity.
// The mask comes from the training context's generator, so a seed fixes it. It runs in the lane
// layout; forward/backward in PyTorch's layout come from TorchLayout (torch_layout.hpp).
// The mask functions below are also the LSTM's, between its layers.

#include <algorithm>
#include <string>

#include "../core/context.hpp"
#include "../core/tensor.hpp"
#include "../kernels/lane_tensor.hpp"
#include "torch_layout.hpp"

namespace cnnlstm {

// mask (rows, positions*Np), the lane layout of a tensor of `samples` samples: each element 0 with
// probability p, else 1 / (1 - p); the padding lanes 0. Drawn in the order (block, sample, row of
// the block, position) for blocks of block_rows rows: with one block of all rows that is the
// row-major order of PyTorch's (N, ...), with time steps of H rows the LSTM's (T, N, H).
template <class T>
void draw_dropout_mask(const kernels::LaneSpan<T>& mask, Index samples, Index positions, Index block_rows,
                       double p, Rng& rng) {
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  const Index np = mask.cols / std::max<Index>(positions, 1);
  std::fill_n(mask.data, mask.rows * mask.ld, T(0));
  for (Index first = 0; first < mask.rows; first += block_rows)
    for (Index n = 0; n < samples; ++n)
      for (Index r = first; r < std::min(first + block_rows, mask.rows); ++r)
        for (Index q = 0; q < positions; ++q) mask.row(r)[q * np + n] = rng.bernoulli(p) ? T(0) : keep_scale;
}

// out = x * mask elementwise, all (rows, cols); out may be x.
template <class T>
void apply_dropout_mask(const kernels::LaneView<T>& x, const kernels::LaneView<T>& mask,
                        const kernels::LaneSpan<T>& out) {
  const auto multiply = [&](Index at, Index x_at, Index mask_at, auto count) {
    const auto masked = kernels::load_lanes(x.data + x_at, count) * kernels::load_lanes(mask.data + mask_at, count);
    kernels::store_lanes(out.data + at, masked, count);
  };
  if (x.ld == out.ld && mask.ld == out.ld) {
    kernels::for_each_piece<T>(out.rows, out.cols, out.ld,
                               [&](Index at, auto count) { multiply(at, at, at, count); });
    return;
  }
  for (Index r = 0; r < out.rows; ++r)
    kernels::for_each_vector<T>(out.cols, [&](Index i, auto count) {
      multiply(r * out.ld + i, r * x.ld + i, r * mask.ld + i, count);
    });
}

template <class T, int Rank>
class Dropout : public TorchLayout<Dropout<T, Rank>, T, Rank, Rank> {
 public:
  explicit Dropout(double p) : p_(p) {
    if (!(p >= 0.0 && p < 1.0))
      throw ConfigError("Dropout: probability must be in [0, 1), got " + std::to_string(p));
  }

  double probability() const { return p_; }

  // x -> y = x * mask (training) or x (evaluation), in lanes; the mask in PyTorch's order
  kernels::LaneTensor<T, Rank> forward_lanes(const kernels::LaneTensor<T, Rank>& x, const Context& ctx) {
    shape_ = x.shape;
    cached_ = ctx.training();
    dropping_ = ctx.training() && p_ > 0.0;
    if (!dropping_) return x;
    const kernels::LaneSpan<T> mask = mask_.resize(x.lanes.rows, x.lanes.cols);
    draw_dropout_mask(mask, x.samples(), kernels::lane_positions(x.shape), mask.rows, p_, ctx.rng());
    const kernels::LaneSpan<T> y = y_lanes_.resize(x.lanes.rows, x.lanes.cols);
    apply_dropout_mask<T>(x.lanes, mask_.view(), y);
    return {y, shape_};
  }

  // dy -> dx = dy * mask, in lanes
  kernels::LaneTensor<T, Rank> backward_lanes(const kernels::LaneTensor<T, Rank>& dy) {
    if (!cached_) throw UsageError("Dropout: backward needs a training-mode forward");
    if (dy.shape != shape_)
      throw ShapeError("Dropout backward: expected input " + shape_string(shape_) + ", got " +
                       shape_string(dy.shape));
    if (!dropping_) return dy;
    const kernels::LaneSpan<T> dx = dx_lanes_.resize(dy.lanes.rows, dy.lanes.cols);
    apply_dropout_mask<T>(dy.lanes, mask_.view(), dx);
    return {dx, shape_};
  }

 private:
  double p_;
  bool dropping_ = false, cached_ = false;
  Shape<Rank> shape_{};
  kernels::LaneBuffer<T> mask_;  // like x: 0 or 1 / (1 - p), the padding lanes 0
  kernels::LaneBuffer<T> y_lanes_, dx_lanes_;
};

}  // namespace cnnlstm
