#pragma once
// Unfolding images for convolution as a matrix product, in the lane layout (lane_matrix.hpp):
//   image (C, H*W*Np)  ->  cols (C*k*k, Ho*Wo*Np)
// Row r = (c * k + i) * k + j of cols holds, at column (oh * Wo + ow) * Np + n, the pixel
// (c, oh*s + i - p, ow*s + j - p) of sample n, or zero where the kernel covers the padding; the
// convolution is then Y (O, Ho*Wo*Np) = W (O, C*k*k) cols + b, W being PyTorch's (O, C, k, k)
// weight read row-major. With stride 1, the pixels under one kernel tap along an output row are
// consecutive, so each (r, oh) copies one contiguous run of lanes.

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>
#include <vector>

#include "lane_matrix.hpp"

namespace cnnlstm::kernels {

struct ConvGeometry {
  Index channels = 0, height = 0, width = 0;  // input (C, H, W)
  Index kernel = 1, stride = 1, padding = 0;
  Index out_height = 0, out_width = 0;

  Index taps() const { return channels * kernel * kernel; }  // rows of cols
  Index positions() const { return out_height * out_width; }
};

namespace detail {

// Output positions o in [0, out_size) whose input index o * stride + offset lies in
// [0, in_size), as a half-open range [first, last).
inline std::pair<Index, Index> inside(Index offset, Index in_size, Index out_size, Index stride) {
  const Index first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const Index last = in_size - 1 - offset < 0 ? 0 : (in_size - 1 - offset) / stride + 1;
  return {first, std::max(first, std::min(last, out_size))};
}

// Calls f(c, r, oh, ih, ow_first, ow_last, iw_first) for every kernel tap (c, i, j) = row r and
// output row oh: input row ih (-1 if in the padding), and the output columns [ow_first, ow_last)
// that read real pixels, the first of them at input column iw_first.
template <class F>
void for_each_tap_row(const ConvGeometry& g, F&& f) {
  const Index k = g.kernel, s = g.stride, pad = g.padding;
  for (Index c = 0; c < g.channels; ++c)
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j < k; ++j) {
        const Index r = (c * k + i) * k + j;
        const auto [ow0, ow1] = inside(j - pad, g.width, g.out_width, s);
        for (Index oh = 0; oh < g.out_height; ++oh) {
          const Index ih = oh * s + i - pad;
          f(c, r, oh, ih >= 0 && ih < g.height ? ih : Index{-1}, ow0, ow1, ow0 * s + j - pad);
        }
      }
}

}  // namespace detail

namespace detail {

// Runs of n elements within lane buffers, a vector at a time: dst = src, dst = 0, dst += src.
template <class T>
void copy_run(const T* src, Index n, T* dst) {
  for_each_vector<T>(n, [&](Index i, auto count) {
    store_lanes(dst + i, load_lanes(src + i, count), count);
  });
}
template <class T>
void zero_run(T* dst, Index n) {
  for_each_vector<T>(n, [&](Index i, auto count) { store_lanes(dst + i, Lanes<T>(T(0)), count); });
}
template <class T>
void add_run(const T* src, Index n, T* dst) {
  for_each_vector<T>(n, [&](Index i, auto count) {
    store_lanes(dst + i, load_lanes(dst + i, count) + load_lanes(src + i, count), count);
  });
}

}  // namespace detail

// image (C, H*W*Np) -> cols (C*k*k, Ho*Wo*Np), for several samples (Np > 1): runs of lanes
template <class T>
void im2col(const ConvGeometry& g, Index np, const std::type_identity_t<LaneView<T>>& image,
            const LaneSpan<T>& cols) {
  const Index row_len = g.out_width * np, s = g.stride;
  detail::for_each_tap_row(g, [&](Index c, Index r, Index oh, Index ih, Index ow0, Index ow1, Index iw0) {
    T* dst = cols.row(r) + oh * row_len;
    if (ih < 0 || ow0 == ow1) {
      detail::zero_run(dst, row_len);
      return;
    }
    detail::zero_run(dst, ow0 * np);
    const T* src = image.row(c) + (ih * g.width + iw0) * np;
    if (s == 1)
      detail::copy_run(src, (ow1 - ow0) * np, dst + ow0 * np);
    else
      for (Index ow = ow0; ow < ow1; ++ow) detail::copy_run(src + (ow - ow0) * s * np, np, dst + ow * np);
    detail::zero_run(dst + ow1 * np, row_len - ow1 * np);
  });
}

