// The area of applicability (soilmap/applicability.hpp) and its nearest-neighbour search
// (soilmap/nearest_neighbour.hpp): the k-d tree against a brute-force search, the threshold on a
// case worked by hand, a region of covariates far from the training sites falling outside while
// the training sites' own inputs fall inside, importance weights, and the stored record.

#include <doctest/doctest.h>

#include <cnnlstm/soilmap/applicability.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace cnnlstm;

namespace {

std::vector<double> random_points(Index n, Index d, Rng& rng, double lo = 0, double hi = 1) {
  std::vector<double> p(static_cast<std::size_t>(n * d));
  for (auto& v : p) v = rng.uniform(lo, hi);
  return p;
}

NearestNeighbours::Hit brute_force(const std::vector<double>& points, Index d, const double* q,
                                   const std::vector<std::int64_t>& groups, std::int64_t excluded) {
  NearestNeighbours::Hit best;
  double best_sq = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < static_cast<Index>(points.size()) / d; ++i) {
    if (!groups.empty() && groups[static_cast<std::size_t>(i)] == excluded) continue;
    double sq = 0;
    for (Index k = 0; k < d; ++k) sq += std::pow(points[static_cast<std::size_t>(i * d + k)] - q[k], 2);
    if (sq < best_sq) {
      best_sq = sq;
      best.index = i;
    }
  }
  best.distance = std::sqrt(best_sq);
  return best;
}

}  // namespace

TEST_CASE("the k-d tree finds the same nearest point as a brute-force search") {
  Rng rng(11);
  for (const Index n : {1, 7, 8, 9, 100, 1000})
    for (const Index d : {1, 3, 22}) {
      const auto points = random_points(n, d, rng);
      std::vector<std::int64_t> groups;
      for (Index i = 0; i < n; ++i) groups.push_back(i % 5);
      const NearestNeighbours tree(points, d, groups);
      for (int q = 0; q < 50; ++q) {
        const auto query = random_points(1, d, rng, -0.5, 1.5);
        const auto hit = tree.nearest(query.data());
        const auto expected = brute_force(points, d, query.data(), {}, NearestNeighbours::no_group);
        CHECK(hit.index == expected.index);
        CHECK(hit.distance == doctest::Approx(expected.distance).epsilon(1e-12));
        const auto other = tree.nearest(query.data(), q % 5);
        const auto other_expected = brute_force(points, d, query.data(), groups, q % 5);
        CHECK(other.index == other_expected.index);
      }
    }
}

TEST_CASE("the k-d tree copes with duplicated points and all points equal") {
  const std::vector<double> same(40, 2.0);  // 20 points (2.0, 2.0)
  const NearestNeighbours tree(same, 2);
  const double q[] = {0, 0};
  const auto hit = tree.nearest(q);
  CHECK(hit.index == 0);  // ties: the lowest index
  CHECK(hit.distance == doctest::Approx(std::sqrt(8.0)));
  CHECK_THROWS_AS(NearestNeighbours(std::vector<double>(5), 2), ShapeError);
}

TEST_CASE("the threshold is the training DI's upper whisker, worked by hand in one dimension") {
  // Sites at 0, 1, 2, 3, 4 and 10 on one predictor (importance 1), folds alternating 0/1.
  // Standardised: (x - mean) / sd with mean 20/6, sd from the population; distances scale alike,
  // and DI is a ratio of distances, so it can be worked in raw units:
  //   mean distance over the 15 pairs = (20 among 0..4 + 40 to 10) / 15 = 4
  //   cross-fold nearest: 0->1, 1->0 or 2 (1), 2->1 or 3, 3->2 or 4, 4->3, 10 (fold 1)->4 (fold 0): 1, 1, 1, 1, 1, 6
  //   DI = d / 4: five of 0.25 and one of 1.5; Q25 = Q75 = 0.25, IQR 0, the fence 0.25:
  //   the site at 10 is an outlier and the threshold is 0.25.
  const std::vector<double> x{0, 1, 2, 3, 4, 10};
  const auto aoa = AreaOfApplicability::fit(x, 1, 0, {1.0}, {0, 1, 0, 1, 0, 1});
  CHECK(aoa.threshold() == doctest::Approx(0.25));
  CHECK(aoa.record().mean_distance * aoa.record().scale[0] == doctest::Approx(4.0));
  // A new site at 2.5 is 0.5 from the nearest: DI 0.125, inside; at 6, 2 away: DI 0.5, outside.
  const double inside = 2.5, outside = 6;
  CHECK(aoa.dissimilarity(&inside) == doctest::Approx(0.125));
  CHECK(aoa.inside(aoa.dissimilarity(&inside)));
  CHECK(aoa.dissimilarity(&outside) == doctest::Approx(0.5));
  CHECK_FALSE(aoa.inside(aoa.dissimilarity(&outside)));
  const double not_finite = std::numeric_limits<double>::quiet_NaN();
  CHECK(std::isnan(aoa.dissimilarity(&not_finite)));
}

