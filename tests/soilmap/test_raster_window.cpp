// Windows of raster blocks (soilmap/raster_window.hpp) on small hand-made grids: the values of a window,
// edge modes, the nodata rule (band nodata values, NaN, series), and blocks with halos giving
// exactly the windows of the whole raster.

#include <doctest/doctest.h>

#include <cnnlstm/soilmap/raster_window.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

using namespace cnnlstm;

namespace {

constexpr RasterSize grid{5, 6};  // 5 rows, 6 columns
constexpr float not_a_number = std::numeric_limits<float>::quiet_NaN();

// Static band b at (r, c): 100 b + 10 r + c.
float static_value(Index b, Index r, Index c) { return float(100 * b + 10 * r + c); }
// Series feature f in year t at (r, c): 1000 f + 100 t + 10 r + c.
float series_value(Index f, Index t, Index r, Index c) { return float(1000 * f + 100 * t + 10 * r + c); }

using BandValue = std::function<float(Index band, Index r, Index c)>;

BandBlock<float> make_block(const PixelRect& rect, Index bands, const BandValue& value) {
  BandBlock<float> block{rect, Tensor<float, 3>(bands, rect.rows, rect.cols), {}};
  block.nodata.assign(static_cast<std::size_t>(bands), std::nullopt);
  for (Index b = 0; b < bands; ++b)
    for (Index r = 0; r < rect.rows; ++r)
      for (Index c = 0; c < rect.cols; ++c) block.values(b, r, c) = value(b, rect.row + r, rect.col + c);
  return block;
}

BandBlock<float> statics_over(const PixelRect& rect) { return make_block(rect, 2, static_value); }

// 2 features x 3 years, feature-major bands.
BandBlock<float> series_over(const PixelRect& rect) {
  return make_block(rect, 6, [](Index band, Index r, Index c) { return series_value(band / 3, band % 3, r, c); });
}

const PixelRect whole{0, 0, grid.rows, grid.cols};

// Raster positions (row, col) of the batch's pixels in `rect`.
std::vector<std::pair<Index, Index>> positions(const WindowBatch<float>& batch, const PixelRect& rect) {
  std::vector<std::pair<Index, Index>> out;
  for (Index p : batch.pixels) out.emplace_back(rect.row + p / rect.cols, rect.col + p % rect.cols);
  return out;
}

Index find_pixel(const WindowBatch<float>& batch, const PixelRect& rect, Index r, Index c) {
  const auto all = positions(batch, rect);
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i] == std::pair<Index, Index>{r, c}) return static_cast<Index>(i);
  return -1;
}

}  // namespace

TEST_CASE("edge_index reads inside positions as they are and mirrors outside ones like numpy's reflect") {
  for (Index i = 0; i < 4; ++i) CHECK(edge_index(i, 4, EdgeMode::nodata) == i);
  CHECK(edge_index(-1, 4, EdgeMode::nodata) == -1);
  CHECK(edge_index(4, 4, EdgeMode::nodata) == -1);
  // np.pad(np.arange(4), 6, mode='reflect') = [0 1 2 3 2 1 | 0 1 2 3 | 2 1 0 1 2 3]
  const std::vector<Index> left{0, 1, 2, 3, 2, 1}, right{2, 1, 0, 1, 2, 3};
  for (Index k = 0; k < 6; ++k) {
    CHECK(edge_index(k - 6, 4, EdgeMode::reflect) == left[std::size_t(k)]);
    CHECK(edge_index(4 + k, 4, EdgeMode::reflect) == right[std::size_t(k)]);
  }
  // np.pad(np.arange(2), 3, mode='reflect') = [1 0 1 | 0 1 | 0 1 0]; a one-pixel axis reads 0
  CHECK(edge_index(-3, 2, EdgeMode::reflect) == 1);
  CHECK(edge_index(-2, 2, EdgeMode::reflect) == 0);
  CHECK(edge_index(-1, 2, EdgeMode::reflect) == 1);
  CHECK(edge_index(2, 2, EdgeMode::reflect) == 0);
  CHECK(edge_index(4, 2, EdgeMode::reflect) == 0);
  CHECK(edge_index(-5, 1, EdgeMode::reflect) == 0);
  for (const EdgeMode mode : {EdgeMode::nodata, EdgeMode::reflect}) CHECK(edge_mode_from_string(to_string(mode)) == mode);
}

