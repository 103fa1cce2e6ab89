#pragma once
// 2-D convolution, PyTorch's nn.Conv2d with a square kernel, zero padding, no dilation or groups.
//   x (N, C, H, W)  ->  y (N, O, Ho, Wo),   Ho = floor((H + 2p - k) / s) + 1 (Wo likewise)
//   weight (O, C, k, k), bias (O)
//
// The whole batch is unfolded (im2col, kernels/im2col.hpp) in the lane layout: column
// (oh * Wo + ow) * Np + n of cols holds the C*k*k input values of sample n under the kernel at
// output position (oh, ow), zero where the kernel overhangs the padding; the convolution is then
// one GEMM with positions x samples along the vector lanes:
//   cols (C*k*k, Ho*Wo*Np),   y (O, Ho*Wo*Np) = W (O, C*k*k) cols + b 1^T
// Row r = (c * k + i) * k + j of cols matches column r of W seen as (O, C*k*k), which is the
// row-major order of PyTorch's (O, C, k, k) weight, so its values load unchanged.
// forward/backward in PyTorch's layout come from TorchLayout (torch_layout.hpp).

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "../core/context.hpp"
#include "../core/init.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/gemm_nt.hpp"
#include "../kernels/im2col.hpp"
#include "../kernels/lane_tensor.hpp"
#include "../core/parameters.hpp"
#include "../core/tensor.hpp"
#include "torch_layout.hpp"

namespace cnnlstm {

struct Conv2dOptions {
  Index in_channels, out_channels, kernel, stride = 1, padding = 0;
};

template <class T>
class Conv2d : public TorchLayout<Conv2d<T>, T, 4, 4> {
 public:
  Conv2d(ParameterLayout& layout, std::string name, Conv2dOptions options)
      : name_(std::move(name)),
        label_("Conv2d '" + name_ + "'"),
        options_(validated(label_, options)),
        expected_input_("(N, " + std::to_string(options_.in_channels) + ", H, W)"),
        weight_(layout.add(name_ + ".weight", {options_.out_channels, options_.in_channels,
                                               options_.kernel, options_.kernel})),
        bias_(layout.add(name_ + ".bias", {options_.out_channels})) {}

  const std::string& name() const { return name_; }
  const Conv2dOptions& options() const { return options_; }

  // (Ho, Wo) for an input of (height, width); throws if the kernel does not fit once.
  Shape<2> output_size(Index height, Index width) const {
    const Index span = options_.kernel, s = options_.stride, pad = options_.padding;
    const Index excess_h = height + 2 * pad - span, excess_w = width + 2 * pad - span;
    if (excess_h < 0 || excess_w < 0)
      throw ShapeError(label_ + ": input " + std::to_string(height) + "x" + std::to_string(width) +
                       " is smaller than kernel " + std::to_string(span) + " with padding " +
                       std::to_string(pad));
    return {excess_h / s + 1, excess_w / s + 1};
  }

  // PyTorch's default: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C*k*k.
  void initialize(Parameters<T>& p, Rng& rng) const {
    const double bound = default_init_bound(patch_size());
    fill_uniform(p, weight_, bound, rng);
    fill_uniform(p, bias_, bound, rng);
  }

  // x (N, C, H, W) -> y (N, O, Ho, Wo); in lanes x (C, H*W*Np) -> cols (C*k*k, Ho*Wo*Np) -> y (O, Ho*Wo*Np) = W cols + b 1^T.
  // Training keeps cols for backward; evaluation of several samples reads them from x directly.
  kernels::LaneTensor<T, 4> forward_lanes(const Parameters<T>& p, const kernels::LaneTensor<T, 4>& x,
                                          const Context& ctx) {
    if (x.shape[1] != options_.in_channels)
      throw ShapeError(label_ + ": expected input " + expected_input_ + ", got " + shape_string(x.shape));
    const auto [ho, wo] = output_size(x.shape[2], x.shape[3]);
    input_shape_ = x.shape;
    output_shape_ = {x.shape[0], options_.out_channels, ho, wo};
    cached_ = ctx.training();
    const kernels::LaneSpan<T> y = kernels::resize_lanes(y_lanes_, output_shape_);
    if (!cached_ && x.stride() > 1)
      product_from_image(p, x, y);
    else
      product_through_cols(p, x, y);
    return {y, output_shape_};
  }

  // dy (N, O, Ho, Wo) -> dx (N, C, H, W), accumulating dW and db; in lanes
  // dy (O, Ho*Wo*Np) -> dx (C, H*W*Np):
  //   dW += dy cols^T,  db += dy 1,  dcols = W^T dy,  dx = col2im(dcols)
  kernels::LaneTensor<T, 4> backward_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 4>& dy) {
    backward_parameters_lanes(p, dy);
    const kernels::ConvGeometry g = geometry();
    // dcols[r, l] = sum_o W[o, r] dy[o, l]; each cols entry is a copy of one input pixel (or of
    // the padding, whose gradient is dropped), so col2im adds it back onto that pixel.
    const kernels::LaneSpan<T> dcols = dcols_.resize(g.taps(), dy.lanes.cols);
    kernels::gemm(weight(p).transposed(), dy.lanes, dcols);
    const kernels::LaneSpan<T> dx = kernels::resize_lanes(dx_lanes_, input_shape_);
    for (Index c = 0; c < dx.rows; ++c) std::fill_n(dx.row(c), dx.cols, T(0));
    kernels::col2im(g, dy.stride(), dcols, dx);
    return {dx, input_shape_};
  }

