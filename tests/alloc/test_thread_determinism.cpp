// Results do not depend on the number of OpenMP threads or on the batch size: predictions are
// computed by the same arithmetic whatever their chunk, lane or thread, and in training each
// branch is computed (and its gradients summed) by one thread.
#include <doctest/doctest.h>

#include <cnnlstm/model.hpp>

#include <omp.h>

#include <vector>

namespace {

using namespace cnnlstm;
using Model = CnnLstmModel<float>;

Model paper_model(double dropout) {
  ModelSpec spec = paper_spec("CNN-LSTM_evi_lsp");
  spec.lstm->dropout = dropout;
  auto model = std::get<Model>(build_model<float>(spec));
  model.initialize(314);
  return model;
}

struct Data {
  Tensor<float, 4> x_cnn;
  Tensor<float, 3> x_lstm;
  Tensor<float, 2> y;

  explicit Data(Index n) : x_cnn(n, 10, 5, 5), x_lstm(n, 10, 12), y(n, 1) {
    Rng rng(static_cast<std::uint64_t>(n));
    for (Index i = 0; i < x_cnn.size(); ++i) x_cnn.data()[i] = static_cast<float>(rng.uniform());
    for (Index i = 0; i < x_lstm.size(); ++i) x_lstm.data()[i] = static_cast<float>(rng.uniform());
    for (Index i = 0; i < y.size(); ++i) y.data()[i] = static_cast<float>(rng.normal());
  }
  Model::Inputs inputs() const { return {x_cnn, x_lstm}; }
  // Sample i alone, as a batch of one.
  Model::Inputs sample(Index i) const {
    return {TensorRef<float, 4>(x_cnn.data() + i * 250, {1, 10, 5, 5}),
            TensorRef<float, 3>(x_lstm.data() + i * 120, {1, 10, 12})};
  }
};

std::vector<float> predictions(Model& model, const Model::Inputs& x, int threads) {
  omp_set_num_threads(threads);
  const auto y = model.predict(x);
  return {y.data(), y.data() + y.size()};
}

// The parameters after a few Adam steps at batch 32 on the given number of threads.
std::vector<float> trained(int threads, double dropout) {
  omp_set_num_threads(threads);
  Model model = paper_model(dropout);
  const Data data(32);
  Adam<float> adam(model.parameters().size(), AdamOptions{});
  MSELoss<float> loss;
  Rng rng(5);
  for (int step = 0; step < 3; ++step) {
    model.zero_grad();
    loss.forward(model.forward(data.inputs(), Context::training(rng)), data.y);
    model.backward(loss.backward());
    adam.step(model.parameters());
  }
  return {model.parameters().values().begin(), model.parameters().values().end()};
}

}  // namespace

TEST_CASE("predictions have the same bits for 1 and 2 threads and for any batch size") {
  Model model = paper_model(0.0);
  const Data data(4096 + 65);  // chunks of 64 and a last chunk of one sample
  const std::vector<float> one = predictions(model, data.inputs(), 1);
  const std::vector<float> two = predictions(model, data.inputs(), 2);
  CHECK(one == two);
  for (const Index i : {Index{0}, Index{17}, Index{4160}}) {
    const std::vector<float> alone = predictions(model, data.sample(i), 1);
    CHECK(alone[0] == one[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("training steps have the same bits for 1 and 2 threads, dropout included") {
  for (const double dropout : {0.0, 0.25}) {
    const std::vector<float> one = trained(1, dropout), two = trained(2, dropout);
    CHECK(one == two);
    CHECK(trained(2, dropout) == two);  // and run to run
  }
}
