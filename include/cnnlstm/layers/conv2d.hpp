#pragma once
// 2-D convolution, PyTorch's nn.Conv2d with a square kernel, zero padding, no dilation or groups.
//   x (N, C, H, W)  ->  y (N, O, Ho, Wo),   Ho = floor((H + 2p - k) / s) + 1 (Wo likewise)
//   weight (O, C, k, k), bias (O)
//
// Each sample is unfolded (im2col) into a matrix whose column l = oh * Wo + ow holds the C*k*k
// input values under the kernel at output position (oh, ow), zero where the kernel overhangs the
// padding; the convolution is then one GEMM per sample:
//   cols_n (C*k*k, Ho*Wo),   y_n (O, Ho*Wo) = W (O, C*k*k) * cols_n + b 1^T
// Row r = (c * k + i) * k + j of cols_n matches column r of W seen as (O, C*k*k), which is the
// row-major order of PyTorch's (O, C, k, k) weight, so its values load unchanged.

#include <algorithm>
#include <string>
#include <utility>

#include "../context.hpp"
#include "../init.hpp"
#include "../parameters.hpp"
#include "../tensor.hpp"

namespace cnnlstm {

struct Conv2dOptions {
  Index in_channels, out_channels, kernel, stride = 1, padding = 0;
};

template <class T>
class Conv2d {
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

  // x (N, C, H, W) -> y (N, O, Ho, Wo)
  TensorRef<T, 4> forward(const Parameters<T>& p, TensorRef<T, 4> x, const Context& ctx) {
    require_shape(x.dimension(1) == options_.in_channels, label_, expected_input_, x.shape());
    const auto [ho, wo] = output_size(x.dimension(2), x.dimension(3));
    const Index n = x.dimension(0), out = options_.out_channels;
    const Index rows = patch_size(), len = ho * wo;
    const Index sample = x.dimension(1) * x.dimension(2) * x.dimension(3);
    input_shape_ = x.shape();
    cached_ = ctx.training();
    cols_.resize({cached_ ? n : 1, rows, len});  // all samples for backward, else one scratch
    y_.resize({n, out, ho, wo});
    const auto w = p.matrix(weight_, out, rows);  // (O, C*k*k)
    const auto b = p.vector(bias_).transpose();   // (O, 1)
    for (Index i = 0; i < n; ++i) {
      T* cols = cols_.data() + (cached_ ? i : 0) * rows * len;  // (C*k*k, Ho*Wo)
      im2col(x.data() + i * sample, cols);
      MatrixMap<T> y(y_.data() + i * out * len, out, len);      // (O, Ho*Wo)
      y.noalias() = w * ConstMatrixMap<T>(cols, rows, len);
      y.colwise() += b;
    }
    return y_;
  }