  // Only dW += dy cols^T and db += dy 1, for a first layer, whose input needs no gradient.
  void backward_parameters_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 4>& dy) {
    if (!cached_) throw UsageError(label_ + ": backward needs a training-mode forward");
    if (dy.shape != output_shape_)
      throw ShapeError(label_ + " backward: expected gradient " + shape_string(output_shape_) +
                       ", got " + shape_string(dy.shape));
    // y[o, l] = sum_r W[o, r] cols[r, l] + b[o]  =>  dW[o, r] = sum_l dy[o, l] cols[r, l]
    kernels::gemm_nt<T>({dy.lanes}, {cols_.view()}, p.grad(weight_), geometry().taps());
    // db[o] = sum_l dy[o, l]: every output position of channel o adds b[o] once
    kernels::row_sums<T>({dy.lanes}, p.grad(bias_));
  }

 private:
  static Conv2dOptions validated(const std::string& label, const Conv2dOptions& o) {
    const std::pair<const char*, Index> positive[] = {{"in_channels", o.in_channels},
                                                      {"out_channels", o.out_channels},
                                                      {"kernel", o.kernel},
                                                      {"stride", o.stride}};
    for (const auto& [what, value] : positive)
      if (value < 1)
        throw ConfigError(label + ": " + what + " must be positive, got " + std::to_string(value));
    if (o.padding < 0)
      throw ConfigError(label + ": padding must be >= 0, got " + std::to_string(o.padding));
    return o;
  }

  Index patch_size() const { return options_.in_channels * options_.kernel * options_.kernel; }

  // y = W cols + b 1^T with cols (C*k*k, Ho*Wo*Np) unfolded and kept (training, or one sample)
  void product_through_cols(const Parameters<T>& p, const kernels::LaneTensor<T, 4>& x,
                            const kernels::LaneSpan<T>& y) {
    const kernels::ConvGeometry g = geometry();
    const kernels::LaneSpan<T> cols = cols_.resize(g.taps(), g.positions() * x.stride());
    if (x.stride() > 1)
      kernels::im2col(g, x.stride(), x.lanes, cols);
    else
      kernels::im2col_one_sample(g, x.lanes, cols, padded_);
    kernels::gemm(weight_operand_(weight(p), y.cols), cols, y, p.value(bias_));
  }

  // y = W cols + b 1^T reading the columns straight from x (evaluation of several samples)
  void product_from_image(const Parameters<T>& p, const kernels::LaneTensor<T, 4>& x,
                          const kernels::LaneSpan<T>& y) {
    const kernels::ConvGeometry g = geometry();
    const std::array<Index, 3> layout{x.shape[2], x.shape[3], x.stride()};
    if (offsets_for_ != layout) kernels::conv_tap_offsets<T>(g, x.stride(), x.lanes.ld, tap_offsets_);
    offsets_for_ = layout;
    const kernels::ConvTaps<T> columns{x.lanes.data, tap_offsets_.data(), g.taps(), x.stride()};
    kernels::gemm_from(weight(p), columns, y, p.value(bias_));
  }

  kernels::ConvGeometry geometry() const {
    return {input_shape_[1], input_shape_[2], input_shape_[3], options_.kernel, options_.stride,
            options_.padding, output_shape_[2], output_shape_[3]};
  }

  // W (O, C*k*k), PyTorch's (O, C, k, k) weight read row-major
  kernels::MatrixRef<T> weight(const Parameters<T>& p) const {
    return kernels::MatrixRef<T>::row_major(p.value(weight_), options_.out_channels, patch_size());
  }

  std::string name_, label_;
  Conv2dOptions options_;
  std::string expected_input_;  // "(N, C, H, W)" with C filled in, for shape errors
  ParamSlot weight_, bias_;
  bool cached_ = false;
  Shape<4> input_shape_{}, output_shape_{};   // (N, C, H, W) and (N, O, Ho, Wo) of the last forward
  kernels::LaneBuffer<T> cols_;               // (C*k*k, Ho*Wo*Np)
  kernels::LaneBuffer<T> padded_;             // (C, Hp*Wp): one sample's zero-padded image for im2col
  std::vector<Index> tap_offsets_;            // (Ho*Wo, C*k*k) of kernels::ConvTaps, evaluation
  std::array<Index, 3> offsets_for_{};        // (H, W, Np) tap_offsets_ was made for
  kernels::LaneBuffer<T> y_lanes_, dx_lanes_;
  kernels::LaneBuffer<T> dcols_;              // (C*k*k, Ho*Wo*Np)
  kernels::WeightOperand<T> weight_operand_;  // W^T when the product has one column
};

}  // namespace cnnlstm
