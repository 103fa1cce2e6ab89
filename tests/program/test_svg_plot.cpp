#include <doctest/doctest.h>

#include "../../examples/soc/svg_plot.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

using namespace cnnlstm;

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// The chart is well formed, and every coordinate is a number.
void check_standalone_svg(const std::string& svg) {
  CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(svg.find("viewBox=\"0 0 ") != std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
}

void check_ticks(const AxisTicks& t, double lo, double hi) {
  REQUIRE(t.values.size() >= 4);
  CHECK(t.values.size() <= 8);
  CHECK(t.labels.size() == t.values.size());
  CHECK(t.values.front() <= lo);
  CHECK(t.values.back() >= hi);
  const double step = t.values[1] - t.values[0];
  CHECK(step > 0);
  // The step is 1, 2, 2.5 or 5 x 10^k.
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
  const bool nice = std::abs(mantissa - 1) < 1e-9 || std::abs(mantissa - 2) < 1e-9 ||
                    std::abs(mantissa - 2.5) < 1e-9 || std::abs(mantissa - 5) < 1e-9;
  CHECK(nice);
  for (std::size_t i = 1; i < t.values.size(); ++i)
    CHECK(t.values[i] - t.values[i - 1] == doctest::Approx(step));
}

const PlotOptions options{"Learning curves", "epoch", "RMSE"};

}  // namespace