// dimage (C, H*W*Np) += the entries of dcols (C*k*k, Ho*Wo*Np) copied from each pixel
template <class T>
void col2im(const ConvGeometry& g, Index np, const std::type_identity_t<LaneView<T>>& dcols,
            const LaneSpan<T>& dimage) {
  const Index s = g.stride;
  detail::for_each_tap_row(g, [&](Index c, Index r, Index oh, Index ih, Index ow0, Index ow1, Index iw0) {
    if (ih < 0) return;
    const T* src = dcols.row(r) + (oh * g.out_width + ow0) * np;
    T* dst = dimage.row(c) + (ih * g.width + iw0) * np;
    if (np == 1)
      for (Index ow = 0; ow < ow1 - ow0; ++ow) dst[ow * s] += src[ow];
    else if (s == 1)
      detail::add_run(src, (ow1 - ow0) * np, dst);
    else
      for (Index ow = 0; ow < ow1 - ow0; ++ow) detail::add_run(src + ow * np, np, dst + ow * s * np);
  });
}

// image (C, H*W) of one sample -> cols (C*k*k, Ho*Wo). Its runs are a few pixels, so the image is
// first copied into a zero-padded (C, Hp*Wp) scratch buffer, where every output row of a kernel
// tap is a plain slice: with stride 1 it is copied a vector at a time. A vector may run past the
// slice; the rows of cols are filled in ascending order, so what it writes beyond is overwritten
// later or lands in the row padding and the buffer's slack.
template <class T>
void im2col_one_sample(const ConvGeometry& g, const std::type_identity_t<LaneView<T>>& image,
                       const LaneSpan<T>& cols, LaneBuffer<T>& padded) {
  constexpr Index w = lane_width<T>;
  const Index k = g.kernel, s = g.stride, pad = g.padding, out_width = g.out_width;
  const Index padded_width = g.width + 2 * pad, padded_size = (g.height + 2 * pad) * padded_width;
  const LaneSpan<T> p = padded.resize(g.channels, padded_size);
  for (Index c = 0; c < g.channels; ++c) {
    for (Index e = 0; e < padded_size; e += w) store(p.row(c) + e, Lanes<T>(T(0)));
    for (Index h = 0; h < g.height; ++h) {
      const T* src = image.row(c) + h * g.width;
      T* dst = p.row(c) + (h + pad) * padded_width + pad;
      for (Index e = 0; e < g.width; ++e) dst[e] = src[e];
    }
  }
  for (Index c = 0; c < g.channels; ++c)
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j < k; ++j) {
        T* dst = cols.row((c * k + i) * k + j);
        const T* src = p.row(c) + i * padded_width + j;  // tap (i, j) of output (0, 0)
        for (Index oh = 0; oh < g.out_height; ++oh) {
          T* out = dst + oh * out_width;
          const T* in = src + oh * s * padded_width;
          if (s == 1)
            for (Index e = 0; e < out_width; e += w) store(out + e, load(in + e));
          else
            for (Index ow = 0; ow < out_width; ++ow) out[ow] = in[ow * s];
        }
      }
}

// The columns of im2col without writing them, for several samples (np a multiple of the vector
// width), as a B source for gemm_from: the vector of row k (tap c, i, j) at column
// (oh * Wo + ow) * np + lane is read straight from the image, or from a vector of zeros where
// the kernel covers the padding. offsets[p * taps + k] is where output position p's pixel under
// tap k starts in the image (c * image_ld + pixel * np), -1 in the padding.
template <class T>
struct ConvTaps {
  struct Column {
    Index first_offset, lane;  // p * taps, and the lane within position p
  };

  const T* image;
  const Index* offsets;
  Index taps, np;

  Column column(Index j) const { return {j / np * taps, j % np}; }
  const T* at(Index k, Column column) const {
    const Index offset = offsets[column.first_offset + k];
    return offset < 0 ? zeros.data() : image + offset + column.lane;
  }

  alignas(64) static constexpr std::array<T, Lanes<T>::size> zeros{};
};

// The offsets table of ConvTaps for an image (C, H*W*np) with rows image_ld apart.
template <class T>
void conv_tap_offsets(const ConvGeometry& g, Index np, Index image_ld, std::vector<Index>& offsets) {
  offsets.assign(static_cast<std::size_t>(g.positions() * g.taps()), -1);
  detail::for_each_tap_row(g, [&](Index c, Index r, Index oh, Index ih, Index ow0, Index ow1, Index iw0) {
    if (ih < 0) return;
    for (Index ow = ow0; ow < ow1; ++ow)
      offsets[static_cast<std::size_t>((oh * g.out_width + ow) * g.taps() + r)] =
          c * image_ld + (ih * g.width + iw0 + (ow - ow0) * g.stride) * np;
  });
}

}  // namespace cnnlstm::kernels
