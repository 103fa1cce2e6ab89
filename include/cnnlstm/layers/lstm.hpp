#pragma once
// Long short-term memory, PyTorch's nn.LSTM(input_size, hidden_size, num_layers, dropout=p,
// batch_first=True), started from h_0 = c_0 = 0.
//   x (N, T, F)  ->  y (N, T, H), the top layer's output sequence;
//   final_hidden() h_n (L, N, H) and final_cell() c_n (L, N, H) of the last forward.
//
// Parameters of layer k, in PyTorch's state_dict order (in_0 = F, in_k = H for k > 0):
//   name.weight_ih_l{k} (4H, in_k)   name.weight_hh_l{k} (4H, H)
//   name.bias_ih_l{k}   (4H)         name.bias_hh_l{k}   (4H)
// with the gate blocks stacked in the order i, f, g, o along the 4H axis.
//
// Forward, one layer, rows are the N samples (x_t (N, in), h_t and c_t (N, H)):
//   z_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh          (N, 4H) = [z_i | z_f | z_g | z_o]
//   i = sigmoid(z_i)   f = sigmoid(z_f)   g = tanh(z_g)   o = sigmoid(z_o)
//   c_t = f * c_{t-1} + i * g
//   h_t = o * tanh(c_t)
// The input term x_t W_ih^T does not depend on the recurrence; only h_{t-1} W_hh^T (N, H) x (H, 4H)
// must wait for the previous step. Layer k + 1 reads layer k's output
// sequence, through inverted dropout (mask 0 or 1 / (1 - p)) in training; the top layer's output
// is not dropped, and h_n, c_n are taken before dropout.
//
// Backpropagation through time, one layer. G_t = dL/dh_t arrives from above (the output sequence,
// or the next layer's dX times its mask). Going t = T-1 .. 0 with two carries from step t + 1:
//   dh_t  = G_t + dz_{t+1} W_hh                          (recurrent path; none at t = T-1)
//   dc_t  = dh_t * o * (1 - tanh(c_t)^2) + dc_{t+1} * f_{t+1}     (none at t = T-1)
//   dz_o  = dh_t * tanh(c_t) * o (1 - o)
//   dz_i  = dc_t * g * i (1 - i)
//   dz_g  = dc_t * i * (1 - g^2)
//   dz_f  = dc_t * c_{t-1} * f (1 - f)                   (c_{-1} = 0)
// Every step's dz_t goes into dZ (T, N, 4H); after the loop, with sums over t and n:
//   dW_ih += dZ^T X               (4H, T N) x (T N, in)
//   dW_hh += dZ[1:]^T H[:-1]      (4H, (T-1) N) x ((T-1) N, H): h_{t-1} feeds z_t
//   db_ih += colsum(dZ)   db_hh += colsum(dZ)
//   dX     = dZ W_ih              (T N, 4H) x (4H, in)
// backward() takes the gradient of the output sequence only: h_n and c_n are treated as outputs
// nobody differentiates (a model reading the last time step should read it from y, where
// y[:, T-1] equals h_n of the top layer).
//
// Inside a model the layer runs in the lane layout (kernels/lane_tensor.hpp): a sequence is
// (T*F, Np), time-major, the samples along the vector lanes, so every time step is a contiguous
// (F, Np) block and the formulas above hold transposed, z_t (4H, Np) = W_ih x_t + b_ih + b_hh +
// W_hh h_{t-1}: one small GEMM per step for each product (kernels/gemm.hpp) and one fused pass for
// the gate nonlinearities and the cell update (kernels/lstm_cell.hpp). Buffers only grow, so
// forward and backward allocate nothing after the first call at the largest batch. In evaluation
// the per-layer buffers are workspace only: no dropout mask is drawn and backward is refused.
// forward/backward in PyTorch's layout come from TorchLayout (torch_layout.hpp); the dropout mask
// between layers is dropout.hpp's, drawn in the order of PyTorch's (T, N, H).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "../core/context.hpp"
#include "../core/init.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/gemm_nt.hpp"
#include "../kernels/lane_tensor.hpp"
#include "../kernels/lstm_cell.hpp"
#include "../core/parameters.hpp"
#include "../core/tensor.hpp"
#include "dropout.hpp"
#include "torch_layout.hpp"