TEST_CASE("blocks tile the raster and halos are clipped at its edge") {
  const auto blocks = raster_blocks(grid, 4);
  REQUIRE(blocks.size() == 4);
  CHECK(blocks[1].col == 4);
  CHECK(blocks[1].cols == 2);
  CHECK(blocks[2].row == 4);
  CHECK(blocks[2].rows == 1);
  Index total = 0;
  for (const auto& b : blocks) total += b.size();
  CHECK(total == 30);
  const PixelRect g = grown_rect({2, 0, 2, 3}, 2, grid);
  CHECK(g.row == 0);
  CHECK(g.col == 0);
  CHECK(g.rows == 5);
  CHECK(g.cols == 5);
  CHECK_THROWS_AS(raster_blocks(grid, 0), ConfigError);
  CHECK_THROWS_AS(edge_mode_from_string("wrap"), ConfigError);
}

TEST_CASE("edge mode nodata: interior pixels get their 3x3 windows and their series; edge pixels none") {
  const auto statics = statics_over(whole);
  const auto series = series_over(whole);
  const RasterWindows<float> windows(grid, EdgeMode::nodata, 3, &statics, &series, 3);
  WindowBatch<float> batch;
  windows.build(whole, batch);
  REQUIRE(batch.size() == 12);  // rows 1..3, columns 1..4
  for (const auto& [r, c] : positions(batch, whole)) {
    CHECK(r >= 1);
    CHECK(r <= 3);
    CHECK(c >= 1);
    CHECK(c <= 4);
  }
  CHECK(batch.x_cnn.shape() == Shape<4>{12, 2, 3, 3});
  CHECK(batch.x_lstm.shape() == Shape<3>{12, 3, 2});
  const Index i = find_pixel(batch, whole, 2, 3);
  REQUIRE(i >= 0);
  const std::vector<float> band0{12, 13, 14, 22, 23, 24, 32, 33, 34};
  for (Index a = 0; a < 3; ++a)
    for (Index b = 0; b < 3; ++b) {
      CHECK(batch.x_cnn(i, 0, a, b) == band0[std::size_t(a * 3 + b)]);
      CHECK(batch.x_cnn(i, 1, a, b) == band0[std::size_t(a * 3 + b)] + 100);
    }
  for (Index t = 0; t < 3; ++t)
    for (Index f = 0; f < 2; ++f) CHECK(batch.x_lstm(i, t, f) == series_value(f, t, 2, 3));
}

TEST_CASE("edge mode reflect mirrors the raster without repeating the edge pixel") {
  const auto statics = statics_over(whole);
  const RasterWindows<float> windows(grid, EdgeMode::reflect, 3, &statics, nullptr, 0);
  WindowBatch<float> batch;
  windows.build(whole, batch);
  REQUIRE(batch.size() == 30);
  CHECK(batch.x_lstm.shape() == Shape<3>{30, 0, 0});
  const Index corner = find_pixel(batch, whole, 0, 0);  // rows {1, 0, 1}, columns {1, 0, 1}
  const std::vector<float> nw{11, 10, 11, 1, 0, 1, 11, 10, 11};
  const Index far = find_pixel(batch, whole, 4, 5);  // rows {3, 4, 3}, columns {4, 5, 4}
  const std::vector<float> se{34, 35, 34, 44, 45, 44, 34, 35, 34};
  for (Index a = 0; a < 3; ++a)
    for (Index b = 0; b < 3; ++b) {
      CHECK(batch.x_cnn(corner, 0, a, b) == nw[std::size_t(a * 3 + b)]);
      CHECK(batch.x_cnn(far, 1, a, b) == se[std::size_t(a * 3 + b)] + 100);
    }
}

TEST_CASE("a nodata value or NaN in any static band removes every pixel whose window touches it") {
  auto statics = statics_over(whole);
  statics.nodata[1] = -1.0;
  statics.values(1, 2, 2) = -1;  // band 1's nodata value at (2, 2)
  const RasterWindows<float> windows(grid, EdgeMode::nodata, 3, &statics, nullptr, 0);
  WindowBatch<float> batch;
  windows.build(whole, batch);
  // interior pixels (rows 1..3, columns 1..4) not within one pixel of (2, 2): column 4 only
  const std::vector<std::pair<Index, Index>> expected{{1, 4}, {2, 4}, {3, 4}};
  CHECK(positions(batch, whole) == expected);

  auto with_nan = statics_over(whole);
  with_nan.values(0, 0, 5) = not_a_number;  // a corner: touched by the window of (1, 4) only
  const RasterWindows<float> nan_windows(grid, EdgeMode::nodata, 3, &with_nan, nullptr, 0);
  nan_windows.build(whole, batch);
  CHECK(batch.size() == 11);
  CHECK(find_pixel(batch, whole, 1, 4) < 0);

  // through the mirror: windows centred in rows 0..1 and columns 4..5 read (0, 5)
  const RasterWindows<float> mirrored(grid, EdgeMode::reflect, 3, &with_nan, nullptr, 0);
  mirrored.build(whole, batch);
  CHECK(batch.size() == 30 - 4);  // (0, 4), (0, 5), (1, 4), (1, 5) touch (0, 5)
  for (const auto& [r, c] : std::vector<std::pair<Index, Index>>{{0, 4}, {0, 5}, {1, 4}, {1, 5}})
    CHECK(find_pixel(batch, whole, r, c) < 0);

  auto infinite = statics_over(whole);
  infinite.values(1, 3, 3) = std::numeric_limits<float>::infinity();
  const RasterWindows<float> inf_windows(grid, EdgeMode::nodata, 1, &infinite, nullptr, 0);
  inf_windows.build(whole, batch);
  CHECK(batch.size() == 29);
}

