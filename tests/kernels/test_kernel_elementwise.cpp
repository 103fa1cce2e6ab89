// The vectorised activations, the fused LSTM cell, im2col/col2im and max pooling of
// include/cnnlstm/kernels/, each against a plain loop in double.
#include <doctest/doctest.h>

#include <cnnlstm/kernels/gemm.hpp>
#include <cnnlstm/kernels/im2col.hpp>
#include <cnnlstm/kernels/lstm_cell.hpp>
#include <cnnlstm/kernels/maxpool.hpp>
#include <cnnlstm/core/random.hpp>

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

using namespace cnnlstm;
using namespace cnnlstm::kernels;

namespace {

double sigmoid_reference(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Worst relative error of f (vectorised, float) against g (double) over [low, high].
template <class F, class G>
double worst_relative_error(F f, G g, double low, double high, Index points) {
  double worst = 0;
  constexpr Index w = lane_width<float>;
  for (Index i = 0; i < points; i += w) {
    alignas(64) float x[w];
    for (Index l = 0; l < w; ++l)
      x[l] = static_cast<float>(low + (high - low) * static_cast<double>(i + l) / static_cast<double>(points));
    alignas(64) float y[w];
    f(Lanes<float>::load_aligned(x)).store_aligned(y);
    for (Index l = 0; l < w; ++l) {
      const double exact = g(static_cast<double>(x[l]));
      worst = std::max(worst, std::abs(y[l] - exact) / std::max(std::abs(exact), 1e-300));
    }
  }
  return worst;
}

std::vector<double> random_values(Index n, Rng& rng, double low = -1.0, double high = 1.0) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = rng.uniform(low, high);
  return v;
}

}  // namespace

TEST_CASE("float sigmoid and tanh are accurate to about one unit in the last place") {
  const auto sig = [](const Lanes<float>& x) { return sigmoid(x); };
  const auto th = [](const Lanes<float>& x) { return kernels::tanh(x); };
  const auto th_ref = [](double x) { return std::tanh(x); };
  CHECK(worst_relative_error(sig, sigmoid_reference, -80.0, 30.0, 400000) < 2e-7);
  CHECK(worst_relative_error(th, th_ref, -20.0, 20.0, 400000) < 2e-7);
  CHECK(worst_relative_error(th, th_ref, -1e-3, 1e-3, 40000) < 2e-7);  // no cancellation near 0
  const Lanes<float> extreme(1e30f);
  CHECK(sigmoid(extreme).get(0) == 1.0f);
  CHECK(sigmoid(Lanes<float>(-1e30f)).get(0) < 1e-37f);
  CHECK(kernels::tanh(extreme).get(0) == 1.0f);
  CHECK(kernels::tanh(Lanes<float>(-1e30f)).get(0) == -1.0f);
  CHECK(std::isnan(sigmoid(Lanes<float>(std::numeric_limits<float>::quiet_NaN())).get(0)));
}

TEST_CASE("the fused LSTM cell matches the gate equations forward and backward") {
  // count: a tail shorter than a vector (one sample, H = 8), then several vectors and a tail
  for (const Index count : {Index{8}, 3 * lane_width<double> + 5}) {
    Rng rng(static_cast<std::uint64_t>(count));
    const std::vector<double> z = random_values(4 * count, rng, -3, 3), c_prev = random_values(count, rng);
    const std::vector<double> dh = random_values(count, rng), carry = random_values(count, rng);
    // the kernel reads whole vectors: its arrays live in lane buffers, which have slack
    LaneBuffer<double> gates_b, c_prev_b, dh_b, c_b, tc_b, h_b, dc_b, dz_b;
    const LaneSpan<double> gates = gates_b.resize(4 * count, 1), c = c_b.resize(count, 1);
    const LaneSpan<double> tc = tc_b.resize(count, 1), h = h_b.resize(count, 1);
    const LaneSpan<double> dc = dc_b.resize(count, 1), dz = dz_b.resize(4 * count, 1);
    const LaneSpan<double> cp = c_prev_b.resize(count, 1), d_hidden = dh_b.resize(count, 1);
    std::copy(z.begin(), z.end(), gates.data);
    std::copy(carry.begin(), carry.end(), dc.data);
    std::copy(c_prev.begin(), c_prev.end(), cp.data);
    std::copy(dh.begin(), dh.end(), d_hidden.data);
    lstm_cell_forward<true, double>({gates.data, count}, cp.data, c.data, tc.data, h.data);
    lstm_cell_backward<double>({gates.data, count}, cp.data, tc.data, d_hidden.data, dc.data, {dz.data, count});
    for (Index e = 0; e < count; ++e) {
      const auto at = [&](int gate) { return z[static_cast<std::size_t>(gate * count + e)]; };
      const double i = sigmoid_reference(at(0)), f = sigmoid_reference(at(1));
      const double g = std::tanh(at(2)), o = sigmoid_reference(at(3));
      const double cp = c_prev[static_cast<std::size_t>(e)], c_new = f * cp + i * g, t = std::tanh(c_new);
      CHECK(c.data[e] == doctest::Approx(c_new).epsilon(1e-12));
      CHECK(h.data[e] == doctest::Approx(o * t).epsilon(1e-12));
      const double d_h = dh[static_cast<std::size_t>(e)];
      const double d_c = carry[static_cast<std::size_t>(e)] + d_h * o * (1 - t * t);
      CHECK(dz.data[e] == doctest::Approx(d_c * g * i * (1 - i)).epsilon(1e-12));
      CHECK(dz.data[count + e] == doctest::Approx(d_c * cp * f * (1 - f)).epsilon(1e-12));
      CHECK(dz.data[2 * count + e] == doctest::Approx(d_c * i * (1 - g * g)).epsilon(1e-12));
      CHECK(dz.data[3 * count + e] == doctest::Approx(d_h * t * o * (1 - o)).epsilon(1e-12));
      CHECK(dc.data[e] == doctest::Approx(d_c * f).epsilon(1e-12));
    }
  }
}