namespace cnnlstm {

struct LstmOptions {
  Index input_size = 0;   // F
  Index hidden_size = 0;  // H
  Index num_layers = 1;   // L
  double dropout = 0.0;   // p on every layer's output but the top one's, training only
};

template <class T>
class LSTM : public TorchLayout<LSTM<T>, T, 3, 3> {
 public:
  LSTM(ParameterLayout& layout, std::string name, LstmOptions options)
      : name_(std::move(name)),
        label_("LSTM '" + name_ + "'"),
        expected_input_("(N, T, " + std::to_string(options.input_size) + ")"),
        options_(validated(options, label_)),
        layers_(static_cast<std::size_t>(options_.num_layers)) {
    const Index h = options_.hidden_size;
    for (std::size_t k = 0; k < layers_.size(); ++k) {
      const std::string suffix = "_l" + std::to_string(k);
      Layer& layer = layers_[k];
      layer.input_size = k == 0 ? options_.input_size : h;
      layer.weight_ih = layout.add(name_ + ".weight_ih" + suffix, {4 * h, layer.input_size});
      layer.weight_hh = layout.add(name_ + ".weight_hh" + suffix, {4 * h, h});
      layer.bias_ih = layout.add(name_ + ".bias_ih" + suffix, {4 * h});
      layer.bias_hh = layout.add(name_ + ".bias_hh" + suffix, {4 * h});
    }
  }

  const LstmOptions& options() const { return options_; }
  const std::string& name() const { return name_; }

  // PyTorch's default: every tensor U(-1/sqrt(H), 1/sqrt(H)).
  void initialize(Parameters<T>& p, Rng& rng) const {
    const double bound = default_init_bound(options_.hidden_size);
    for (const Layer& layer : layers_)
      for (ParamSlot slot : {layer.weight_ih, layer.weight_hh, layer.bias_ih, layer.bias_hh})
        fill_uniform(p, slot, bound, rng);
  }

  // h_n (L, N, H) and c_n (L, N, H) of the last forward, before dropout.
  TensorRef<T, 3> final_hidden() const { return final_states(&Layer::hidden, h_n_); }
  TensorRef<T, 3> final_cell() const { return final_states(&Layer::cell, c_n_); }

  // x (N, T, F) -> y (N, T, H); in lanes x (T*F, Np) -> y (T*H, Np), the top layer's hidden
  // states. Training keeps a copy of x for backward.
  kernels::LaneTensor<T, 3> forward_lanes(const Parameters<T>& p, const kernels::LaneTensor<T, 3>& x,
                                          const Context& ctx) {
    if (x.shape[2] != options_.input_size)
      throw ShapeError(label_ + ": expected input " + expected_input_ + ", got " + shape_string(x.shape));
    if (x.shape[1] < 1)
      throw ShapeError(label_ + ": expected at least one time step, got " + shape_string(x.shape));
    input_shape_ = x.shape;
    cached_ = false;
    dropping_ = ctx.training() && options_.dropout > 0.0;
    const kernels::LaneView<T> input = ctx.training() ? kernels::copy_lanes(x.lanes, x_cache_) : x.lanes;
    for (std::size_t k = 0; k < layers_.size(); ++k) {
      run_layer(p, layers_[k], k == 0 ? input : layer_output(k - 1), ctx.training());
      if (k + 1 < layers_.size() && dropping_) drop_output(layers_[k], ctx.rng());
    }
    cached_ = ctx.training();
    return {layers_.back().hidden.view(), {x.shape[0], steps(), options_.hidden_size}};
  }

  // dy (N, T, H), the gradient of the output sequence -> dx (N, T, F); in lanes
  // dy (T*H, Np) -> dx (T*F, Np). Accumulates parameter gradients; h_n and c_n contribute none
  // (see the header comment).
  kernels::LaneTensor<T, 3> backward_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 3>& dy) {
    backward_through_layers(p, dy, true);
    return {dx_lanes_.view(), input_shape_};
  }