  // dy (N, O, Ho, Wo) -> dx (N, C, H, W); accumulates dW and db.
  TensorRef<T, 4> backward(Parameters<T>& p, TensorRef<T, 4> dy) {
    if (!cached_) throw UsageError(label_ + ": backward needs a training-mode forward");
    if (dy.shape() != y_.shape())
      throw ShapeError(label_ + " backward: expected gradient " + shape_string(y_.shape()) +
                       ", got " + shape_string(dy.shape()));
    const Index n = input_shape_[0], out = options_.out_channels;
    const Index rows = patch_size(), len = dy.dimension(2) * dy.dimension(3);
    const Index sample = input_shape_[1] * input_shape_[2] * input_shape_[3];
    dx_.resize(input_shape_);
    dx_.set_zero();
    dcols_.resize({rows, len});
    const auto w = p.matrix(weight_, out, rows);   // (O, C*k*k)
    auto dw = p.grad_matrix(weight_, out, rows);   // (O, C*k*k)
    auto db = p.grad_vector(bias_);                // (1, O)
    auto dcols = dcols_.matrix(rows, len);         // (C*k*k, Ho*Wo)
    for (Index i = 0; i < n; ++i) {
      const ConstMatrixMap<T> g(dy.data() + i * out * len, out, len);          // (O, Ho*Wo)
      const ConstMatrixMap<T> cols(cols_.data() + i * rows * len, rows, len);  // (C*k*k, Ho*Wo)
      // y_n[o, l] = sum_r W[o, r] cols_n[r, l] + b[o]  =>  dL/dW[o, r] = sum_l dy_n[o, l] cols_n[r, l]
      dw.noalias() += g * cols.transpose();
      // dL/db[o] = sum_l dy_n[o, l]: every output position of channel o adds b[o] once
      db += g.rowwise().sum().transpose();
      // dL/dcols_n[r, l] = sum_o W[o, r] dy_n[o, l]; each cols entry is a copy of one input pixel
      // (or of the padding, whose gradient is dropped), so col2im adds it back onto that pixel.
      dcols.noalias() = w.transpose() * g;
      col2im(dcols_.data(), dx_.data() + i * sample);
    }
    return dx_;
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

  // Output positions o in [0, out_size) whose input index o * stride + offset lies in
  // [0, in_size), as a half-open range [first, last).
  std::pair<Index, Index> inside(Index offset, Index in_size, Index out_size) const {
    const Index s = options_.stride;
    const Index first = offset >= 0 ? 0 : (-offset + s - 1) / s;
    const Index last = in_size - 1 - offset < 0 ? 0 : (in_size - 1 - offset) / s + 1;
    return {first, std::max(first, std::min(last, out_size))};
  }

  // Calls f(col, pixel) for every entry of the unfolding that reads a real (not padding) pixel:
  // col indexes cols (C*k*k, Ho*Wo), pixel indexes one sample of x (C, H, W).
  template <class F>
  void for_each_tap(F f) const {
    const Index k = options_.kernel, s = options_.stride, pad = options_.padding;
    const Index h = input_shape_[2], w = input_shape_[3];
    const auto [ho, wo] = output_size(h, w);
    for (Index c = 0; c < options_.in_channels; ++c)
      for (Index i = 0; i < k; ++i)
        for (Index j = 0; j < k; ++j) {
          const Index row = (c * k + i) * k + j;
          const auto [oh0, oh1] = inside(i - pad, h, ho);
          const auto [ow0, ow1] = inside(j - pad, w, wo);
          for (Index oh = oh0; oh < oh1; ++oh) {
            const Index col = (row * ho + oh) * wo;
            const Index pixel = (c * h + oh * s + i - pad) * w + j - pad;
            for (Index ow = ow0; ow < ow1; ++ow) f(col + ow, pixel + ow * s);
          }
        }
  }

  // x_n (C, H, W) -> cols (C*k*k, Ho*Wo), zero where the kernel covers padding
  void im2col(const T* x, T* cols) const {
    std::fill_n(cols, cols_.dimension(1) * cols_.dimension(2), T(0));
    for_each_tap([&](Index col, Index pixel) { cols[col] = x[pixel]; });
  }

  // dcols (C*k*k, Ho*Wo) -> dx_n (C, H, W) += the entries copied from each pixel
  void col2im(const T* dcols, T* dx) const {
    for_each_tap([&](Index col, Index pixel) { dx[pixel] += dcols[col]; });
  }

  std::string name_, label_;
  Conv2dOptions options_;
  std::string expected_input_;  // "(N, C, H, W)" with C filled in, for shape errors
  ParamSlot weight_, bias_;
  bool cached_ = false;
  Shape<4> input_shape_{};      // (N, C, H, W) of the last forward
  TensorBuffer<T, 3> cols_;     // (N, C*k*k, Ho*Wo) in training, (1, C*k*k, Ho*Wo) in evaluation
  TensorBuffer<T, 4> y_;        // (N, O, Ho, Wo)
  TensorBuffer<T, 2> dcols_;    // (C*k*k, Ho*Wo), one sample at a time
  TensorBuffer<T, 4> dx_;       // (N, C, H, W)
};

}  // namespace cnnlstm
