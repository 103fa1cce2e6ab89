// The quick-look PNG of a map (quicklook.hpp): a small RGB canvas, a 5x7 bitmap font, a colour ramp.

#include "quicklook.hpp"

#include "geotiff.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <vector>

namespace soc {
namespace {

using Rgb = std::array<unsigned char, 3>;

// An RGB image (rows, cols, 3), white to start with.
class Canvas {
 public:
  Canvas(Index rows, Index cols) : rows_(rows), cols_(cols), pixels_(std::size_t(rows * cols * 3), 255) {}
  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  const std::vector<unsigned char>& pixels() const { return pixels_; }

  void set(Index r, Index c, const Rgb& colour) {
    if (r < 0 || c < 0 || r >= rows_ || c >= cols_) return;
    std::copy(colour.begin(), colour.end(), pixels_.begin() + std::ptrdiff_t((r * cols_ + c) * 3));
  }
  void fill(Index r, Index c, Index rows, Index cols, const Rgb& colour) {
    for (Index i = r; i < r + rows; ++i)
      for (Index j = c; j < c + cols; ++j) set(i, j, colour);
  }
  void frame(Index r, Index c, Index rows, Index cols, const Rgb& colour) {
    fill(r, c, 1, cols, colour);
    fill(r + rows - 1, c, 1, cols, colour);
    fill(r, c, rows, 1, colour);
    fill(r, c + cols - 1, rows, 1, colour);
  }

 private:
  Index rows_, cols_;
  std::vector<unsigned char> pixels_;
};

// The printable ASCII characters 32..126 in 5x7 pixels: 7 rows, bit 4 the leftmost column. The
// letters with descenders (g, p, q, y) are drawn two rows lower.
constexpr std::array<std::array<unsigned char, 7>, 95> font{{
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04},
    {0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00}, {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A},
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04}, {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03},
    {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D}, {0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08},
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00}, {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}, {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}, {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00},
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}, {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x04, 0x08},
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00},
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04},
    {0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E}, {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11},
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}, {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E},
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F},
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}, {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F},
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E},
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}, {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11},
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}, {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11},
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E},
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}, {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D},
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}, {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E},
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E},
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}, {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A},
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}, {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04},
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}, {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E},
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00}, {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E},
    {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F},
    {0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F},
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E}, {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E},
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F}, {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E},
    {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08}, {0x0F, 0x11, 0x11, 0x0F, 0x01, 0x01, 0x0E},
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}, {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E},
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C}, {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12},
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11},
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}, {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E},
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}, {0x0F, 0x11, 0x11, 0x0F, 0x01, 0x01, 0x01},
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}, {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E},
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06}, {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D},
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04}, {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A},
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11}, {0x11, 0x11, 0x11, 0x0F, 0x01, 0x11, 0x0E},
    {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F}, {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02},
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08},
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00},
}};

constexpr Index text_scale = 2;                     // font pixels per glyph pixel
constexpr Index glyph_width = 6 * text_scale;       // 5 columns and a space
constexpr Index cap_height = 7 * text_scale;
constexpr Index text_height = 9 * text_scale;       // with 2 rows of descenders

// Draws text with its top-left corner at (r, c); characters outside ASCII 32..126 as '?'.
void draw_text(Canvas& canvas, Index r, Index c, const std::string& text, const Rgb& colour) {
  for (char ch : text) {
    const int code = (ch >= 32 && ch <= 126) ? ch - 32 : '?' - 32;
    const auto& glyph = font[std::size_t(code)];
    const Index drop = std::string_view("gpqy").find(ch) == std::string_view::npos ? 0 : 2;
    for (Index y = 0; y < 7; ++y)
      for (Index x = 0; x < 5; ++x)
        if (glyph[std::size_t(y)] & (0x10 >> x))
          canvas.fill(r + (y + drop) * text_scale, c + x * text_scale, text_scale, text_scale, colour);
    c += glyph_width;
  }
}

// A viridis-like ramp, t in [0, 1].
Rgb ramp(double t) {
  static constexpr std::array<Rgb, 9> stops{{{68, 1, 84},     {71, 44, 122},  {59, 81, 139},
                                             {44, 113, 142},  {33, 144, 141}, {39, 173, 129},
                                             {92, 200, 99},   {170, 220, 50}, {253, 231, 37}}};
  const double x = std::clamp(t, 0.0, 1.0) * double(stops.size() - 1);
  const auto i = std::min<std::size_t>(std::size_t(x), stops.size() - 2);
  const double f = x - double(i);
  Rgb out;
  for (std::size_t k = 0; k < 3; ++k) out[k] = static_cast<unsigned char>(std::lround((1 - f) * stops[i][k] + f * stops[i + 1][k]));
  return out;
}

std::string label(double v, double range) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, range >= 20 ? "%.0f" : range >= 2 ? "%.1f" : "%.3g", v);
  return buffer;
}

constexpr Rgb nodata_grey{190, 190, 190}, ink{30, 30, 30};

// The 2nd and 98th percentiles of the valid values ({0, 1} if none).
std::array<double, 2> stretch(const std::vector<float>& values, double nodata) {
  std::vector<float> valid;
  for (float v : values)
    if (std::isfinite(v) && v != static_cast<float>(nodata)) valid.push_back(v);
  if (valid.empty()) return {0, 1};
  std::sort(valid.begin(), valid.end());
  const auto at = [&](double q) { return double(valid[std::size_t(q * double(valid.size() - 1))]); };
  const double low = at(0.02), high = at(0.98);
  return {low, high > low ? high : low + 1};
}

