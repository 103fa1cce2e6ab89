#pragma once
// Cross-validation folds: k random folds, or spatial blocks so that near neighbours do not sit on
// both sides of a split (sites in the same square block of `block_size` map units always share a
// fold; blocks are dealt to folds at random, largest first, to balance the fold sizes).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

struct Fold {
  std::string name;
  std::vector<std::int64_t> train, test;
};

// Test rows of each fold -> folds with the complementary training rows.
inline std::vector<Fold> folds_from_groups(const std::vector<std::vector<std::int64_t>>& groups, Index rows,
                                           const std::string& prefix) {
  std::vector<Fold> folds;
  for (std::size_t f = 0; f < groups.size(); ++f) {
    Fold fold{prefix + " " + std::to_string(f + 1), {}, groups[f]};
    std::vector<bool> in_test(static_cast<std::size_t>(rows), false);
    for (auto r : groups[f]) in_test[static_cast<std::size_t>(r)] = true;
    for (Index r = 0; r < rows; ++r)
      if (!in_test[static_cast<std::size_t>(r)]) fold.train.push_back(r);
    folds.push_back(std::move(fold));
  }
  return folds;
}

inline std::vector<Fold> random_folds(Index k, Index rows, std::uint64_t seed) {
  if (k < 2 || k > rows)
    throw ConfigError("k-fold cross-validation needs 2 <= k <= " + std::to_string(rows) + " rows, got k = " + std::to_string(k));
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
  for (Index i = 0; i < rows; ++i) order[static_cast<std::size_t>(i)] = i;
  Rng rng(seed ^ 0xC0FFEEull);
  rng.shuffle(order.begin(), order.end());
  std::vector<std::vector<std::int64_t>> groups(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < order.size(); ++i) groups[i % static_cast<std::size_t>(k)].push_back(order[i]);
  return folds_from_groups(groups, rows, "fold");
}

// coordinates (N, 2): x, y in map units (metres in a projected CRS).
inline std::vector<Fold> spatial_block_folds(TensorRef<double, 2> coordinates, double block_size, Index k,
                                             std::uint64_t seed) {
  const Index rows = coordinates.dimension(0);
  if (coordinates.dimension(1) != 2)
    throw ShapeError("coordinates must have shape (N, 2), got " + shape_string(coordinates.shape()));
  if (!(block_size > 0) || !std::isfinite(block_size))
    throw ConfigError("the spatial block size must be a positive number, got " + std::to_string(block_size));
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::int64_t>> blocks;
  for (Index i = 0; i < rows; ++i) {
    const double x = coordinates(i, 0), y = coordinates(i, 1);
    if (!std::isfinite(x) || !std::isfinite(y)) throw DataError("coordinates of row " + std::to_string(i) + " are not finite");
    blocks[{static_cast<std::int64_t>(std::floor(x / block_size)), static_cast<std::int64_t>(std::floor(y / block_size))}]
        .push_back(i);
  }
  if (k < 2 || static_cast<std::size_t>(k) > blocks.size())
    throw ConfigError("spatial cross-validation with " + std::to_string(k) + " folds needs at least as many blocks; blocks of " +
                      std::to_string(block_size) + " units give " + std::to_string(blocks.size()) +
                      " (use smaller blocks or fewer folds)");
  std::vector<std::vector<std::int64_t>> shuffled;
  for (auto& [key, members] : blocks) shuffled.push_back(std::move(members));
  Rng rng(seed ^ 0xB10C5ull);
  rng.shuffle(shuffled.begin(), shuffled.end());
  std::stable_sort(shuffled.begin(), shuffled.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::vector<std::vector<std::int64_t>> groups(static_cast<std::size_t>(k));
  for (const auto& block : shuffled) {
    auto smallest = std::min_element(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
    smallest->insert(smallest->end(), block.begin(), block.end());
  }
  for (auto& g : groups) std::sort(g.begin(), g.end());
  return folds_from_groups(groups, rows, "spatial fold");
}

}  // namespace cnnlstm
