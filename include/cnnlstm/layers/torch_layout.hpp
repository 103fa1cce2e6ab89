#pragma once
// The PyTorch-layout API of every layer, written once over the layer's lane-layout pair.
//
// A layer computes in the lane layout (kernels/lane_tensor.hpp), which is what a model uses:
//   forward_lanes([params,] LaneTensor<T, InRank> x, ctx)  -> LaneTensor<T, OutRank> y
//   backward_lanes([params,] LaneTensor<T, OutRank> dy)    -> LaneTensor<T, InRank> dx
// Deriving from TorchLayout<Layer, T, InRank, OutRank> (CRTP) gives it the PyTorch-layout pair
// that users and the gradient checks see, x (N, ...) row-major as in torch:
//   forward([params,] TensorRef<T, InRank> x, ctx)   -> TensorRef<T, OutRank> y
//   backward([params,] TensorRef<T, OutRank> dy)     -> TensorRef<T, InRank> dx
// each a conversion (kernels::to_lanes, from_lanes) around the lane call. The ranks are the
// layer's traits: Flatten is <4, 2>, LastTimeStep <3, 2>, LSTM <3, 3>, Linear <2, 2>.
// A layer with parameters takes them first (const Parameters<T>& forward, Parameters<T>&
// backward), as its lane pair does; which overload exists follows from the lane pair.
// The results are views of the adapter's buffers, valid until the next call of the same method.

#include "../core/context.hpp"
#include "../core/parameters.hpp"
#include "../core/tensor.hpp"
#include "../kernels/lane_tensor.hpp"

namespace cnnlstm {

template <class Layer, class T, int InRank, int OutRank>
class TorchLayout {
  using LanesIn = kernels::LaneTensor<T, InRank>;
  using LanesOut = kernels::LaneTensor<T, OutRank>;

 public:
  // x (N, ...) -> y (N, ...), for a layer without parameters
  TensorRef<T, OutRank> forward(TensorRef<T, InRank> x, const Context& ctx)
    requires requires(Layer& l, const LanesIn& in, const Context& c) { l.forward_lanes(in, c); }
  {
    return kernels::from_lanes(layer().forward_lanes(to_lanes(x), ctx), output_);
  }

  // dy (N, ...) -> dx (N, ...), for a layer without parameters
  TensorRef<T, InRank> backward(TensorRef<T, OutRank> dy)
    requires requires(Layer& l, const LanesOut& g) { l.backward_lanes(g); }
  {
    return kernels::from_lanes(layer().backward_lanes(gradient_to_lanes(dy)), input_gradient_);
  }

  // x (N, ...) -> y (N, ...), for a layer with parameters
  TensorRef<T, OutRank> forward(const Parameters<T>& p, TensorRef<T, InRank> x, const Context& ctx)
    requires requires(Layer& l, const Parameters<T>& q, const LanesIn& in, const Context& c) {
      l.forward_lanes(q, in, c);
    }
  {
    return kernels::from_lanes(layer().forward_lanes(p, to_lanes(x), ctx), output_);
  }

  // dy (N, ...) -> dx (N, ...), accumulating the parameter gradients
  TensorRef<T, InRank> backward(Parameters<T>& p, TensorRef<T, OutRank> dy)
    requires requires(Layer& l, Parameters<T>& q, const LanesOut& g) { l.backward_lanes(q, g); }
  {
    return kernels::from_lanes(layer().backward_lanes(p, gradient_to_lanes(dy)), input_gradient_);
  }

 private:
  Layer& layer() { return static_cast<Layer&>(*this); }
  LanesIn to_lanes(TensorRef<T, InRank> x) { return kernels::to_lanes(x, input_lanes_); }
  LanesOut gradient_to_lanes(TensorRef<T, OutRank> dy) { return kernels::to_lanes(dy, gradient_lanes_); }

  kernels::LaneBuffer<T> input_lanes_, gradient_lanes_;  // x and dy converted to lanes
  TensorBuffer<T, OutRank> output_;                      // y (N, ...)
  TensorBuffer<T, InRank> input_gradient_;               // dx (N, ...)
};

}  // namespace cnnlstm
