#pragma once
// Small, dependency-free SVG charts for the `soc` program: learning curves (line_chart_svg) and
// observed against predicted values (scatter_svg).
//
//   Axes      "nice" ticks: steps of 1, 2, 2.5 or 5 x 10^k, 4 to 8 ticks covering the data; the axis
//             runs from the first tick to the last. Equal values are padded (10 % of the value, or
//             1 around 0), so no range is ever empty.
//   Data      points with a NaN or infinite coordinate are skipped; a series with no finite point
//             appears in the legend only; when no series has a finite point the chart says "no data".
//   Style     Okabe-Ito colours (colour-blind safe) in series order; dashed series stay dashed in
//             the legend; the legend sits right of the plot area, so it never covers data.
//   Scatter   with one_to_one_line both axes share one range, the plot area is square and a dashed
//             grey 1:1 line crosses it.
//
// Text is XML-escaped; the output is a standalone SVG document. Sizes are in pixels; a width or
// height too small for the labels and legend raises ConfigError, x and y of different lengths
// raise ShapeError.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cnnlstm/core/errors.hpp>

namespace cnnlstm {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
  bool dashed = false;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  int width = 720, height = 480;
};

struct AxisTicks {
  std::vector<double> values;       // ascending; the first is <= lo and the last >= hi
  std::vector<std::string> labels;  // the values without trailing zeros
};

// `text` with &, <, >, " and ' replaced by entities; control characters XML 1.0 forbids are dropped.
inline std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += c;
    }
  }
  return out;
}

// `value` with `decimals` digits after the point, then trailing zeros (and a bare point) removed.
inline std::string format_tick(double value, int decimals) {
  std::array<char, 400> buffer{};
  const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                 std::chars_format::fixed, decimals).ptr;
  std::string text(buffer.data(), end);
  if (text.find('.') == std::string::npos) return text;
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text;
}

namespace svg_detail {

// `units` x 10^exponent, divided by an exact power of ten when the exponent is negative so that
// multiples of 0.1, 0.2, ... come out as the nearest doubles (0.6, not 0.6000000000000001).
inline double scale10(double units, int exponent) {
  return exponent >= 0 ? units * std::pow(10.0, exponent) : units / std::pow(10.0, -exponent);
}

// Ticks at multiples of mantissa x 10^exponent from the one at or below lo to the one at or above hi.
inline AxisTicks ticks_with_step(double lo, double hi, double mantissa, int exponent) {
  const double step = scale10(mantissa, exponent);
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  const int decimals = std::max(0, (mantissa == 2.5 ? 1 : 0) - exponent);
  AxisTicks ticks;
  for (double i = first; i <= last; ++i) {
    ticks.values.push_back(scale10(i * mantissa, exponent));
    ticks.labels.push_back(format_tick(ticks.values.back(), decimals));
  }
  return ticks;
}

}  // namespace svg_detail

// Nice ticks covering [lo, hi]: the smallest step of 1, 2, 2.5 or 5 x 10^k giving at most 8 ticks
// (which always gives at least 4). A (near-)empty range is padded first.
inline AxisTicks nice_ticks(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
    throw DataError("nice_ticks: the range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                    "] is not a finite, ordered interval");
  if (hi - lo <= 1e-9 * std::max(std::abs(lo), std::abs(hi))) {
    const double middle = (lo + hi) / 2, pad = middle == 0 ? 1.0 : std::abs(middle) / 10;
    lo = middle - pad;
    hi = middle + pad;
  }
  constexpr std::size_t max_ticks = 8;
  // 10^(exponent + 1) <= hi - lo, so the first candidate step is too small and none is skipped.
  for (int exponent = static_cast<int>(std::floor(std::log10(hi - lo))) - 1;; ++exponent) {
    for (const double mantissa : {1.0, 2.0, 2.5, 5.0}) {
      auto ticks = svg_detail::ticks_with_step(lo, hi, mantissa, exponent);
      if (ticks.values.size() <= max_ticks) return ticks;
    }
  }
}

namespace svg_detail {

struct Point {
  double x, y;
};

struct Range {
  double lo, hi;
};

struct Extent {
  Range x, y;
};

struct LegendEntry {
  std::string name, colour;
  bool line = false, dashed = false, marker = false;
};

// Where the data go on the page: the plot area and the data values at its edges.
struct Frame {
  double left, top, width, height;
  double y_label_x;  // centre of the rotated y-axis label
  Range x, y;
  double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * width; }
  double py(double v) const { return top + height - (v - y.lo) / (y.hi - y.lo) * height; }
};

