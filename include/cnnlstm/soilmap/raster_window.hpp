#pragma once
// Model inputs from rasters in memory: for every pixel of a rectangle, the P x P window of every
// static band centred on the pixel, and the pixel's own yearly series,
//   x_cnn  (N, C, P, P)   x_cnn(n, c, a, b) = static band c at (row - P/2 + a, col - P/2 + b)
//   x_lstm (N, T, F)      x_lstm(n, t, f)   = series feature f in year t at (row, col)
// for the N pixels of the rectangle that have a complete, valid window and series, in row-major
// order. This header knows nothing of files: a reader (GDAL in soc map) fills BandBlocks.
//
// Rasters. A raster has R rows and K columns, row 0 at the north edge. A BandBlock holds some of
// its bands over a rectangle of pixels. Static bands are read over the output rectangle grown by
// a halo of P/2 pixels on each side (clipped to the raster; see grown_rect), so windows of pixels
// near a block's border are exactly those of the whole raster. Series bands are read over the
// output rectangle itself; their block holds F x Y bands, feature-major: feature f in year t is
// band f * Y + t (one file per feature with one band per year, in the model's feature order).
//
// Nodata rule. A pixel gets no input (its output is nodata) when
//   - edge mode nodata: its window crosses the raster's edge (pixels within P/2 of the edge);
//   - its window touches a nodata value of any static band: a value equal to the band's nodata
//     value, NaN or +-infinity;
//   - its series has such a value in any feature and any year.
// Edge mode reflect: window positions outside the raster take the value of the pixel mirrored at
// the edge without repeating the edge pixel, like numpy.pad(mode='reflect'): along an axis of n
// pixels, -1 -> 1, -2 -> 2, n -> n - 2, n + 1 -> n - 3 (repeatedly for windows wider than the
// raster; a one-pixel axis maps everything to 0). Nodata values reached through the mirror count
// as touched; edge pixels are predicted.
//
//   const RasterWindows<float> windows({rows, cols}, EdgeMode::nodata, 5, &statics, &series, years);
//   WindowBatch<float> batch;
//   windows.build(rect, batch);  // batch.x_cnn, batch.x_lstm, batch.pixels (positions in rect)

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

enum class EdgeMode { nodata, reflect };

inline EdgeMode edge_mode_from_string(const std::string& name) {
  if (name == "nodata") return EdgeMode::nodata;
  if (name == "reflect") return EdgeMode::reflect;
  throw ConfigError("edge mode must be 'nodata' or 'reflect', got '" + name + "'");
}

inline std::string to_string(EdgeMode mode) { return mode == EdgeMode::nodata ? "nodata" : "reflect"; }

struct RasterSize {
  Index rows = 0, cols = 0;
};

// Pixels [row, row + rows) x [col, col + cols) of a raster.
struct PixelRect {
  Index row = 0, col = 0, rows = 0, cols = 0;

  Index end_row() const { return row + rows; }
  Index end_col() const { return col + cols; }
  Index size() const { return rows * cols; }
  bool contains(const PixelRect& r) const {
    return r.row >= row && r.col >= col && r.end_row() <= end_row() && r.end_col() <= end_col();
  }
};

inline std::string to_string(const PixelRect& r) {
  return "rows " + std::to_string(r.row) + ".." + std::to_string(r.end_row() - 1) + ", columns " +
         std::to_string(r.col) + ".." + std::to_string(r.end_col() - 1);
}

// `rect` grown by `halo` pixels on every side, clipped to the raster.
inline PixelRect grown_rect(const PixelRect& rect, Index halo, RasterSize raster) {
  const Index row = std::max<Index>(0, rect.row - halo), col = std::max<Index>(0, rect.col - halo);
  const Index end_row = std::min(raster.rows, rect.end_row() + halo);
  const Index end_col = std::min(raster.cols, rect.end_col() + halo);
  return {row, col, end_row - row, end_col - col};
}

// The blocks of at most `block` x `block` pixels that tile the raster, row by row.
inline std::vector<PixelRect> raster_blocks(RasterSize raster, Index block) {
  if (block < 1) throw ConfigError("the block size must be positive, got " + std::to_string(block));
  std::vector<PixelRect> blocks;
  for (Index r = 0; r < raster.rows; r += block)
    for (Index c = 0; c < raster.cols; c += block)
      blocks.push_back({r, c, std::min(block, raster.rows - r), std::min(block, raster.cols - c)});
  return blocks;
}