TEST_CASE("im2col (one sample or many) and col2im place every pixel under its kernel taps, any stride") {
  // (N, C, H, W, k, s, p)
  const std::vector<std::tuple<Index, Index, Index, Index, Index, Index, Index>> cases{
      {1, 10, 5, 5, 2, 1, 1}, {3, 6, 3, 3, 2, 1, 1}, {17, 2, 7, 6, 3, 2, 1},
      {1, 3, 6, 5, 3, 2, 0},  {2, 1, 4, 4, 1, 1, 2}};
  for (const auto& [n, channels, h, w, k, s, p] : cases) {
    const ConvGeometry g{channels, h, w, k, s, p, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1};
    const Index np = lane_stride<double>(n);
    Rng rng(static_cast<std::uint64_t>(n * 10 + k));
    LaneBuffer<double> image_b, cols_b, back_b;
    const LaneSpan<double> image = image_b.resize(channels, h * w * np);
    for (Index c = 0; c < channels; ++c)
      for (Index e = 0; e < h * w * np; ++e) image.row(c)[e] = rng.uniform(-1.0, 1.0);
    const LaneSpan<double> cols = cols_b.resize(g.taps(), g.positions() * np);
    LaneBuffer<double> scratch;
    if (np == 1)
      im2col_one_sample<double>(g, image, cols, scratch);
    else
      im2col<double>(g, np, image, cols);
    const LaneSpan<double> back = back_b.resize(channels, h * w * np);
    for (Index c = 0; c < channels; ++c) std::fill_n(back.row(c), back.cols, 0.0);
    col2im<double>(g, np, cols, back);
    std::vector<double> expected_back(static_cast<std::size_t>(channels * h * w * np), 0.0);
    for (Index c = 0; c < channels; ++c)
      for (Index i = 0; i < k; ++i)
        for (Index j = 0; j < k; ++j)
          for (Index oh = 0; oh < g.out_height; ++oh)
            for (Index ow = 0; ow < g.out_width; ++ow)
              for (Index lane = 0; lane < np; ++lane) {
                const Index ih = oh * s + i - p, iw = ow * s + j - p;
                const bool inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
                const Index pixel = (ih * w + iw) * np + lane;
                const double value = inside ? image.row(c)[pixel] : 0.0;
                CHECK(cols.row((c * k + i) * k + j)[(oh * g.out_width + ow) * np + lane] == value);
                if (inside) expected_back[static_cast<std::size_t>(c * h * w * np + pixel)] += value;
              }
    for (Index c = 0; c < channels; ++c)
      for (Index e = 0; e < h * w * np; ++e)
        CHECK(back.row(c)[e] == doctest::Approx(expected_back[static_cast<std::size_t>(c * h * w * np + e)]));
  }
}

