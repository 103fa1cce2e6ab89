#pragma once
// A user-defined branch, written outside the library: it reads a third kind of covariate, plain
// per-site attributes (N, K) such as a legacy soil map's class indicators or a site's land use,
// through a small dense layer. Anything that meets cnnlstm::Branch plugs into SocModel this way.
//   x (N, K) -> fc_site -> ReLU -> (N, features)
// It states every optional trait of the concept (model/branch.hpp), as a branch should: left out,
// a trait takes its cautious default, which is correct but may be slower or skip the scaling.

#include <cnnlstm/model/branch.hpp>
#include <cnnlstm/layers/activation.hpp>

#include <string>

struct SiteBranchOptions {
  cnnlstm::Index attributes = 4;  // K
  cnnlstm::Index features = 8;
  std::string name = "fc_site";
};

template <class T>
class SiteBranch {
 public:
  using Options = SiteBranchOptions;
  using Input = cnnlstm::TensorRef<T, 2>;
  static constexpr const char* input_name = "x_site";
  // No dropout, so SocModel may run this branch on a thread of its own beside the others.
  static constexpr bool draws_random_numbers = false;
  // No feature axis: one-hot class indicators are used as they are (1 would make the model
  // standardise each of the K attributes of (N, K), as suits measured attributes; here it made
  // the example's test RMSE 4.89 g/kg instead of 4.47).
  static constexpr int feature_axis = 0;
  // No forward_lanes / backward_lanes / backward_parameters_lanes: SocModel goes through forward
  // and backward, converting the features to and from its lane layout (the same numbers).

  SiteBranch(cnnlstm::ParameterLayout& layout, const Options& options)
      : options_(options), fc_(layout, options.name, options.attributes, options.features) {}

  cnnlstm::Index output_features() const { return options_.features; }

  void initialize(cnnlstm::Parameters<T>& p, cnnlstm::Rng& rng, const cnnlstm::InitOptions& init) const {
    cnnlstm::initialize_linear(fc_, p, rng, init);
  }

  // x (N, K) -> features (N, features)
  cnnlstm::TensorRef<T, 2> forward(const cnnlstm::Parameters<T>& p, Input x, const cnnlstm::Context& ctx) {
    return relu_.forward(fc_.forward(p, x, ctx), ctx);
  }

  // dfeatures (N, features) -> dx (N, K)
  Input backward(cnnlstm::Parameters<T>& p, cnnlstm::TensorRef<T, 2> dfeatures) {
    return fc_.backward(p, relu_.backward(dfeatures));
  }

 private:
  Options options_;
  cnnlstm::Linear<T> fc_;
  cnnlstm::ReLU<T, 2> relu_;
};
