#pragma once
// Finite-difference gradient checker for any layer or composition, in double precision.
//
// The function under test is wrapped in a *probe* that offers:
//   Parameters<double>& parameters();
//   std::vector<GradInput> inputs();            // mutable inputs to perturb, by name
//   std::vector<const double*> input_grads();   // after backward, one per input, same sizes
//   TensorRef<double, R> forward(const Context&);
//   void backward(TensorRef<double, R> dout);   // fills parameter and input gradients
// LayerProbe below wraps any one-input layer; models provide their own probes.
//
// The scalar checked is L = sum(output * R) for a fixed random R, so dL/doutput = R. Each
// parameter and input element is perturbed by +-h and the central difference
// (L(+h) - L(-h)) / 2h is compared with the analytic gradient. Dropout is made repeatable by
// seeding the training context identically for every forward pass.
//
// The error of one element is |analytic - numeric| / max(|analytic|, |numeric|, floor): relative
// for gradients above `floor`, absolute below it, where roundoff in the difference dominates.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/context.hpp"
#include "../core/parameters.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

struct GradInput {
  std::string name;
  double* data;
  Index size;
};

struct GradCheckOptions {
  double step = 1e-6;          // h of the central difference
  double floor = 1.0;          // below this magnitude the error is absolute
  std::uint64_t seed = 2024;   // for the projection R and the dropout masks
};

struct GradCheckEntry {
  std::string name;     // parameter or input name
  double worst = 0.0;   // worst element error in this tensor
  Index worst_index = 0;
  double analytic = 0.0, numeric = 0.0;  // at the worst element
};

struct GradCheckReport {
  std::vector<GradCheckEntry> entries;

  double worst_error() const {
    double w = 0.0;
    for (const auto& e : entries) w = std::max(w, e.worst);
    return w;
  }
  std::string summary() const {
    std::string s;
    for (const auto& e : entries)
      s += e.name + "[" + std::to_string(e.worst_index) + "]: error " + std::to_string(e.worst) +
           " (analytic " + std::to_string(e.analytic) + ", numeric " + std::to_string(e.numeric) +
           ")\n";
    return s;
  }
};

namespace detail {

template <class Probe>
double projected_loss(Probe& probe, const std::vector<double>& projection, std::uint64_t seed) {
  Rng rng(seed);
  const auto out = probe.forward(Context::training(rng));
  double loss = 0.0;
  for (Index i = 0; i < out.size(); ++i) loss += out.data()[i] * projection[static_cast<std::size_t>(i)];
  return loss;
}

template <class Probe>
GradCheckEntry compare_tensor(Probe& probe, const std::string& name, double* values,
                              const double* analytic, Index size,
                              const std::vector<double>& projection,
                              const GradCheckOptions& options) {
  GradCheckEntry entry{name};
  for (Index i = 0; i < size; ++i) {
    const double saved = values[i];
    values[i] = saved + options.step;
    const double up = projected_loss(probe, projection, options.seed);
    values[i] = saved - options.step;
    const double down = projected_loss(probe, projection, options.seed);
    values[i] = saved;
    const double numeric = (up - down) / (2.0 * options.step);
    const double scale = std::max({std::abs(analytic[i]), std::abs(numeric), options.floor});
    const double error = std::abs(analytic[i] - numeric) / scale;
    if (!(error <= entry.worst)) {  // also catches NaN
      entry.worst = std::isnan(error) ? INFINITY : error;
      entry.worst_index = i;
      entry.analytic = analytic[i];
      entry.numeric = numeric;
    }
  }
  return entry;
}

}  // namespace detail

template <class Probe>
GradCheckReport check_gradients(Probe& probe, const GradCheckOptions& options = {}) {
  Parameters<double>& params = probe.parameters();

  // Analytic pass with a fixed projection R.
  Rng projection_rng(options.seed ^ 0x5DEECE66Dull);
  Rng rng(options.seed);
  const auto out = probe.forward(Context::training(rng));
  std::vector<double> projection(static_cast<std::size_t>(out.size()));
  for (auto& r : projection) r = projection_rng.uniform(-1.0, 1.0);
  params.zero_grad();
  probe.backward(decltype(out)(projection.data(), out.shape()));
  const std::vector<double> param_grads(params.grads().begin(), params.grads().end());
  std::vector<std::vector<double>> input_grads;
  const auto inputs = probe.inputs();
  const auto grads = probe.input_grads();
  for (std::size_t k = 0; k < inputs.size(); ++k)
    input_grads.emplace_back(grads[k], grads[k] + inputs[k].size);

  GradCheckReport report;
  for (const ParameterSpec& spec : params.layout().specs())
    report.entries.push_back(detail::compare_tensor(probe, spec.name, params.value(spec.slot),
                                                    param_grads.data() + spec.slot.offset,
                                                    spec.slot.size, projection, options));
  for (std::size_t k = 0; k < inputs.size(); ++k)
    report.entries.push_back(detail::compare_tensor(probe, "input " + inputs[k].name,
                                                    inputs[k].data, input_grads[k].data(),
                                                    inputs[k].size, projection, options));
  return report;
}

// Probe for a layer with one input of rank InRank and an output of rank OutRank. Works for
// layers with parameters (forward(params, x, ctx)) and without (forward(x, ctx)).
template <class Layer, int InRank, int OutRank>
class LayerProbe {
 public:
  LayerProbe(Layer layer, ParameterLayout layout, const Shape<InRank>& input_shape,
             std::uint64_t seed = 1)
      : layer_(std::move(layer)), params_(std::move(layout)), input_(input_shape) {
    Rng rng(seed);
    if constexpr (has_parameters) layer_.initialize(params_, rng);
    for (Index i = 0; i < input_.size(); ++i) input_.data()[i] = rng.uniform(-1.0, 1.0);
  }

  Layer& layer() { return layer_; }
  TensorBuffer<double, InRank>& input() { return input_; }
  Parameters<double>& parameters() { return params_; }
  std::vector<GradInput> inputs() { return {{"x", input_.data(), input_.size()}}; }
  std::vector<const double*> input_grads() { return {dx_}; }

  TensorRef<double, OutRank> forward(const Context& ctx) {
    if constexpr (has_parameters)
      return layer_.forward(params_, input_.view(), ctx);
    else
      return layer_.forward(input_.view(), ctx);
  }
  void backward(TensorRef<double, OutRank> dout) {
    if constexpr (has_parameters)
      dx_ = layer_.backward(params_, dout).data();
    else
      dx_ = layer_.backward(dout).data();
  }

 private:
  static constexpr bool has_parameters =
      requires(Layer& l, Parameters<double>& p, Rng& r) { l.initialize(p, r); };

  Layer layer_;
  Parameters<double> params_;
  TensorBuffer<double, InRank> input_;
  const double* dx_ = nullptr;
};

}  // namespace cnnlstm