constexpr double char_width = 7.0;  // average advance of a 12 px sans-serif character
constexpr double legend_row = 20.0;
constexpr double min_plot_side = 80.0;
constexpr std::size_t max_line_markers = 60;  // more points than this: the line alone, no markers
constexpr std::string_view grey = "#666666";

// Okabe & Ito (2008), ordered for contrast on white; yellow comes last.
inline std::string colour(std::size_t index) {
  constexpr std::array<std::string_view, 8> palette{"#0072B2", "#D55E00", "#009E73", "#E69F00",
                                                    "#CC79A7", "#56B4E9", "#000000", "#F0E442"};
  return std::string(palette[index % palette.size()]);
}

inline std::string num(double v) { return format_tick(v, 2); }

inline double text_width(std::string_view text) { return char_width * static_cast<double>(text.size()); }

inline std::vector<std::vector<Point>> finite_points(const std::vector<PlotSeries>& series) {
  std::vector<std::vector<Point>> all;
  for (const auto& s : series) {
    if (s.x.size() != s.y.size())
      throw ShapeError("plot: series '" + s.name + "' has " + std::to_string(s.x.size()) +
                       " x values but " + std::to_string(s.y.size()) + " y values");
    auto& points = all.emplace_back();
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) points.push_back({s.x[i], s.y[i]});
  }
  return all;
}

inline std::optional<Extent> extent_of(const std::vector<std::vector<Point>>& all) {
  std::optional<Extent> e;
  for (const auto& points : all)
    for (const auto& p : points) {
      if (!e) e = Extent{{p.x, p.x}, {p.y, p.y}};
      e->x = {std::min(e->x.lo, p.x), std::max(e->x.hi, p.x)};
      e->y = {std::min(e->y.lo, p.y), std::max(e->y.hi, p.y)};
    }
  return e;
}

inline double legend_width(const std::vector<LegendEntry>& legend) {
  double widest = 0;
  for (const auto& entry : legend) widest = std::max(widest, text_width(entry.name));
  return 52 + widest;
}

// Margins fit the title, tick labels, axis labels and the legend. A `square` plot area is centred
// horizontally, together with its labels and legend.
inline Frame layout(const PlotOptions& o, const AxisTicks& xt, const AxisTicks& yt,
                    const std::vector<LegendEntry>& legend, bool square) {
  double widest_y_label = 0;
  for (const auto& label : yt.labels) widest_y_label = std::max(widest_y_label, text_width(label));
  double left = 42 + widest_y_label;
  const double top = 44, right = legend_width(legend) + 28, bottom = 56;
  double width = o.width - left - right, height = o.height - top - bottom;
  if (square) {
    const double side = std::min(width, height);
    left += (width - side) / 2;
    width = height = side;
  }
  if (width < min_plot_side || height < min_plot_side)
    throw ConfigError("plot: " + std::to_string(o.width) + " x " + std::to_string(o.height) +
                      " px leaves no room for the data beside the labels and legend");
  return {left, top, width, height, left - 24 - widest_y_label,
          {xt.values.front(), xt.values.back()}, {yt.values.front(), yt.values.back()}};
}

inline void add_text(std::string& out, double x, double y, std::string_view text,
                     std::string_view attributes = "") {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about "literal" + std::string&&.
  out.append("<text x=\"").append(num(x)).append("\" y=\"").append(num(y)).append("\"");
  if (!attributes.empty()) out.append(" ").append(attributes);
  out.append(">").append(xml_escape(text)).append("</text>\n");
}

inline void add_line(std::string& out, double x1, double y1, double x2, double y2,
                     std::string_view stroke, std::string_view attributes = "") {
  out += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
         num(y2) + "\" stroke=\"" + std::string(stroke) + "\"";
  if (!attributes.empty()) out.append(" ").append(attributes);
  out += "/>\n";
}

inline void add_marker(std::string& out, double x, double y, double radius, std::string_view fill) {
  out += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(radius) + "\" fill=\"" +
         std::string(fill) + "\"/>\n";
}

inline std::string svg_header(const PlotOptions& o) {
  const std::string w = std::to_string(o.width), h = std::to_string(o.height);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h +
                    "\" viewBox=\"0 0 " + w + " " + h +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  add_text(out, o.width / 2.0, 26, o.title, "text-anchor=\"middle\" font-size=\"16\"");
  return out;
}

