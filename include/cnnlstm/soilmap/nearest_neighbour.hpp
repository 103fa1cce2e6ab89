#pragma once
// Exact nearest-neighbour search in a small Euclidean space: a k-d tree over N points of D
// coordinates (the training sites in the area of applicability's predictor space, applicability.hpp).
//
// The tree splits each node at the median of its widest coordinate, down to leaves of at most
// `leaf_size` points; a query descends to the leaf holding the query point first, then visits a
// sibling only when the splitting plane is nearer than the best distance found so far. The result
// is the exact nearest point (ties: the lowest point index), whatever the tree's shape.
// A query may exclude points by a group label (the training site's cross-validation fold).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

class NearestNeighbours {
 public:
  NearestNeighbours() = default;
  // points (N, D), row-major; groups: one label per point, or empty.
  NearestNeighbours(std::vector<double> points, Index dimensions, std::vector<std::int64_t> groups = {})
      : points_(std::move(points)), groups_(std::move(groups)), dimensions_(dimensions) {
    if (dimensions_ < 1 || points_.size() % static_cast<std::size_t>(dimensions_) != 0)
      throw ShapeError("nearest neighbours: " + std::to_string(points_.size()) + " coordinates do not make points of " +
                       std::to_string(dimensions_));
    const Index n = size();
    if (!groups_.empty() && static_cast<Index>(groups_.size()) != n)
      throw ShapeError("nearest neighbours: " + std::to_string(groups_.size()) + " group labels for " + std::to_string(n) +
                       " points");
    order_.resize(static_cast<std::size_t>(n));
    std::iota(order_.begin(), order_.end(), Index{0});
    if (n > 0) build(0, n);
  }

  Index size() const { return dimensions_ == 0 ? 0 : static_cast<Index>(points_.size()) / dimensions_; }
  Index dimensions() const { return dimensions_; }
  const double* point(Index i) const { return points_.data() + i * dimensions_; }

  struct Hit {
    Index index = -1;                                       // -1: no point qualified
    double distance = std::numeric_limits<double>::infinity();
  };

  // The nearest point to query (D values), skipping points whose group is `excluded_group`.
  Hit nearest(const double* query, std::int64_t excluded_group = no_group) const {
    Hit best;
    double best_sq = std::numeric_limits<double>::infinity();
    if (!nodes_.empty()) search(0, query, excluded_group, best, best_sq);
    best.distance = std::sqrt(best_sq);
    return best;
  }

  static constexpr std::int64_t no_group = std::numeric_limits<std::int64_t>::min();
  static constexpr Index leaf_size = 8;

 private:
  struct Node {
    Index begin = 0, end = 0;    // its points: order_[begin, end)
    Index axis = -1;             // -1: a leaf
    double split = 0;            // points before the median have coordinate <= split
    Index left = -1, right = -1;
  };

  Index build(Index begin, Index end) {
    const Index id = static_cast<Index>(nodes_.size());
    nodes_.push_back({begin, end});
    if (end - begin <= leaf_size) return id;
    const Index axis = widest_axis(begin, end);
    if (axis < 0) return id;  // all points equal: a leaf of any size
    const Index middle = begin + (end - begin) / 2;
    const auto coordinate = [&](Index p) { return points_[static_cast<std::size_t>(p * dimensions_ + axis)]; };
    std::nth_element(order_.begin() + begin, order_.begin() + middle, order_.begin() + end,
                     [&](Index a, Index b) { return coordinate(a) < coordinate(b); });
    const double split = coordinate(order_[static_cast<std::size_t>(middle)]);
    const Index left = build(begin, middle), right = build(middle, end);
    nodes_[static_cast<std::size_t>(id)].axis = axis;
    nodes_[static_cast<std::size_t>(id)].split = split;
    nodes_[static_cast<std::size_t>(id)].left = left;
    nodes_[static_cast<std::size_t>(id)].right = right;
    return id;
  }

  // The coordinate with the largest spread over order_[begin, end), or -1 if every one is constant.
  Index widest_axis(Index begin, Index end) const {
    Index axis = -1;
    double widest = 0;
    for (Index d = 0; d < dimensions_; ++d) {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (Index i = begin; i < end; ++i) {
        const double v = point(order_[static_cast<std::size_t>(i)])[d];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (hi - lo > widest) {
        widest = hi - lo;
        axis = d;
      }
    }
    return axis;
  }

  double squared_distance(const double* a, const double* b, double bound) const {
    double sum = 0;
    for (Index d = 0; d < dimensions_ && sum <= bound; ++d) sum += (a[d] - b[d]) * (a[d] - b[d]);
    return sum;
  }

  void search(Index id, const double* query, std::int64_t excluded, Hit& best, double& best_sq) const {
    const Node& node = nodes_[static_cast<std::size_t>(id)];
    if (node.axis < 0) {
      for (Index i = node.begin; i < node.end; ++i) {
        const Index p = order_[static_cast<std::size_t>(i)];
        if (!groups_.empty() && groups_[static_cast<std::size_t>(p)] == excluded) continue;
        const double sq = squared_distance(query, point(p), best_sq);
        if (sq < best_sq || (sq == best_sq && p < best.index)) {
          best_sq = sq;
          best.index = p;
        }
      }
      return;
    }
    const double gap = query[node.axis] - node.split;
    const Index near = gap <= 0 ? node.left : node.right, far = gap <= 0 ? node.right : node.left;
    search(near, query, excluded, best, best_sq);
    if (gap * gap <= best_sq) search(far, query, excluded, best, best_sq);
  }

  std::vector<double> points_;        // (N, D)
  std::vector<std::int64_t> groups_;  // (N) or empty
  Index dimensions_ = 0;
  std::vector<Index> order_;          // point indices, grouped by node
  std::vector<Node> nodes_;
};

}  // namespace cnnlstm
