#pragma once
// The PyTorch-layout forward/backward of a branch that computes in the lane layout, written once
// (as layers/torch_layout.hpp does for layers). A branch writes
//   kernels::LaneTensor<T, 2> forward_lanes(const Parameters<T>&, Input x, const Context&);
//   Input backward_lanes(Parameters<T>&, const kernels::LaneTensor<T, 2>& dfeatures);
// which is how SocModel runs it, and derives from BranchTorchLayout<Branch, T, Input> (CRTP) for
// the Branch concept's (model/branch.hpp)
//   TensorRef<T, 2> forward(const Parameters<T>&, Input x, const Context&);   features (N, F)
//   Input backward(Parameters<T>&, TensorRef<T, 2> dfeatures);                dfeatures (N, F)
// The features are a view of the adapter's buffer, valid until the next forward.

#include "../core/context.hpp"
#include "../core/parameters.hpp"
#include "../core/tensor.hpp"
#include "../kernels/lane_tensor.hpp"

namespace cnnlstm {

template <class Branch, class T, class Input>
class BranchTorchLayout {
 public:
  // x (N, ...) -> features (N, F)
  TensorRef<T, 2> forward(const Parameters<T>& p, Input x, const Context& ctx) {
    return kernels::from_lanes(branch().forward_lanes(p, x, ctx), features_);
  }

  // dfeatures (N, F) -> dx (N, ...); accumulates the branch's parameter gradients
  Input backward(Parameters<T>& p, TensorRef<T, 2> dfeatures) {
    return branch().backward_lanes(p, kernels::to_lanes(dfeatures, dfeatures_lanes_));
  }

 private:
  Branch& branch() { return static_cast<Branch&>(*this); }

  TensorBuffer<T, 2> features_;             // (N, F)
  kernels::LaneBuffer<T> dfeatures_lanes_;  // (F, Np)
};

}  // namespace cnnlstm
