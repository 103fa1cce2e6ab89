#pragma once
// Mean squared error, PyTorch's nn.MSELoss(reduction='mean'), averaged over every element
// (all samples and all outputs of a multi-output head):
//   L = mean((p - y)^2)        dL/dp = 2 (p - y) / (N * outputs)

#include "../core/tensor.hpp"

namespace cnnlstm {

template <class T>
class MSELoss {
 public:
  // prediction, target (N, outputs) -> L; keeps dL/dprediction for backward()
  T forward(TensorRef<T, 2> prediction, TensorRef<T, 2> target) {
    if (prediction.shape() != target.shape())  // the message is built only on failure
      throw ShapeError("MSELoss: expected a target of the prediction's shape " +
                       shape_string(prediction.shape()) + ", got " + shape_string(target.shape()));
    const Index count = prediction.size();
    if (count == 0) throw ShapeError("MSELoss: the batch is empty");
    grad_.resize(prediction.shape());
    const auto diff = (prediction.matrix(1, count) - target.matrix(1, count)).array();
    grad_.matrix(1, count).array() = diff * (T(2) / static_cast<T>(count));
    return diff.square().sum() / static_cast<T>(count);
  }

  // dL/dprediction (N, outputs) of the last forward
  TensorRef<T, 2> backward() const { return grad_; }

 private:
  TensorBuffer<T, 2> grad_;
};

}  // namespace cnnlstm