  // Only the parameter gradients, for a first layer, whose input needs no gradient.
  void backward_parameters_lanes(Parameters<T>& p, const kernels::LaneTensor<T, 3>& dy) {
    backward_through_layers(p, dy, false);
  }

 private:
  // From the top layer down: each layer's parameter gradients, then the gradient of its input
  // (the layer below's output; the LSTM's input itself only with input_gradient).
  void backward_through_layers(Parameters<T>& p, const kernels::LaneTensor<T, 3>& dy, bool input_gradient) {
    if (!cached_) throw UsageError(label_ + ": backward needs a training-mode forward");
    const Shape<3> expected{input_shape_[0], steps(), options_.hidden_size};
    if (dy.shape != expected)
      throw ShapeError(label_ + " backward: expected gradient " + shape_string(expected) + ", got " +
                       shape_string(dy.shape));
    kernels::copy_lanes(dy.lanes, dh_seq_);  // G of the top layer, (T*H, Np)
    for (std::size_t k = layers_.size(); k-- > 0;) {
      const Layer& layer = layers_[k];
      backprop_through_time(p, layer);
      accumulate_parameter_grads(p, layer, k == 0 ? x_cache_.view() : layer_output(k - 1));
      if (k == 0 && !input_gradient) break;
      // dX_t = W_ih^T dz_t: the gradient of the layer's input, G of the layer below
      const kernels::LaneSpan<T> dx =
          (k > 0 ? dh_seq_ : dx_lanes_).resize(steps() * layer.input_size, stride());
      const auto w_ih_t = matrix(p, layer.weight_ih, layer.input_size).transposed();
      for (Index t = 0; t < steps(); ++t)
        kernels::gemm(w_ih_t, step(dz_.view(), t, 4 * options_.hidden_size), step(dx, t, layer.input_size));
      if (k > 0 && dropping_) apply_dropout_mask<T>(dx, layers_[k - 1].mask.view(), dx);
    }
  }

  // One layer's parameter slots and its time-major caches, all (T*rows, Np) lane matrices.
  struct Layer {
    Index input_size = 0;
    ParamSlot weight_ih, weight_hh, bias_ih, bias_hh;
    kernels::LaneBuffer<T> gates;      // (T*4H, Np): z_t, then i, f, g, o after activation
    kernels::LaneBuffer<T> cell;       // (T*H, Np) c_t
    kernels::LaneBuffer<T> tanh_cell;  // (T*H, Np) tanh(c_t)
    kernels::LaneBuffer<T> hidden;     // (T*H, Np) h_t
    kernels::LaneBuffer<T> mask;       // (T*H, Np) dropout mask of the output (training, not the top)
    kernels::LaneBuffer<T> dropped;    // (T*H, Np) hidden * mask, the next layer's input
    std::vector<T> bias;               // (4H) b_ih + b_hh
    kernels::WeightOperand<T> w_ih, w_hh;  // transposed weights for one-sample batches
  };

  static const LstmOptions& validated(const LstmOptions& o, const std::string& label) {
    const auto require_positive = [&](Index v, const char* what) {
      if (v <= 0)
        throw ConfigError(label + ": " + what + " must be positive, got " + std::to_string(v));
    };
    require_positive(o.input_size, "input_size");
    require_positive(o.hidden_size, "hidden_size");
    require_positive(o.num_layers, "num_layers");
    if (!(o.dropout >= 0.0 && o.dropout < 1.0))
      throw ConfigError(label + ": dropout must be in [0, 1), got " + std::to_string(o.dropout));
    return o;
  }

  Index steps() const { return input_shape_[1]; }
  Index stride() const { return kernels::lane_stride<T>(input_shape_[0]); }  // Np

  // A (4H, cols) weight of the layer, row-major.
  kernels::MatrixRef<T> matrix(const Parameters<T>& p, ParamSlot slot, Index cols) const {
    return kernels::MatrixRef<T>::row_major(p.value(slot), 4 * options_.hidden_size, cols);
  }

  // Rows [t*rows, t*rows + rows) of a time-major sequence: time step t, (rows, Np).
  template <class View>
  static View step(const View& seq, Index t, Index rows) { return seq.rows_from(t * rows, rows); }