inline std::string no_data_svg(const PlotOptions& o) {
  std::string out = svg_header(o);
  add_text(out, o.width / 2.0, o.height / 2.0, "no data", "text-anchor=\"middle\" fill=\"#666666\"");
  return out + "</svg>\n";
}

// Header, grid, tick labels and axis labels: everything drawn beneath the data.
inline std::string open_chart(const PlotOptions& o, const Frame& f, const AxisTicks& xt,
                              const AxisTicks& yt) {
  std::string out = svg_header(o);
  const double bottom = f.top + f.height, right = f.left + f.width;
  for (std::size_t i = 0; i < xt.values.size(); ++i) {
    const double x = f.px(xt.values[i]);
    add_line(out, x, f.top, x, bottom, "#e5e5e5");
    add_line(out, x, bottom, x, bottom + 5, grey);
    add_text(out, x, bottom + 19, xt.labels[i], "text-anchor=\"middle\"");
  }
  for (std::size_t i = 0; i < yt.values.size(); ++i) {
    const double y = f.py(yt.values[i]);
    add_line(out, f.left, y, right, y, "#e5e5e5");
    add_line(out, f.left - 5, y, f.left, y, grey);
    add_text(out, f.left - 8, y + 4, yt.labels[i], "text-anchor=\"end\"");
  }
  add_text(out, f.left + f.width / 2, bottom + 42, o.x_label, "text-anchor=\"middle\"");
  const double label_y = f.top + f.height / 2;
  add_text(out, f.y_label_x, label_y, o.y_label,
           "text-anchor=\"middle\" transform=\"rotate(-90 " + num(f.y_label_x) + " " + num(label_y) + ")\"");
  return out;
}

// The plot-area border and the legend box to its right, then the end of the document.
inline std::string close_chart(std::string out, const Frame& f, const std::vector<LegendEntry>& legend) {
  out += "<rect x=\"" + num(f.left) + "\" y=\"" + num(f.top) + "\" width=\"" + num(f.width) +
         "\" height=\"" + num(f.height) + "\" fill=\"none\" stroke=\"" + std::string(grey) + "\"/>\n";
  const double x0 = f.left + f.width + 16, y0 = f.top;
  out += "<rect x=\"" + num(x0) + "\" y=\"" + num(y0) + "\" width=\"" + num(legend_width(legend)) +
         "\" height=\"" + num(8 + legend_row * static_cast<double>(legend.size())) +
         "\" fill=\"white\" stroke=\"#bbbbbb\"/>\n";
  for (std::size_t i = 0; i < legend.size(); ++i) {
    const auto& entry = legend[i];
    const double y = y0 + 14 + legend_row * static_cast<double>(i);
    if (entry.line)
      add_line(out, x0 + 8, y, x0 + 36, y, entry.colour,
               entry.dashed ? "stroke-width=\"2\" stroke-dasharray=\"6 4\"" : "stroke-width=\"2\"");
    if (entry.marker) add_marker(out, x0 + 22, y, 3, entry.colour);
    add_text(out, x0 + 44, y + 4, entry.name);
  }
  return out + "</svg>\n";
}

inline void add_polyline(std::string& out, const Frame& f, const std::vector<Point>& points,
                         std::string_view stroke, bool dashed) {
  out += "<polyline fill=\"none\" stroke=\"" + std::string(stroke) + "\" stroke-width=\"2\"";
  if (dashed) out += " stroke-dasharray=\"6 4\"";
  out += " points=\"";
  for (const auto& p : points) out += num(f.px(p.x)) + "," + num(f.py(p.y)) + " ";
  out += "\"/>\n";
  if (points.size() > max_line_markers) return;
  for (const auto& p : points) add_marker(out, f.px(p.x), f.py(p.y), 2.5, stroke);
}

}  // namespace svg_detail

// One line per series, with a marker at each point when the series has at most 60 points.
inline std::string line_chart_svg(const PlotOptions& options, const std::vector<PlotSeries>& series) {
  using namespace svg_detail;
  const auto points = finite_points(series);
  const auto extent = extent_of(points);
  if (!extent) return no_data_svg(options);
  const AxisTicks xt = nice_ticks(extent->x.lo, extent->x.hi), yt = nice_ticks(extent->y.lo, extent->y.hi);
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < series.size(); ++i)
    legend.push_back({series[i].name, colour(i), true, series[i].dashed, true});
  const Frame frame = layout(options, xt, yt, legend, false);
  std::string out = open_chart(options, frame, xt, yt);
  for (std::size_t i = 0; i < series.size(); ++i)
    add_polyline(out, frame, points[i], colour(i), series[i].dashed);
  return close_chart(std::move(out), frame, legend);
}

