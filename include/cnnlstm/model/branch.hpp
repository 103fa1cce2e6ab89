#pragma once
// The branch contract of SocModel. A branch reads one kind of covariate (image patches, yearly
// series, or anything a user adds) and turns each sample into a feature vector; SocModel joins the
// branches' features and feeds them to its dense head.
//
// A type B is a branch of scalar T when it offers:
//   using Options = ...;                                  // its sizes, JSON-free plain struct
//   using Input = TensorRef<T, R>;                        // (N, ...) one sample per row
//   static constexpr const char* input_name;              // for messages, e.g. "x_cnn"
//   B(ParameterLayout& layout, const Options& options);   // declares its parameters
//   Index output_features() const;                        // F of its (N, F) output
//   void initialize(Parameters<T>&, Rng&, const InitOptions&) const;
//   TensorRef<T, 2> forward(const Parameters<T>&, Input x, const Context&);
//   Input backward(Parameters<T>&, TensorRef<T, 2> dfeatures);   // accumulates parameter grads
// It must be copyable (a model is copied for each mapping thread).
// Optional traits that change what SocModel does; each has a cautious default when absent, so a
// branch should state every one (the standard branches and examples/custom_branch.hpp do):
//   static constexpr bool draws_random_numbers;  // false: the branch never draws from the training
//                      context's generator, so SocModel may run it on a thread of its own beside
//                      the others; absent: assumed true, and the branches run one after another
//   static constexpr int feature_axis;           // the axis of Input whose indices are features
//                      (1 for (N, C, P, P) patches, 2 for (N, T, F) series): the model can then
//                      standardise that input feature by feature (input_scaling.hpp); 0 or absent:
//                      the input is used as it is and set_input_scaling refuses a scaling for it
// Optional methods, for speed (SocModel uses them when present, else forward and backward with a
// conversion of the features; the numbers are the same either way):
//   kernels::LaneTensor<T, 2> forward_lanes(const Parameters<T>&, Input x, const Context&);
//   Input backward_lanes(Parameters<T>&, const kernels::LaneTensor<T, 2>& dfeatures);
//                      the features in the lane layout (both or neither: LaneBranch in
//                      soc_model.hpp), which saves a transposition per branch and step
//   void backward_parameters_lanes(Parameters<T>&, const kernels::LaneTensor<T, 2>& dfeatures);
//                      the parameter gradients only, for training, which never needs the input's
//                      gradient; absent: backward_lanes (or backward) and the input's gradient is
//                      dropped

#include <concepts>

#include "../core/context.hpp"
#include "../layers/linear.hpp"
#include "../core/parameters.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

// How Linear layers start. The paper re-initialises every nn.Linear with a Xavier-uniform weight
// and a bias of 0.01; convolutions and the LSTM keep PyTorch's defaults either way.
struct InitOptions {
  bool xavier_linear = true;
  double linear_bias = 0.01;
};

template <class T>
void initialize_linear(const Linear<T>& layer, Parameters<T>& p, Rng& rng, const InitOptions& init) {
  if (init.xavier_linear)
    layer.initialize_xavier(p, rng, static_cast<T>(init.linear_bias));
  else
    layer.initialize(p, rng);
}

template <class B, class T>
concept Branch = std::copy_constructible<B> &&
    std::constructible_from<B, ParameterLayout&, const typename B::Options&> &&
    requires(B b, const B cb, Parameters<T>& p, const Parameters<T>& cp, Rng& rng,
             const InitOptions& init, typename B::Input x, TensorRef<T, 2> dy, const Context& ctx) {
      { B::input_name } -> std::convertible_to<const char*>;
      { cb.output_features() } -> std::convertible_to<Index>;
      cb.initialize(p, rng, init);
      { b.forward(cp, x, ctx) } -> std::same_as<TensorRef<T, 2>>;
      { b.backward(p, dy) } -> std::same_as<typename B::Input>;
    };

}  // namespace cnnlstm