// One panel: a title, the picture (rows, cols) and its colour bar, left edge at `left`; pixels
// outside the area of applicability (outside[i] == 0, when the map has an AOA band) hatched.
struct Panel {
  std::string title;
  std::vector<float> values;
  std::vector<float> outside;  // the AOA band (1 inside, 0 outside), or empty
};

constexpr Rgb hatch_white{255, 255, 255};
bool hatched(Index r, Index c) { return (r + c) % 6 < 2; }

constexpr Index margin = 20, top = 2 * margin + text_height, bar_width = 24, label_width = 12 * glyph_width;

Index panel_width(Index cols, const std::string& title) {
  return std::max(cols + 2 * margin + bar_width + 8 + label_width, static_cast<Index>(title.size()) * glyph_width) + margin;
}

void draw_panel(Canvas& canvas, Index left, Index rows, Index cols, const Panel& panel, double nodata) {
  const auto [low, high] = stretch(panel.values, nodata);
  draw_text(canvas, margin, left, panel.title, ink);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) {
      const float v = panel.values[std::size_t(r * cols + c)];
      const bool missing = !std::isfinite(v) || v == static_cast<float>(nodata);
      const bool outside = !panel.outside.empty() && panel.outside[std::size_t(r * cols + c)] == 0.0f;
      canvas.set(top + r, left + c, missing ? nodata_grey : outside && hatched(r, c) ? hatch_white : ramp((v - low) / (high - low)));
    }
  canvas.frame(top - 1, left - 1, rows + 2, cols + 2, ink);

  const Index bar_left = left + cols + 2 * margin, bar_rows = std::min<Index>(rows, 400);
  for (Index r = 0; r < bar_rows; ++r) canvas.fill(top + r, bar_left, 1, bar_width, ramp(1.0 - double(r) / double(bar_rows - 1)));
  canvas.frame(top - 1, bar_left - 1, bar_rows + 2, bar_width + 2, ink);
  for (int k = 0; k <= 4; ++k) {
    const Index r = top + (bar_rows - 1) * (4 - k) / 4;
    canvas.fill(r, bar_left + bar_width, 1, 6, ink);
    draw_text(canvas, r - cap_height / 2, bar_left + bar_width + 10, label(low + (high - low) * k / 4.0, high - low), ink);
  }
  const Index swatch = top + bar_rows + 2 * margin;
  canvas.fill(swatch, bar_left, cap_height, bar_width, nodata_grey);
  canvas.frame(swatch - 1, bar_left - 1, cap_height + 2, bar_width + 2, ink);
  draw_text(canvas, swatch, bar_left + bar_width + 10, "nodata", ink);
  if (panel.outside.empty()) return;
  const Index second = swatch + cap_height + margin;
  for (Index r = 0; r < cap_height; ++r)
    for (Index c = 0; c < bar_width; ++c) canvas.set(second + r, bar_left + c, hatched(r, c) ? hatch_white : ramp(0.5));
  canvas.frame(second - 1, bar_left - 1, cap_height + 2, bar_width + 2, ink);
  draw_text(canvas, second, bar_left + bar_width + 10, "outside AOA", ink);
}

// The band described `name`, or -1.
Index band_named(const RasterReader& map, const std::string& name) {
  for (Index b = 0; b < map.bands(); ++b)
    if (map.description(b) == name) return b;
  return -1;
}

// Band 1, and with the bands of an ensemble the width of the interval, Q0.95 - Q0.05; with an AOA
// band, the pixels outside it hatched in both.
std::vector<Panel> panels_of(const RasterReader& map, Index rows, Index cols, const std::string& title, double nodata) {
  const auto band = [&](Index b) {
    std::vector<float> values(std::size_t(rows * cols));
    if (b >= 0) map.read_overview(b, rows, cols, values.data());
    return b >= 0 ? values : std::vector<float>{};
  };
  const auto outside = band(band_named(map, "AOA"));
  std::vector<Panel> panels{{title, band(0), outside}};
  const Index q05 = band_named(map, "Q0.05"), q95 = band_named(map, "Q0.95");
  if (q05 < 0 || q95 < 0) return panels;
  auto width = band(q95);
  const auto low = band(q05);
  for (std::size_t i = 0; i < width.size(); ++i)
    if (width[i] != static_cast<float>(nodata) && low[i] != static_cast<float>(nodata)) width[i] -= low[i];
  panels.push_back({"90% interval width (Q0.95 - Q0.05)", std::move(width), outside});
  return panels;
}

}  // namespace

void write_quicklook(const std::string& map_path, const std::string& png_path, const std::string& title, double nodata) {
  const RasterReader map(map_path);
  const RasterSize size = map.grid().size;
  const double scale = 640.0 / double(std::max(size.rows, size.cols));
  const Index rows = std::max<Index>(1, std::lround(double(size.rows) * scale));
  const Index cols = std::max<Index>(1, std::lround(double(size.cols) * scale));
  const auto panels = panels_of(map, rows, cols, title, nodata);
  Index width = margin;
  for (const Panel& p : panels) width += panel_width(cols, p.title);
  Canvas canvas(top + std::max(rows, std::min<Index>(rows, 400) + 3 * margin + text_height) + margin, width);
  Index left = margin;
  for (const Panel& p : panels) {
    draw_panel(canvas, left, rows, cols, p, nodata);
    left += panel_width(cols, p.title);
  }
  write_png(png_path, canvas.rows(), canvas.cols(), canvas.pixels());
}

}  // namespace soc