  // What layer k passes up: its hidden states, through its dropout mask in training.
  kernels::LaneView<T> layer_output(std::size_t k) const {
    return dropping_ ? layers_[k].dropped.view() : layers_[k].hidden.view();
  }

  // input (T*in, Np) -> layer.hidden (T*H, Np) and cell; in training also the gates' activations
  // and tanh(cell).
  void run_layer(const Parameters<T>& p, Layer& layer, const kernels::LaneView<T>& input, bool training) {
    const Index h = options_.hidden_size, np = stride(), count = h * np;
    const kernels::LaneSpan<T> gates = layer.gates.resize(steps() * 4 * h, np);
    const kernels::LaneSpan<T> cell = layer.cell.resize(steps() * h, np);
    const kernels::LaneSpan<T> tanh_cell = layer.tanh_cell.resize(steps() * h, np);
    const kernels::LaneSpan<T> hidden = layer.hidden.resize(steps() * h, np);
    layer.bias.resize(static_cast<std::size_t>(4 * h));
    for (Index j = 0; j < 4 * h; ++j)
      layer.bias[static_cast<std::size_t>(j)] = p.value(layer.bias_ih)[j] + p.value(layer.bias_hh)[j];
    const auto w_ih = layer.w_ih(matrix(p, layer.weight_ih, layer.input_size), np);
    const auto w_hh = layer.w_hh(matrix(p, layer.weight_hh, h), np);
    // z_t (4H, Np) = W_ih x_t + b_ih + b_hh for every t first: off the recurrence's critical path
    for (Index t = 0; t < steps(); ++t)
      kernels::gemm(w_ih, step(input, t, layer.input_size), step(gates, t, 4 * h), layer.bias.data());
    for (Index t = 0; t < steps(); ++t) {
      const kernels::GateBlocks<T*> z{step(gates, t, 4 * h).data, count};
      const T* c_prev = t > 0 ? step(cell, t - 1, h).data : nullptr;
      T *c = step(cell, t, h).data, *tanh_c = step(tanh_cell, t, h).data, *h_t = step(hidden, t, h).data;
      if (t > 0 && np > 1) {  // z_t += W_hh h_{t-1} fused into the cell
        const T* h_prev = step(hidden, t - 1, h).data;
        if (training)
          kernels::lstm_step_forward<true>(p.value(layer.weight_hh), h_prev, z, np, c_prev, c, tanh_c, h_t);
        else
          kernels::lstm_step_forward<false>(p.value(layer.weight_hh), h_prev, z, np, c_prev, c, tanh_c, h_t);
        continue;
      }
      // one sample (the product runs along the gates) or t = 0 (no recurrent term)
      if (t > 0) kernels::gemm_accumulate(w_hh, step(hidden, t - 1, h), step(gates, t, 4 * h));
      if (training)
        kernels::lstm_cell_forward<true>(z, c_prev, c, tanh_c, h_t);
      else
        kernels::lstm_cell_forward<false>(z, c_prev, c, tanh_c, h_t);
    }
  }

  // layer.dropped = layer.hidden * mask, the mask drawn from the training context's generator in
  // the order (t, n, j) of PyTorch's (T, N, H): one block of H rows per time step.
  void drop_output(Layer& layer, Rng& rng) {
    const Index h = options_.hidden_size;
    const kernels::LaneSpan<T> mask = layer.mask.resize(steps() * h, stride());
    draw_dropout_mask(mask, input_shape_[0], 1, h, options_.dropout, rng);
    const kernels::LaneView<T> hidden = layer.hidden.view();
    apply_dropout_mask<T>(hidden, mask, layer.dropped.resize(hidden.rows, hidden.cols));
  }

  // layers_[k]'s states at the last step, (H, Np) -> out[k] (N, H), for every layer k
  TensorRef<T, 3> final_states(kernels::LaneBuffer<T> Layer::*states, TensorBuffer<T, 3>& out) const {
    const Index n = input_shape_[0], h = options_.hidden_size;
    out.resize({options_.num_layers, n, h});
    for (std::size_t k = 0; k < layers_.size(); ++k)
      kernels::from_lanes(step((layers_[k].*states).view(), steps() - 1, h), n, 1,
                          out.data() + static_cast<Index>(k) * n * h);
    return out;
  }

