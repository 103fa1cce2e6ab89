#pragma once
// Helpers shared by the training tests.

#include <cnnlstm/core/tensor.hpp>

#include <algorithm>

namespace cnnlstm::test {

// (N) -> (N, 1)
inline Tensor<float, 2> column(const Tensor<float, 1>& v) {
  Tensor<float, 2> out(v.dimension(0), 1);
  std::copy_n(v.data(), v.size(), out.data());
  return out;
}

}  // namespace cnnlstm::test
