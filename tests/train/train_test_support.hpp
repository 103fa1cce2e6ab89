#pragma once
// Helpers shared by the training tests.

#include <cnnlstm/model/model_spec.hpp>
#include <cnnlstm/soilmap/simulate.hpp>
#include <cnnlstm/train/trainer.hpp>

#include <algorithm>

namespace cnnlstm::test {

// (N) -> (N, 1)
inline Tensor<float, 2> column(const Tensor<float, 1>& v) {
  Tensor<float, 2> out(v.dimension(0), 1);
  std::copy_n(v.data(), v.size(), out.data());
  return out;
}

// A simulated data set of the paper's shapes and its targets as (N, 1), for the paper's model.
struct SimulatedFixture {
  using Model = CnnLstmModel<float>;
  SimulatedData data;
  Tensor<float, 2> y;
  SimulatedFixture(Index samples, std::uint64_t seed)
      : data(simulate_soil_data({.samples = samples, .seed = seed})), y(column(data.y)) {}
  Trainer<Model>::Data inputs() const { return {{data.x_cnn, data.x_lstm}, y}; }
};

}  // namespace cnnlstm::test