// One colour of points per group; with one_to_one_line, equal axes and a dashed 1:1 line.
inline std::string scatter_svg(const PlotOptions& options, const std::vector<PlotSeries>& groups,
                               bool one_to_one_line) {
  using namespace svg_detail;
  const auto points = finite_points(groups);
  auto extent = extent_of(points);
  if (!extent) return no_data_svg(options);
  if (one_to_one_line) {
    const Range common{std::min(extent->x.lo, extent->y.lo), std::max(extent->x.hi, extent->y.hi)};
    extent = Extent{common, common};
  }
  const AxisTicks xt = nice_ticks(extent->x.lo, extent->x.hi), yt = nice_ticks(extent->y.lo, extent->y.hi);
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < groups.size(); ++i)
    legend.push_back({groups[i].name, colour(i), false, false, true});
  if (one_to_one_line) legend.push_back({"1:1 line", std::string(grey), true, true, false});
  const Frame frame = layout(options, xt, yt, legend, one_to_one_line);
  std::string out = open_chart(options, frame, xt, yt);
  if (one_to_one_line)
    add_line(out, frame.px(frame.x.lo), frame.py(frame.y.lo), frame.px(frame.x.hi), frame.py(frame.y.hi),
             grey, "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"");
  for (std::size_t i = 0; i < groups.size(); ++i) {
    out += "<g fill-opacity=\"0.7\">\n";
    for (const auto& p : points[i]) add_marker(out, frame.px(p.x), frame.py(p.y), 3.5, colour(i));
    out += "</g>\n";
  }
  return close_chart(std::move(out), frame, legend);
}

// Horizontal bars, one per category, top to bottom in the given order (e.g. importances); the
// x axis always includes 0. Non-finite values are drawn as empty rows.
inline std::string bar_chart_svg(const PlotOptions& o, const std::vector<std::string>& labels,
                                 const std::vector<double>& values) {
  using namespace svg_detail;
  if (labels.size() != values.size())
    throw ShapeError("bar chart: " + std::to_string(labels.size()) + " labels for " + std::to_string(values.size()) + " values");
  double lo = 0, hi = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (labels.empty()) return no_data_svg(o);
  const AxisTicks xt = nice_ticks(lo, hi == lo ? lo + 1 : hi);
  double widest = 0;
  for (const auto& label : labels) widest = std::max(widest, text_width(label));
  const double left = 24 + widest, top = 44, bottom = 56, right = 28;
  const double width = o.width - left - right, height = o.height - top - bottom;
  if (width < min_plot_side || height < min_plot_side)
    throw ConfigError("plot: " + std::to_string(o.width) + " x " + std::to_string(o.height) + " px is too small for the bars");
  const Frame f{left, top, width, height, 0, {xt.values.front(), xt.values.back()}, {0, 1}};
  std::string out = svg_header(o);
  for (std::size_t i = 0; i < xt.values.size(); ++i) {
    const double x = f.px(xt.values[i]);
    add_line(out, x, top, x, top + height, "#e5e5e5");
    add_text(out, x, top + height + 19, xt.labels[i], "text-anchor=\"middle\"");
  }
  add_text(out, left + width / 2, top + height + 42, o.x_label, "text-anchor=\"middle\"");
  const double row = height / static_cast<double>(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double y = top + row * static_cast<double>(i);
    add_text(out, left - 8, y + row / 2 + 4, labels[i], "text-anchor=\"end\"");
    if (!std::isfinite(values[i])) continue;
    const double x0 = f.px(std::min(0.0, values[i])), x1 = f.px(std::max(0.0, values[i]));
    out += "<rect x=\"" + num(x0) + "\" y=\"" + num(y + row * 0.15) + "\" width=\"" + num(x1 - x0) + "\" height=\"" +
           num(row * 0.7) + "\" fill=\"" + colour(0) + "\"/>\n";
  }
  add_line(out, f.px(0), top, f.px(0), top + height, grey);
  return out + "</svg>\n";
}

}  // namespace cnnlstm