TEST_CASE("a nodata value in any year of the series removes that pixel only") {
  const auto statics = statics_over(whole);
  auto series = series_over(whole);
  series.nodata[4] = -9999.0;  // feature 1, year 1
  series.values(4, 2, 3) = -9999;
  series.values(2, 1, 1) = not_a_number;  // feature 0, year 2
  const RasterWindows<float> windows(grid, EdgeMode::nodata, 3, &statics, &series, 3);
  WindowBatch<float> batch;
  windows.build(whole, batch);
  CHECK(batch.size() == 10);
  CHECK(find_pixel(batch, whole, 2, 3) < 0);
  CHECK(find_pixel(batch, whole, 1, 1) < 0);
  CHECK(find_pixel(batch, whole, 2, 2) >= 0);

  // series only (an LSTM model): no window, so edge pixels are predicted
  const RasterWindows<float> series_only(grid, EdgeMode::nodata, 1, nullptr, &series, 3);
  series_only.build(whole, batch);
  CHECK(batch.size() == 28);
  CHECK(batch.x_cnn.shape() == Shape<4>{28, 0, 1, 1});
}

TEST_CASE("blocks with a halo of P/2 give exactly the windows of the whole raster") {
  auto full_statics = statics_over(whole);
  full_statics.values(0, 3, 1) = not_a_number;
  const auto full_series = series_over(whole);
  for (const EdgeMode edge : {EdgeMode::nodata, EdgeMode::reflect}) {
    const RasterWindows<float> all(grid, edge, 3, &full_statics, &full_series, 3);
    WindowBatch<float> expected, got;
    all.build(whole, expected);
    Index seen = 0;
    for (const PixelRect& rect : raster_blocks(grid, 2)) {
      const PixelRect halo = grown_rect(rect, 1, grid);
      auto statics = make_block(halo, 2, [&](Index b, Index r, Index c) { return full_statics.values(b, r, c); });
      const auto series = series_over(rect);
      const RasterWindows<float> part(grid, edge, 3, &statics, &series, 3);
      part.build(rect, got);
      for (Index i = 0; i < got.size(); ++i) {
        const Index p = got.pixels[std::size_t(i)];
        const Index j = find_pixel(expected, whole, rect.row + p / rect.cols, rect.col + p % rect.cols);
        REQUIRE(j >= 0);
        for (Index k = 0; k < 18; ++k) CHECK(got.x_cnn.data()[i * 18 + k] == expected.x_cnn.data()[j * 18 + k]);
        for (Index k = 0; k < 6; ++k) CHECK(got.x_lstm.data()[i * 6 + k] == expected.x_lstm.data()[j * 6 + k]);
      }
      seen += got.size();
    }
    CHECK(seen == expected.size());
  }
}

TEST_CASE("a block that does not cover the windows, or malformed blocks, are errors") {
  const PixelRect rect{2, 2, 2, 2};
  const auto statics = statics_over(rect);  // no halo
  const RasterWindows<float> windows(grid, EdgeMode::nodata, 3, &statics, nullptr, 0);
  WindowBatch<float> batch;
  CHECK_THROWS_AS(windows.build(rect, batch), ShapeError);
  const auto series = series_over(rect);
  CHECK_THROWS_AS(RasterWindows<float>(grid, EdgeMode::nodata, 3, nullptr, &series, 4), ShapeError);
  CHECK_THROWS_AS(RasterWindows<float>(grid, EdgeMode::nodata, 4, &statics, nullptr, 0), ConfigError);
  auto short_nodata = statics;
  short_nodata.nodata.pop_back();
  CHECK_THROWS_AS(RasterWindows<float>(grid, EdgeMode::nodata, 3, &short_nodata, nullptr, 0), ShapeError);
}