// Position along an axis of n pixels that index i reads under the edge mode: i itself inside
// [0, n); outside, the mirrored position (reflect) or -1 (nodata: no value).
inline Index edge_index(Index i, Index n, EdgeMode mode) {
  if (i >= 0 && i < n) return i;
  if (mode == EdgeMode::nodata) return -1;
  if (n == 1) return 0;
  const Index period = 2 * (n - 1);  // reflect is periodic: 0 1 .. n-1 n-2 .. 1 | 0 1 ..
  Index k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

// Some bands of a raster over a rectangle of it.
template <class T>
struct BandBlock {
  PixelRect rect;                             // where values(., 0, 0) lies in the raster
  Tensor<T, 3> values;                        // (bands, rect.rows, rect.cols)
  std::vector<std::optional<double>> nodata;  // per band: its nodata value, if it declares one

  Index bands() const { return values.dimension(0); }

  // True for the band's nodata value, NaN and +-infinity.
  bool is_nodata(Index band, T value) const {
    if (!std::isfinite(static_cast<double>(value))) return true;
    const auto& nd = nodata[static_cast<std::size_t>(band)];
    return nd && value == static_cast<T>(*nd);
  }
};

// The inputs of the valid pixels of a rectangle; buffers grow only, so reuse a batch.
template <class T>
struct WindowBatch {
  TensorBuffer<T, 4> x_cnn;   // (N, C, P, P); (N, 0, P, P) without static bands
  TensorBuffer<T, 3> x_lstm;  // (N, T, F); (N, 0, 0) without series
  std::vector<Index> pixels;  // (N) row-major position in the rectangle of each input row

  Index size() const { return static_cast<Index>(pixels.size()); }
};

// Builds the windows of any rectangle inside the blocks it was given. Construction marks the
// nodata pixels of each block once; build() is const, so threads can share one RasterWindows.
template <class T>
class RasterWindows {
 public:
  // statics: C bands (or null), series: features * years bands (or null); patch P odd.
  RasterWindows(RasterSize raster, EdgeMode edge, Index patch, const BandBlock<T>* statics,
                const BandBlock<T>* series, Index years)
      : raster_(raster), edge_(edge), patch_(patch), statics_(statics), series_(series), years_(years) {
    if (patch < 1 || patch % 2 == 0 || patch > max_patch)
      throw ConfigError("the window size must be odd, in [1, " + std::to_string(max_patch) + "], got " + std::to_string(patch));
    if (series && (years < 1 || series->bands() % years != 0))
      throw ShapeError("the series block has " + std::to_string(series->bands()) + " bands, not a whole number of " +
                       std::to_string(years) + " years per feature");
    if (statics) static_bad_ = nodata_mask(*statics);
    if (series) series_bad_ = nodata_mask(*series);
  }

  Index patch() const { return patch_; }
  Index channels() const { return statics_ ? statics_->bands() : 0; }
  Index features() const { return series_ ? series_->bands() / years_ : 0; }
  Index years() const { return series_ ? years_ : 0; }

  // The inputs of the valid pixels of `rect`; rect must lie within the blocks' coverage.
  void build(const PixelRect& rect, WindowBatch<T>& batch) const {
    require_coverage(rect);
    batch.pixels.clear();
    for (Index r = rect.row; r < rect.end_row(); ++r)
      for (Index c = rect.col; c < rect.end_col(); ++c)
        if (window_valid(r, c) && series_valid(r, c)) batch.pixels.push_back((r - rect.row) * rect.cols + (c - rect.col));
    const Index n = batch.size();
    batch.x_cnn.resize({n, channels(), patch_, patch_});
    batch.x_lstm.resize({n, years(), features()});
    for (Index i = 0; i < n; ++i) {
      const Index p = batch.pixels[static_cast<std::size_t>(i)];
      const Index r = rect.row + p / rect.cols, c = rect.col + p % rect.cols;
      if (statics_) copy_window(r, c, batch.x_cnn.data() + i * channels() * patch_ * patch_);
      if (series_) copy_series(r, c, batch.x_lstm.data() + i * years_ * features());
    }
  }

 private:
  Index half() const { return statics_ ? patch_ / 2 : 0; }

  // (rows, cols) of the block: 1 where any band holds nodata.
  static std::vector<unsigned char> nodata_mask(const BandBlock<T>& block) {
    const Index pixels = block.rect.size();
    if (block.values.dimension(1) != block.rect.rows || block.values.dimension(2) != block.rect.cols ||
        static_cast<Index>(block.nodata.size()) != block.bands())
      throw ShapeError("a band block of " + to_string(block.rect) + " holds values " +
                       shape_string(block.values.dimensions()) + " and " + std::to_string(block.nodata.size()) +
                       " nodata entries");
    std::vector<unsigned char> bad(static_cast<std::size_t>(pixels), 0);
    for (Index b = 0; b < block.bands(); ++b) {
      const T* band = block.values.data() + b * pixels;
      for (Index i = 0; i < pixels; ++i)
        if (block.is_nodata(b, band[i])) bad[static_cast<std::size_t>(i)] = 1;
    }
    return bad;
  }

  void require_coverage(const PixelRect& rect) const {
    const PixelRect needed = grown_rect(rect, half(), raster_);
    if (statics_ && !statics_->rect.contains(needed))
      throw ShapeError("the static bands cover " + to_string(statics_->rect) + ", but the windows of " +
                       to_string(rect) + " need " + to_string(needed));
    if (series_ && !series_->rect.contains(rect))
      throw ShapeError("the series cover " + to_string(series_->rect) + ", not " + to_string(rect));
  }

  // Raster rows (or columns) that a window centred at `centre` reads; false if one has no value.
  bool window_positions(Index centre, Index n, Index* out) const {
    for (Index a = 0; a < patch_; ++a) {
      out[a] = edge_index(centre - half() + a, n, edge_);
      if (out[a] < 0) return false;
    }
    return true;
  }

  bool window_valid(Index r, Index c) const {
    if (!statics_) return true;
    Index rows[max_patch], cols[max_patch];
    if (!positions(r, c, rows, cols)) return false;
    const PixelRect& b = statics_->rect;
    for (Index a = 0; a < patch_; ++a)
      for (Index k = 0; k < patch_; ++k)
        if (static_bad_[static_cast<std::size_t>((rows[a] - b.row) * b.cols + cols[k] - b.col)]) return false;
    return true;
  }

  bool series_valid(Index r, Index c) const {
    if (!series_) return true;
    const PixelRect& b = series_->rect;
    return !series_bad_[static_cast<std::size_t>((r - b.row) * b.cols + c - b.col)];
  }

  bool positions(Index r, Index c, Index* rows, Index* cols) const {
    return window_positions(r, raster_.rows, rows) && window_positions(c, raster_.cols, cols);
  }

  // out (C, P, P): the window centred at raster pixel (r, c).
  void copy_window(Index r, Index c, T* out) const {
    Index rows[max_patch], cols[max_patch];
    positions(r, c, rows, cols);
    const PixelRect& b = statics_->rect;
    const Index band_size = b.size();
    for (Index ch = 0; ch < channels(); ++ch) {
      const T* band = statics_->values.data() + ch * band_size;
      for (Index a = 0; a < patch_; ++a) {
        const T* row = band + (rows[a] - b.row) * b.cols - b.col;
        for (Index k = 0; k < patch_; ++k) *out++ = row[cols[k]];
      }
    }
  }

  // out (T, F): the series of raster pixel (r, c).
  void copy_series(Index r, Index c, T* out) const {
    const PixelRect& b = series_->rect;
    const Index band_size = b.size(), at = (r - b.row) * b.cols + (c - b.col), f_count = features();
    const T* values = series_->values.data() + at;
    for (Index t = 0; t < years_; ++t)
      for (Index f = 0; f < f_count; ++f) *out++ = values[(f * years_ + t) * band_size];
  }

  static constexpr Index max_patch = 256;

  RasterSize raster_;
  EdgeMode edge_;
  Index patch_;
  const BandBlock<T>* statics_;
  const BandBlock<T>* series_;
  Index years_;
  std::vector<unsigned char> static_bad_, series_bad_;  // per block pixel: a band holds nodata
};

}  // namespace cnnlstm
