// The training ranges of the inputs (soilmap/input_ranges.hpp): fitted on the training rows,
// and the check that refuses wrong units and undeclared nodata values while letting mild
// extrapolation through.

#include <doctest/doctest.h>

#include <cnnlstm/soilmap/training_domain.hpp>

#include <vector>

using namespace cnnlstm;

namespace {

// 10 sites: x_cnn (10, 2, 3, 3) channel c in [c, c + 1]; x_lstm (10, 4, 3) feature f in [0, f + 1].
SoilData<float> sites() {
  SoilData<float> d;
  d.rows = 10;
  d.x_cnn = Tensor<float, 4>(10, 2, 3, 3);
  d.x_lstm = Tensor<float, 3>(10, 4, 3);
  Rng rng(1);
  for (Index i = 0; i < 10; ++i)
    for (Index c = 0; c < 2; ++c)
      for (Index k = 0; k < 9; ++k) (*d.x_cnn)(i, c, k / 3, k % 3) = static_cast<float>(c + rng.uniform(0, 1));
  for (Index i = 0; i < 10; ++i)
    for (Index t = 0; t < 4; ++t)
      for (Index f = 0; f < 3; ++f) (*d.x_lstm)(i, t, f) = static_cast<float>((f + 1) * rng.uniform(0, 1));
  return d;
}

std::vector<float> filled(Index n, float value) { return std::vector<float>(static_cast<std::size_t>(n), value); }

}  // namespace

TEST_CASE("input ranges are the training rows' smallest and largest value per channel and feature") {
  auto d = sites();
  (*d.x_cnn)(9, 1, 1, 1) = 50;  // row 9 is not a training row
  const std::vector<std::int64_t> rows{0, 1, 2, 3, 4, 5, 6, 7, 8};
  const auto r = fit_input_ranges(d, rows);
  REQUIRE(r.channels.size() == 2);
  REQUIRE(r.features.size() == 3);
  CHECK(r.channels[1].min >= 1);
  CHECK(r.channels[1].max <= 2);
  for (const auto row : rows)
    for (Index t = 0; t < 4; ++t) {
      CHECK((*d.x_lstm)(row, t, 2) >= r.features[2].min);
      CHECK((*d.x_lstm)(row, t, 2) <= r.features[2].max);
    }
  CHECK(input_ranges_from_json(to_json(r), "m") == r);
}

TEST_CASE("the range check refuses wrong units and undeclared nodata, not mild extrapolation") {
  const auto d = sites();
  const std::vector<std::int64_t> all{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto ranges = fit_input_ranges(d, all);

  SUBCASE("the training inputs themselves pass") {
    InputRangeCheck check(ranges);
    check.add_sites(d.x_cnn->data(), 3, d.x_lstm->data(), 4, 10);
    CHECK(check.problems().empty());
  }
  SUBCASE("x100 (other units) is refused, naming the channel and the range") {
    InputRangeCheck check(ranges);
    std::vector<float> scaled(d.x_cnn->data(), d.x_cnn->data() + d.x_cnn->size());
    for (auto& v : scaled) v *= 100;
    check.add_sites(scaled.data(), 3, d.x_lstm->data(), 4, 10);
    const auto problems = check.problems({"elevation", "rain"});
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].find("static channel 0 ('elevation')") == 0);
    CHECK(problems[0].find("scale factor") != std::string::npos);
    CHECK(problems[1].find("static channel 1 ('rain')") == 0);
  }
  SUBCASE("a few -9999 values (a nodata value not declared) are refused") {
    InputRangeCheck check(ranges);
    auto values = filled(1000, 0.5f);
    for (int i = 0; i < 5; ++i) values[static_cast<std::size_t>(i * 100)] = -9999;
    check.add_feature(0, values.data(), 1000);
    const auto problems = check.problems();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("series feature 0: 5 of 1000 values") == 0);
    CHECK(problems[0].find("nodata") != std::string::npos);
  }
  SUBCASE("a region a little beyond the range, or a minority far outside it by up to a few spans, passes") {
    InputRangeCheck check(ranges);
    const ValueRange& r = ranges.channels[0];
    auto values = filled(1000, static_cast<float>((r.min + r.max) / 2));
    for (int i = 0; i < 400; ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(r.max + 3 * (r.max - r.min));
    check.add_channel(0, values.data(), 1000);
    CHECK(check.problems().empty());
    CHECK(check.channel(0).outside == 400);
  }
  SUBCASE("non-finite values are not counted (they are nodata)") {
    InputRangeCheck check(ranges);
    const auto values = filled(10, std::numeric_limits<float>::quiet_NaN());
    check.add_channel(1, values.data(), 10);
    CHECK(check.channel(1).values == 0);
    CHECK(check.problems().empty());
  }
  SUBCASE("tallies merge") {
    InputRangeCheck a(ranges), b(ranges);
    const auto high = filled(10, 1000.0f), mid = filled(30, static_cast<float>(ranges.channels[0].min));
    a.add_channel(0, high.data(), 10);
    b.add_channel(0, mid.data(), 30);
    a.merge(b);
    CHECK(a.channel(0).values == 40);
    CHECK(a.channel(0).outside == 10);
    CHECK(a.channel(0).seen.max == 1000);
  }
}

TEST_CASE("a stored training domain is read strictly; files without one have none") {
  const std::map<std::string, std::string> bad{{"input_ranges", R"({"channel_min": [0], "channel_max": [-1]})"}};
  CHECK_THROWS_WITH_AS(stored_training_domain(bad, "m.safetensors"), doctest::Contains("channel 0 has no valid range"), FormatError);
  const std::map<std::string, std::string> unknown{{"input_ranges", R"({"channel_mins": [0]})"}};
  CHECK_THROWS_WITH_AS(stored_training_domain(unknown, "m.safetensors"), doctest::Contains("is not known"), FormatError);
  const std::map<std::string, std::string> not_json{{"area_of_applicability", "{"}};
  CHECK_THROWS_WITH_AS(stored_training_domain(not_json, "m.safetensors"), doctest::Contains("m.safetensors (metadata)"), FormatError);
  const auto none = stored_training_domain({}, "m.safetensors");
  CHECK_FALSE(none.ranges.has_value());
  CHECK_FALSE(none.aoa.has_value());
}

TEST_CASE("the inputs' names travel in the training domain's metadata") {
  TrainingDomain domain;
  domain.names = InputNames{{"elevation", "slope"}, {"evi"}};
  const auto stored = stored_training_domain(training_domain_metadata(domain), "m.safetensors");
  REQUIRE(stored.names.has_value());
  CHECK(*stored.names == *domain.names);
  CHECK_FALSE(stored.ranges.has_value());
  const std::map<std::string, std::string> typo{{"input_names", R"({"channel": ["a"]})"}};
  CHECK_THROWS_WITH_AS(stored_training_domain(typo, "m.safetensors"), doctest::Contains("did you mean \"channels\""), FormatError);
}
