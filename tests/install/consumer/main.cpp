// A user's program built against the installed package: a room's header, and the umbrella that
// brings every room of the library (so all of them are installed and find each other).
#include <cnnlstm/layers/linear.hpp>
#include <cnnlstm/soilmap.hpp>

#include <iostream>

int main() {
  cnnlstm::ParameterLayout layout;
  cnnlstm::Linear<float> fc(layout, "fc", 3, 2);
  cnnlstm::Parameters<float> params(layout);
  cnnlstm::Rng rng(7);
  fc.initialize(params, rng);
  cnnlstm::Tensor<float, 2> x(4, 3);
  x.setConstant(1.0f);
  const auto y = fc.forward(params, x, cnnlstm::Context::evaluation());
  std::cout << "consumer: output " << cnnlstm::shape_string(y.shape()) << "\n";
  return y.dimension(0) == 4 && y.dimension(1) == 2 ? 0 : 1;
}
