#pragma once
// Prediction over many samples in fixed-size chunks (bounded memory whatever the data size), and
// the accuracy of those predictions.

#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "batching.hpp"
#include "metrics.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

// All rows 0..n-1.
inline std::vector<std::int64_t> all_rows(Index n) {
  std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), std::int64_t{0});
  return rows;
}

// Predictions in target units for the given rows: (rows, outputs), row-major, as double.
template <class Model>
Matrix<double> predict_rows(Model& model, const typename Model::Inputs& inputs,
                            std::span<const std::int64_t> rows, Index chunk = 1024) {
  Matrix<double> out(static_cast<Index>(rows.size()), model.outputs());
  BatchBuffers<typename Model::Inputs> batch;
  for (std::size_t start = 0; start < rows.size(); start += static_cast<std::size_t>(chunk)) {
    const auto part = rows.subspan(start, std::min<std::size_t>(static_cast<std::size_t>(chunk), rows.size() - start));
    batch.gather(inputs, part);
    const auto y = model.predict_view(batch.views());
    out.middleRows(static_cast<Index>(start), y.dimension(0)) =
        y.matrix(y.dimension(0), y.dimension(1)).template cast<double>();
  }
  return out;
}

// Metrics per output of predictions against targets (N, outputs) at the given rows.
template <class T>
std::vector<Metrics> metrics_per_output(const Matrix<double>& predicted, TensorRef<T, 2> targets,
                                        std::span<const std::int64_t> rows) {
  std::vector<Metrics> out;
  for (Index k = 0; k < targets.dimension(1); ++k) {
    std::vector<double> observed, estimate;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      observed.push_back(static_cast<double>(targets(rows[i], k)));
      estimate.push_back(predicted(static_cast<Index>(i), k));
    }
    out.push_back(compute_metrics(observed, estimate));
  }
  return out;
}

}  // namespace cnnlstm