TEST_CASE("nice_ticks on [0, 1] gives 0, 0.2, ..., 1") {
  const auto t = nice_ticks(0, 1);
  check_ticks(t, 0, 1);
  CHECK(t.labels == std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"});
  CHECK(t.values[3] == 0.6);
}

TEST_CASE("nice_ticks on [3.7, 48] steps by 5 or 10 from 0 to 50") {
  const auto t = nice_ticks(3.7, 48);
  check_ticks(t, 3.7, 48);
  CHECK(t.values.front() == 0);
  CHECK(t.values.back() == 50);
  CHECK(t.labels == std::vector<std::string>{"0", "10", "20", "30", "40", "50"});
}

TEST_CASE("nice_ticks on small, negative, large and 2.5-step ranges") {
  const auto small = nice_ticks(0.001, 0.004);
  check_ticks(small, 0.001, 0.004);
  CHECK(small.labels.front() == "0.001");
  CHECK(small.labels[1] == "0.0015");
  check_ticks(nice_ticks(-3, 7), -3, 7);
  check_ticks(nice_ticks(-0.37, -0.02), -0.37, -0.02);
  check_ticks(nice_ticks(1, 12345), 1, 12345);
  check_ticks(nice_ticks(1e6, 3e6), 1e6, 3e6);
  const auto quarter = nice_ticks(0, 0.17);
  check_ticks(quarter, 0, 0.17);
  CHECK(quarter.labels ==
        std::vector<std::string>{"0", "0.025", "0.05", "0.075", "0.1", "0.125", "0.15", "0.175"});
  CHECK_THROWS_AS(nice_ticks(2, 1), DataError);
  CHECK_THROWS_AS(nice_ticks(0, not_a_number), DataError);
}

TEST_CASE("nice_ticks pads equal ends so the range is never empty") {
  check_ticks(nice_ticks(5, 5), 5, 5);
  check_ticks(nice_ticks(0, 0), 0, 0);
  check_ticks(nice_ticks(-2e-7, -2e-7), -2e-7, -2e-7);
  const auto t = nice_ticks(5, 5);
  CHECK(t.values.front() < 5);
  CHECK(t.values.back() > 5);
}

TEST_CASE("format_tick drops trailing zeros") {
  CHECK(format_tick(2.5, 3) == "2.5");
  CHECK(format_tick(10, 0) == "10");
  CHECK(format_tick(100, 2) == "100");
  CHECK(format_tick(0.0015, 4) == "0.0015");
  CHECK(format_tick(-0.5, 1) == "-0.5");
}

TEST_CASE("xml_escape escapes markup and quotes in titles, labels and names") {
  CHECK(xml_escape("a & b < c > d \"e\" 'f'") == "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;");
  CHECK(xml_escape(std::string("bell\a")) == "bell");
  const std::string svg =
      line_chart_svg({"<SOC> & \"co\"", "x<1", "y>0"}, {{"a'b", {0, 1}, {0, 1}}});
  check_standalone_svg(svg);
  CHECK(svg.find("&lt;SOC&gt; &amp; &quot;co&quot;") != std::string::npos);
  CHECK(svg.find("x&lt;1") != std::string::npos);
  CHECK(svg.find("a&apos;b") != std::string::npos);
  CHECK(svg.find("<SOC>") == std::string::npos);
}

TEST_CASE("NaN and infinite points are skipped; a series without finite points is in the legend only") {
  const std::vector<PlotSeries> series{{"train", {1, 2, 3, 4}, {1.0, not_a_number, 0.5, infinity}},
                                       {"broken", {1, 2}, {not_a_number, not_a_number}, true}};
  const std::string svg = line_chart_svg(options, series);
  check_standalone_svg(svg);
  CHECK(count(svg, "<polyline") == 2);
  // Two finite points of "train" and one legend marker per series.
  CHECK(count(svg, "<circle") == 2 + 2);
  CHECK(svg.find(">broken</text>") != std::string::npos);
  const std::string scatter =
      scatter_svg(options, {{"test", {1, not_a_number, 3}, {1, 2, -infinity}}}, true);
  check_standalone_svg(scatter);
  CHECK(count(scatter, "<circle") == 1 + 1);
}

TEST_CASE("equal values are padded and drawn without dividing by zero") {
  const std::string line = line_chart_svg(options, {{"flat", {3, 3, 3}, {0.7, 0.7, 0.7}}});
  check_standalone_svg(line);
  CHECK(count(line, "<circle") == 3 + 1);
  const std::string scatter = scatter_svg(options, {{"one", {2}, {2}}}, true);
  check_standalone_svg(scatter);
  CHECK(count(scatter, "<circle") == 1 + 1);
}

TEST_CASE("empty input gives a valid SVG saying no data") {
  const std::vector<std::string> charts{
      line_chart_svg(options, {}), scatter_svg(options, {}, true),
      line_chart_svg(options, {{"empty", {}, {}}}),
      scatter_svg(options, {{"unobserved", {not_a_number}, {1}}}, false)};
  for (const auto& svg : charts) {
    check_standalone_svg(svg);
    CHECK(svg.find(">no data</text>") != std::string::npos);
  }
}

TEST_CASE("scatter with a 1:1 line gives both axes the same ticks") {
  const std::string svg = scatter_svg({"Observed and predicted", "observed", "predicted"},
                                      {{"train", {1, 2, 3}, {1.5, 2.5, 12}}, {"test", {4}, {3}}}, true);
  check_standalone_svg(svg);
  CHECK(svg.find(">1:1 line</text>") != std::string::npos);
  CHECK(svg.find("stroke-dasharray") != std::string::npos);
  // Ticks 0, 2, ..., 12 appear once under the x axis and once beside the y axis.
  CHECK(count(svg, ">12</text>") == 2);
  CHECK(count(svg, ">0</text>") == 2);
}

TEST_CASE("bad input is reported") {
  CHECK_THROWS_AS(line_chart_svg(options, {{"short", {1, 2}, {1}}}), ShapeError);
  PlotOptions tiny = options;
  tiny.width = 120;
  CHECK_THROWS_AS(line_chart_svg(tiny, {{"a", {0, 1}, {0, 1}}}), ConfigError);
}

// Without xmllint the XML parse check is reported as skipped (decided when the test registers).
const bool xmllint_missing = std::system("command -v xmllint > /dev/null 2>&1") != 0;

TEST_CASE("charts parse as XML (xmllint)" * doctest::skip(xmllint_missing)) {
  const auto path = std::filesystem::temp_directory_path() / "cnnlstm_test_svg_plot.svg";
  const std::vector<std::string> charts{
      line_chart_svg({"Curves & <losses>", "epoch", "RMSE \"g/kg\""},
                     {{"train", {1, 2, 3}, {3, 2, 1}},
                      {"validation's", {1, 2, 3}, {3.5, not_a_number, 2}, true}}),
      scatter_svg({"Observed & predicted", "observed", "predicted"},
                  {{"train", {1, 2}, {1.2, 1.9}}, {"test", {3}, {2.5}}}, true),
      line_chart_svg(options, {})};
  for (const auto& svg : charts) {
    std::ofstream(path) << svg;
    CHECK(std::system(("xmllint --noout '" + path.string() + "'").c_str()) == 0);
  }
  std::filesystem::remove(path);
}