  // G = dh_seq_ (T*H, Np) -> dz_ (T*4H, Np), t = T-1 .. 0; dh_seq_ is overwritten with dL/dh_t
  void backprop_through_time(const Parameters<T>& p, const Layer& layer) {
    const Index h = options_.hidden_size, np = stride();
    const kernels::LaneSpan<T> dz = dz_.resize(steps() * 4 * h, np);
    const kernels::LaneSpan<T> dc = dc_.resize(h, np);
    std::fill_n(dc.data, h * np, T(0));
    const auto w_hh_t = matrix(p, layer.weight_hh, h).transposed();  // (H, 4H)
    const kernels::LaneSpan<T> dh_seq = dh_seq_.span();
    for (Index t = steps() - 1; t >= 0; --t) {
      // dh_t (H, Np) = G_t + W_hh^T dz_{t+1}
      const kernels::LaneSpan<T> dh = step(dh_seq, t, h);
      if (t + 1 < steps()) kernels::gemm_accumulate(w_hh_t, step(dz, t + 1, 4 * h), dh);
      kernels::lstm_cell_backward<T>({step(layer.gates.view(), t, 4 * h).data, h * np},
                                     t > 0 ? step(layer.cell.view(), t - 1, h).data : nullptr,
                                     step(layer.tanh_cell.view(), t, h).data, dh.data, dc.data,
                                     {step(dz, t, 4 * h).data, h * np});
    }
  }

  // dW_ih += sum_t dz_t x_t^T,  dW_hh += sum_{t>0} dz_t h_{t-1}^T,  db_ih, db_hh += sum_t dz_t 1
  void accumulate_parameter_grads(Parameters<T>& p, const Layer& layer, const kernels::LaneView<T>& input) {
    const Index h = options_.hidden_size, np = stride(), t_count = steps();
    const kernels::LaneView<T> dz = dz_.view(), hidden = layer.hidden.view();
    const kernels::LaneBlocks<T> dz_steps{step(dz, 0, 4 * h), t_count, 4 * h * np};
    kernels::gemm_nt<T>(dz_steps, {step(input, 0, layer.input_size), t_count, layer.input_size * np},
                        p.grad(layer.weight_ih), layer.input_size);
    if (t_count > 1)
      kernels::gemm_nt<T>({step(dz, 1, 4 * h), t_count - 1, 4 * h * np},
                          {step(hidden, 0, h), t_count - 1, h * np}, p.grad(layer.weight_hh), h);
    bias_grad_.assign(static_cast<std::size_t>(4 * h), T(0));
    kernels::row_sums<T>(dz_steps, bias_grad_.data());
    for (Index j = 0; j < 4 * h; ++j) {
      p.grad(layer.bias_ih)[j] += bias_grad_[static_cast<std::size_t>(j)];
      p.grad(layer.bias_hh)[j] += bias_grad_[static_cast<std::size_t>(j)];
    }
  }

  std::string name_, label_, expected_input_;
  LstmOptions options_;
  std::vector<Layer> layers_;   // one per layer, bottom first
  bool cached_ = false;         // the last forward ran in training mode
  bool dropping_ = false;       // the last forward applied dropout between layers
  Shape<3> input_shape_{};      // (N, T, F) of the last forward
  kernels::LaneBuffer<T> x_cache_;  // (T*F, Np) the last training input
  kernels::LaneBuffer<T> dh_seq_;   // (T*H, Np) G, then dL/dh_t, of the layer in backward
  kernels::LaneBuffer<T> dz_;       // (T*4H, Np) dL/dz_t of the layer in backward
  kernels::LaneBuffer<T> dc_;       // (H, Np) carry dL/dc_{t+1} * f_{t+1}, then dL/dc_t
  kernels::LaneBuffer<T> dx_lanes_; // (T*F, Np)
  std::vector<T> bias_grad_;        // (4H) sum over t and n of dz
  mutable TensorBuffer<T, 3> h_n_, c_n_;  // (L, N, H), made on request
};

}  // namespace cnnlstm