TEST_CASE("covariates far from the training sites fall outside the AOA, the training sites' own inside") {
  // 200 training sites of 3 static channels (5 x 5 windows) and 2 series features (4 years), the
  // inputs soc map builds for a pixel; a "region" of 50 pixels whose channel 1 lies far beyond.
  Rng rng(7);
  const Index n = 200, channels = 3, patch = 5, years = 4, features = 2;
  const auto make = [&](Index rows, double shift) {
    std::vector<float> cnn(static_cast<std::size_t>(rows * channels * patch * patch)), lstm(static_cast<std::size_t>(rows * years * features));
    for (Index i = 0; i < rows; ++i) {
      for (Index c = 0; c < channels; ++c) {
        const double site = rng.uniform(0, 1);
        for (Index k = 0; k < patch * patch; ++k)
          cnn[static_cast<std::size_t>((i * channels + c) * patch * patch + k)] =
              static_cast<float>(site + 0.01 * rng.normal() + (c == 1 ? shift : 0.0));
      }
      for (Index k = 0; k < years * features; ++k) lstm[static_cast<std::size_t>(i * years * features + k)] = static_cast<float>(rng.uniform(0, 1));
    }
    return applicability_predictors<float>(cnn.data(), channels, patch, lstm.data(), years, features, rows);
  };
  const auto training = make(n, 0.0);
  std::vector<std::int64_t> folds;
  for (Index i = 0; i < n; ++i) folds.push_back(i % 5);
  const auto aoa = AreaOfApplicability::fit(training, channels, features, {1, 1, 1, 1, 1}, folds, 3);
  CHECK(aoa.sites() == n);
  Index training_inside = 0;
  for (Index i = 0; i < n; ++i) {
    const double di = aoa.dissimilarity(training.data() + i * 5);
    CHECK(di == doctest::Approx(0).scale(1));  // its own point is in the reference set
    training_inside += aoa.inside(di);
  }
  CHECK(training_inside == n);
  const auto region = make(50, 3.0);  // channel 1 three training ranges above
  for (Index i = 0; i < 50; ++i) CHECK_FALSE(aoa.inside(aoa.dissimilarity(region.data() + i * 5)));
  // New sites from the training distribution: mostly inside (the threshold is the whisker of the
  // cross-validated DI, which such sites resemble).
  const auto fresh = make(400, 0.0);
  Index fresh_inside = 0;
  for (Index i = 0; i < 400; ++i) fresh_inside += aoa.inside(aoa.dissimilarity(fresh.data() + i * 5));
  CHECK(fresh_inside > 360);

  // An unimportant channel does not count: weight 0 for channel 1 puts the region back inside.
  const auto ignoring = AreaOfApplicability::fit(training, channels, features, {1, 0, 1, 1, 1}, folds, 3);
  Index region_inside = 0;
  for (Index i = 0; i < 50; ++i) region_inside += ignoring.inside(ignoring.dissimilarity(region.data() + i * 5));
  CHECK(region_inside > 40);
  CHECK(ignoring.record().weights[1] == 0);
}

TEST_CASE("the AOA's predictors are each channel's window mean and each feature's mean over the years") {
  const std::vector<float> cnn{1, 2, 3, 4, 10, 20, 30, 40};  // 1 site, 2 channels, 2 x 2 window
  const std::vector<float> lstm{1, 5, 3, 7, 5, 9};           // 3 years, 2 features
  const auto p = applicability_predictors<float>(cnn.data(), 2, 2, lstm.data(), 3, 2, 1);
  REQUIRE(p.size() == 4);
  CHECK(p[0] == 2.5);
  CHECK(p[1] == 25);
  CHECK(p[2] == 3);
  CHECK(p[3] == 7);
}

TEST_CASE("the AOA record survives JSON and malformed records are refused, naming the problem") {
  Rng rng(2);
  const auto x = random_points(30, 4, rng);
  std::vector<std::int64_t> folds;
  for (int i = 0; i < 30; ++i) folds.push_back(i % 3);
  const auto aoa = AreaOfApplicability::fit(x, 2, 2, {0.5, -1, 2, 0}, folds);
  CHECK(aoa.record().weights == std::vector<double>{0.25, 0, 1, 0});  // negative counts as 0, largest 1
  const auto back = area_of_applicability_from_json(to_json(aoa), "m.safetensors");
  CHECK(back.record() == aoa.record());
  const double q[] = {0.5, 0.5, 0.5, 0.5};
  CHECK(back.dissimilarity(q) == aoa.dissimilarity(q));

  auto j = to_json(aoa);
  j["weights"] = std::vector<double>{1, 1, 1};
  CHECK_THROWS_WITH_AS(area_of_applicability_from_json(j, "m.safetensors"), doctest::Contains("3 weights"), FormatError);
  j = to_json(aoa);
  j["treshold"] = 1;
  CHECK_THROWS_WITH_AS(area_of_applicability_from_json(j, "m.safetensors"), doctest::Contains("did you mean \"threshold\""),
                       FormatError);
  j = to_json(aoa);
  j["mean_distance"] = -1;
  CHECK_THROWS_AS(area_of_applicability_from_json(j, "m.safetensors"), FormatError);
  CHECK_THROWS_AS(AreaOfApplicability::fit(x, 2, 2, {1, 1, 1, 1}, std::vector<std::int64_t>(30, 0)), DataError);
}
