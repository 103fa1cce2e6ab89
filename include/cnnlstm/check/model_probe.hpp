#pragma once
// Gradient-check probe for a whole SocModel in double precision (see gradcheck.hpp):
//   ModelProbe probe(model, {x_cnn, x_lstm});   // owns copies of the model and the inputs
//   auto report = check_gradients(probe);       // every parameter and every input element

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gradcheck.hpp"

namespace cnnlstm {

template <class Model, class Inputs = typename Model::Inputs>
class ModelProbe;

template <class Model, class... Refs>
class ModelProbe<Model, std::tuple<Refs...>> {
 public:
  using Buffers = std::tuple<typename BufferFor<Refs>::type...>;

  ModelProbe(Model model, Buffers inputs) : model_(std::move(model)), inputs_(std::move(inputs)) {}

  Model& model() { return model_; }
  Parameters<double>& parameters() { return model_.parameters(); }

  std::vector<GradInput> inputs() {
    std::vector<GradInput> out;
    collect_inputs(out, std::index_sequence_for<Refs...>{});
    return out;
  }
  std::vector<const double*> input_grads() {
    return std::apply([](const auto&... g) { return std::vector<const double*>{g.data()...}; },
                      grads_);
  }

  TensorRef<double, 2> forward(const Context& ctx) {
    return model_.forward(views(std::index_sequence_for<Refs...>{}), ctx);
  }
  void backward(TensorRef<double, 2> dy) { grads_ = model_.backward(dy); }

 private:
  template <std::size_t... I>
  std::tuple<Refs...> views(std::index_sequence<I...>) const {
    return {std::get<I>(inputs_).view()...};
  }
  template <std::size_t... I>
  void collect_inputs(std::vector<GradInput>& out, std::index_sequence<I...>) {
    (out.push_back({Model::input_names[I], std::get<I>(inputs_).data(), std::get<I>(inputs_).size()}),
     ...);
  }

  Model model_;
  Buffers inputs_;
  std::tuple<Refs...> grads_;
};

}  // namespace cnnlstm