TEST_CASE("the convolution's product reads the same columns through ConvTaps as through im2col") {
  // (N, C, H, W, k, s, p)
  const std::vector<std::tuple<Index, Index, Index, Index, Index, Index, Index>> cases{
      {3, 10, 5, 5, 2, 1, 1}, {40, 6, 3, 3, 2, 1, 1}, {17, 2, 7, 6, 3, 2, 1}, {2, 3, 6, 5, 3, 2, 0}};
  for (const auto& [n, channels, h, w, k, s, p] : cases) {
    const ConvGeometry g{channels, h, w, k, s, p, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1};
    const Index np = lane_stride<float>(n), out = 5;
    Rng rng(static_cast<std::uint64_t>(n));
    LaneBuffer<float> image_b, cols_b, y1_b, y2_b;
    const LaneSpan<float> image = image_b.resize(channels, h * w * np);
    for (Index c = 0; c < channels; ++c)
      for (Index e = 0; e < image.cols; ++e) image.row(c)[e] = static_cast<float>(rng.uniform(-1.0, 1.0));
    std::vector<float> weight(static_cast<std::size_t>(out * g.taps())), bias(static_cast<std::size_t>(out));
    for (float& v : weight) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    for (float& v : bias) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    const auto a = MatrixRef<float>::row_major(weight.data(), out, g.taps());
    const LaneSpan<float> cols = cols_b.resize(g.taps(), g.positions() * np);
    im2col<float>(g, np, image, cols);
    const LaneSpan<float> y1 = y1_b.resize(out, g.positions() * np), y2 = y2_b.resize(out, g.positions() * np);
    gemm(a, cols, y1, bias.data());
    std::vector<Index> offsets;
    conv_tap_offsets<float>(g, np, image.ld, offsets);
    gemm_from(a, ConvTaps<float>{image.data, offsets.data(), g.taps(), np}, y2, bias.data());
    for (Index o = 0; o < out; ++o)
      for (Index e = 0; e < y1.cols; ++e) CHECK(y2.row(o)[e] == y1.row(o)[e]);  // the same bits
  }
}

TEST_CASE("max pooling in lanes keeps PyTorch's first maximum and routes gradients to it") {
  for (const Index n : {Index{1}, Index{19}}) {
    const PoolGeometry g{6, 5, 2, 2, 3, 2};
    const Index np = lane_stride<float>(n), channels = 2;
    Rng rng(static_cast<std::uint64_t>(n));
    LaneBuffer<float> x_b, y_b, at_b, dy_b, dx_b;
    const LaneSpan<float> x = x_b.resize(channels, g.height * g.width * np);
    for (Index c = 0; c < channels; ++c)
      for (Index e = 0; e < x.cols; ++e) x.row(c)[e] = static_cast<float>(rng.below(4));  // many ties
    const LaneSpan<float> y = y_b.resize(channels, g.out_height * g.out_width * np);
    const LaneSpan<float> at = at_b.resize(channels, y.cols), dy = dy_b.resize(channels, y.cols);
    maxpool_forward<Pooling::max, float>(g, np, x, y, at.data);
    for (Index c = 0; c < channels; ++c)
      for (Index e = 0; e < y.cols; ++e) dy.row(c)[e] = static_cast<float>(e + 1);
    const LaneSpan<float> dx = dx_b.resize(channels, x.cols);
    maxpool_backward<float>(g, np, dy, at.data, dx);
    std::vector<float> expected_dx(static_cast<std::size_t>(channels * x.ld), 0.0f);
    for (Index c = 0; c < channels; ++c)
      for (Index oh = 0; oh < g.out_height; ++oh)
        for (Index ow = 0; ow < g.out_width; ++ow)
          for (Index lane = 0; lane < np; ++lane) {
            Index best = -1;
            for (Index i = 0; i < 2; ++i)
              for (Index j = 0; j < 2; ++j) {
                const Index pixel = ((oh * 2 + i) * g.width + ow * 2 + j) * np + lane;
                if (best < 0 || x.row(c)[pixel] > x.row(c)[best]) best = pixel;
              }
            const Index out = (oh * g.out_width + ow) * np + lane;
            CHECK(y.row(c)[out] == x.row(c)[best]);
            expected_dx[static_cast<std::size_t>(c * x.ld + best)] += dy.row(c)[out];
          }
    for (Index c = 0; c < channels; ++c)
      for (Index e = 0; e < x.cols; ++e)
        CHECK(dx.row(c)[e] == expected_dx[static_cast<std::size_t>(c * x.ld + e)]);
    // NaN is the maximum, with or without argmax (evaluation takes a branch-free path for one sample)
    x.row(0)[0] = x.row(1)[(g.width + 1) * np] = std::numeric_limits<float>::quiet_NaN();
    LaneBuffer<float> y2_b;
    const LaneSpan<float> y2 = y2_b.resize(channels, y.cols);
    maxpool_forward<Pooling::max, float>(g, np, x, y, at.data);
    maxpool_forward<Pooling::max, float>(g, np, x, y2, nullptr);
    CHECK(std::isnan(y.row(0)[0]));
    CHECK(std::isnan(y.row(1)[0]));
    for (Index c = 0; c < channels; ++c)
      for (Index e = 0; e < y.cols; ++e)
        CHECK((y2.row(c)[e] == y.row(c)[e] || (std::isnan(y2.row(c)[e]) && std::isnan(y.row(c)[e]))));
  }
}
