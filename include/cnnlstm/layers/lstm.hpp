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
// The input term of every step is one GEMM, Z = X W_ih^T + b_ih + b_hh with X (T N, in) time-major;
// only h_{t-1} W_hh^T (N, H) x (H, 4H) runs step by step. Layer k + 1 reads layer k's output
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
// Sequences are kept time-major, (T, N, .), inside the layer so that every time step is a
// contiguous (N, .) block; x and y are transposed once at the boundary. Buffers only grow, so
// forward and backward allocate nothing after the first call at the largest batch. In evaluation
// the per-layer buffers are workspace only: no dropout mask is drawn and backward is refused.

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../context.hpp"
#include "../init.hpp"
#include "../parameters.hpp"
#include "../tensor.hpp"
#include "activation.hpp"
#include "dropout.hpp"

namespace cnnlstm {

struct LstmOptions {
  Index input_size = 0;   // F
  Index hidden_size = 0;  // H
  Index num_layers = 1;   // L
  double dropout = 0.0;   // p on every layer's output but the top one's, training only
};

namespace detail {

// (A, B, W) -> (B, A, W): swaps the two leading axes, e.g. (N, T, F) <-> (T, N, F).
template <class T>
void swap_leading_axes(TensorRef<T, 3> src, TensorBuffer<T, 3>& dst) {
  const Index a = src.dimension(0), b = src.dimension(1), w = src.dimension(2);
  dst.resize({b, a, w});
  for (Index i = 0; i < a; ++i)
    for (Index j = 0; j < b; ++j)
      std::copy_n(src.data() + (i * b + j) * w, w, dst.data() + (j * a + i) * w);
}

// Time step t of a time-major (T, N, W) buffer as an (N, W) matrix.
template <class T>
MatrixMap<T> time_step(TensorBuffer<T, 3>& b, Index t) {
  const Index n = b.dimension(1), w = b.dimension(2);
  return {b.data() + t * n * w, n, w};
}
template <class T>
ConstMatrixMap<T> time_step(const TensorBuffer<T, 3>& b, Index t) {
  const Index n = b.dimension(1), w = b.dimension(2);
  return {b.data() + t * n * w, n, w};
}

// The whole (T, N, W) buffer as a (T N, W) matrix.
template <class T>
MatrixMap<T> all_steps(TensorBuffer<T, 3>& b) {
  return b.matrix(b.dimension(0) * b.dimension(1), b.dimension(2));
}
template <class T>
ConstMatrixMap<T> all_steps(TensorRef<T, 3> b) {
  return b.matrix(b.dimension(0) * b.dimension(1), b.dimension(2));
}

template <class Function, class Block>
void apply_inplace(Block&& block) {
  using T = typename std::decay_t<Block>::Scalar;
  block = block.unaryExpr([](T v) { return Function::value(v); });
}

}  // namespace detail

template <class T>
class LSTM {
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

  // x (N, T, F) -> y (N, T, H)
  TensorRef<T, 3> forward(const Parameters<T>& p, TensorRef<T, 3> x, const Context& ctx) {
    require_shape(x.dimension(2) == options_.input_size, label_, expected_input_, x.shape());
    if (x.dimension(1) < 1)
      throw ShapeError(label_ + ": expected at least one time step, got " +
                       shape_string(x.shape()));
    cached_ = false;
    dropping_ = ctx.training() && options_.dropout > 0.0;
    detail::swap_leading_axes(x, x_);  // (T, N, F)
    for (std::size_t k = 0; k < layers_.size(); ++k) {
      run_layer(p, layers_[k], layer_input(k));
      if (k + 1 < layers_.size() && dropping_) drop_output(layers_[k], ctx.rng());
    }
    store_final_states();
    detail::swap_leading_axes(layers_.back().hidden.view(), y_);  // (N, T, H)
    cached_ = ctx.training();
    return y_;
  }

  // h_n (L, N, H) and c_n (L, N, H) of the last forward, before dropout.
  TensorRef<T, 3> final_hidden() const { return h_n_; }
  TensorRef<T, 3> final_cell() const { return c_n_; }

  // dy (N, T, H), the gradient of the output sequence -> dx (N, T, F). Accumulates parameter
  // gradients; h_n and c_n contribute none (see the header comment).
  TensorRef<T, 3> backward(Parameters<T>& p, TensorRef<T, 3> dy) {
    if (!cached_) throw UsageError(label_ + ": backward needs a training-mode forward");
    if (dy.shape() != y_.shape())
      throw ShapeError(label_ + " backward: expected gradient " + shape_string(y_.shape()) +
                       ", got " + shape_string(dy.shape()));
    detail::swap_leading_axes(dy, dh_seq_);  // G of the top layer, (T, N, H)
    for (std::size_t k = layers_.size(); k-- > 0;) {
      const Layer& layer = layers_[k];
      backprop_through_time(p, layer);
      accumulate_parameter_grads(p, layer, layer_input(k));
      const auto w_ih = p.matrix(layer.weight_ih, 4 * options_.hidden_size, layer.input_size);
      if (k > 0) {
        // G of the layer below = dX through its dropout mask, (T, N, H)
        detail::all_steps(dh_seq_).noalias() = detail::all_steps(dz_) * w_ih;
        if (dropping_)
          detail::all_steps(dh_seq_).array() *=
              detail::all_steps(layers_[k - 1].mask.view()).array();
      } else {
        dx_tm_.resize(x_.shape());  // (T, N, F)
        detail::all_steps(dx_tm_).noalias() = detail::all_steps(dz_) * w_ih;
      }
    }
    detail::swap_leading_axes(dx_tm_.view(), dx_);  // (N, T, F)
    return dx_;
  }

 private:
  // One layer's parameter slots and its time-major caches.
  struct Layer {
    Index input_size = 0;
    ParamSlot weight_ih, weight_hh, bias_ih, bias_hh;
    TensorBuffer<T, 3> gates;      // (T, N, 4H): z_t, then i, f, g, o after activation
    TensorBuffer<T, 3> cell;       // (T, N, H) c_t
    TensorBuffer<T, 3> tanh_cell;  // (T, N, H) tanh(c_t)
    TensorBuffer<T, 3> hidden;     // (T, N, H) h_t
    TensorBuffer<T, 3> mask;       // (T, N, H) dropout mask of the output (training, not the top)
    TensorBuffer<T, 3> dropped;    // (T, N, H) hidden * mask, the next layer's input
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

  // Layer k's input sequence (T, N, in_k).
  TensorRef<T, 3> layer_input(std::size_t k) const {
    if (k == 0) return x_;
    const Layer& below = layers_[k - 1];
    return dropping_ ? below.dropped.view() : below.hidden.view();
  }

  // input (T, N, in) -> layer.hidden (T, N, H), keeping gates, cell and tanh(cell).
  void run_layer(const Parameters<T>& p, Layer& layer, TensorRef<T, 3> input) {
    const Index steps = input.dimension(0), n = input.dimension(1), h = options_.hidden_size;
    layer.gates.resize({steps, n, 4 * h});
    layer.cell.resize({steps, n, h});
    layer.tanh_cell.resize({steps, n, h});
    layer.hidden.resize({steps, n, h});
    // Z (T N, 4H) = X (T N, in) W_ih^T (in, 4H) + b_ih + b_hh, all steps in one GEMM
    auto z = detail::all_steps(layer.gates);
    z.noalias() =
        detail::all_steps(input) * p.matrix(layer.weight_ih, 4 * h, layer.input_size).transpose();
    z.rowwise() += p.vector(layer.bias_ih);
    z.rowwise() += p.vector(layer.bias_hh);
    const auto w_hh = p.matrix(layer.weight_hh, 4 * h, h);
    for (Index t = 0; t < steps; ++t) {
      auto z_t = detail::time_step(layer.gates, t);  // (N, 4H)
      if (t > 0) z_t.noalias() += detail::time_step(layer.hidden, t - 1) * w_hh.transpose();
      activate_gates(z_t);
      update_cell(layer, t);
    }
  }

  // z_t (N, 4H) -> [sigmoid(z_i) | sigmoid(z_f) | tanh(z_g) | sigmoid(z_o)] in place
  void activate_gates(MatrixMap<T>& z_t) const {
    const Index h = options_.hidden_size;
    detail::apply_inplace<SigmoidFunction>(z_t.leftCols(2 * h));
    detail::apply_inplace<TanhFunction>(z_t.middleCols(2 * h, h));
    detail::apply_inplace<SigmoidFunction>(z_t.rightCols(h));
  }

  // c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t);  all (N, H)
  void update_cell(Layer& layer, Index t) const {
    const Index h = options_.hidden_size;
    const auto gates = detail::time_step(std::as_const(layer.gates), t);
    const auto i = gates.leftCols(h).array(), f = gates.middleCols(h, h).array();
    const auto g = gates.middleCols(2 * h, h).array(), o = gates.rightCols(h).array();
    auto c = detail::time_step(layer.cell, t).array();
    if (t == 0)
      c = i * g;
    else
      c = f * detail::time_step(std::as_const(layer.cell), t - 1).array() + i * g;
    auto tanh_c = detail::time_step(layer.tanh_cell, t).array();
    tanh_c = c.unaryExpr([](T v) { return TanhFunction::value(v); });
    detail::time_step(layer.hidden, t).array() = o * tanh_c;
  }

  // layer.dropped = layer.hidden * mask, mask drawn from the training context's generator
  void drop_output(Layer& layer, Rng& rng) const {
    layer.mask.resize(layer.hidden.shape());
    layer.dropped.resize(layer.hidden.shape());
    draw_dropout_mask(layer.mask.data(), layer.mask.size(), options_.dropout, rng);
    detail::all_steps(layer.dropped) =
        detail::all_steps(layer.hidden.view()).cwiseProduct(detail::all_steps(layer.mask.view()));
  }

  // h_n_[k] = h_{T-1}, c_n_[k] = c_{T-1} of every layer k
  void store_final_states() {
    const Index last = layers_.front().hidden.dimension(0) - 1, n = x_.dimension(1);
    const Index h = options_.hidden_size;
    h_n_.resize({options_.num_layers, n, h});
    c_n_.resize({options_.num_layers, n, h});
    for (std::size_t k = 0; k < layers_.size(); ++k) {
      const Index at = static_cast<Index>(k) * n * h;
      std::copy_n(detail::time_step(std::as_const(layers_[k].hidden), last).data(), n * h,
                  h_n_.data() + at);
      std::copy_n(detail::time_step(std::as_const(layers_[k].cell), last).data(), n * h,
                  c_n_.data() + at);
    }
  }

  // G = dh_seq_ (T, N, H) -> dz_ (T, N, 4H), t = T-1 .. 0
  void backprop_through_time(const Parameters<T>& p, const Layer& layer) {
    const Index steps = dh_seq_.dimension(0), n = dh_seq_.dimension(1), h = options_.hidden_size;
    dz_.resize({steps, n, 4 * h});
    dh_.resize({n, h});
    dc_.resize({n, h});
    dc_.set_zero();
    const auto w_hh = p.matrix(layer.weight_hh, 4 * h, h);
    for (Index t = steps - 1; t >= 0; --t) {
      // dh_t (N, H) = G_t + dz_{t+1} (N, 4H) W_hh (4H, H)
      auto dh = dh_.matrix(n, h);
      dh = detail::time_step(std::as_const(dh_seq_), t);
      if (t + 1 < steps) dh.noalias() += detail::time_step(std::as_const(dz_), t + 1) * w_hh;
      gate_gradients(layer, t);
    }
  }

  // dh_ (N, H) and the carry dc_ = dc_{t+1} * f_{t+1} -> dz_t (N, 4H); leaves dc_ = dc_t * f_t
  void gate_gradients(const Layer& layer, Index t) {
    const Index h = options_.hidden_size;
    const auto gates = detail::time_step(layer.gates, t);
    const auto i = gates.leftCols(h).array(), f = gates.middleCols(h, h).array();
    const auto g = gates.middleCols(2 * h, h).array(), o = gates.rightCols(h).array();
    const auto tanh_c = detail::time_step(layer.tanh_cell, t).array();
    const auto dh = dh_.matrix(dh_.dimension(0), h).array();
    auto dc = dc_.matrix(dc_.dimension(0), h).array();
    auto dz = detail::time_step(dz_, t);
    dc += dh * o * (T(1) - tanh_c.square());
    dz.leftCols(h).array() = dc * g * i * (T(1) - i);
    if (t > 0)
      dz.middleCols(h, h).array() =
          dc * detail::time_step(layer.cell, t - 1).array() * f * (T(1) - f);
    else
      dz.middleCols(h, h).setZero();
    dz.middleCols(2 * h, h).array() = dc * i * (T(1) - g.square());
    dz.rightCols(h).array() = dh * tanh_c * o * (T(1) - o);
    dc *= f;
  }

  // dW_ih += dZ^T X,  dW_hh += dZ[1:]^T H[:-1],  db_ih += colsum(dZ),  db_hh += colsum(dZ)
  void accumulate_parameter_grads(Parameters<T>& p, const Layer& layer, TensorRef<T, 3> input) {
    const Index h = options_.hidden_size, rows = dz_.dimension(0) * dz_.dimension(1);
    const Index recurrent_rows = rows - dz_.dimension(1);  // (T-1) N
    const auto dz = detail::all_steps(dz_.view());         // (T N, 4H)
    p.grad_matrix(layer.weight_ih, 4 * h, layer.input_size).noalias() +=
        dz.transpose() * detail::all_steps(input);
    p.grad_matrix(layer.weight_hh, 4 * h, h).noalias() +=
        dz.bottomRows(recurrent_rows).transpose() *
        detail::all_steps(layer.hidden.view()).topRows(recurrent_rows);
    p.grad_vector(layer.bias_ih) += dz.colwise().sum();
    p.grad_vector(layer.bias_hh) += dz.colwise().sum();
  }

  std::string name_, label_, expected_input_;
  LstmOptions options_;
  std::vector<Layer> layers_;  // one per layer, bottom first
  bool cached_ = false;        // the last forward ran in training mode
  bool dropping_ = false;      // the last forward applied dropout between layers
  TensorBuffer<T, 3> x_;       // (T, N, F) the input, time-major
  TensorBuffer<T, 3> y_;       // (N, T, H) the top layer's output
  TensorBuffer<T, 3> h_n_;     // (L, N, H)
  TensorBuffer<T, 3> c_n_;     // (L, N, H)
  TensorBuffer<T, 3> dh_seq_;  // (T, N, H) G, dL/dh_t from above, of the layer in backward
  TensorBuffer<T, 3> dz_;      // (T, N, 4H) dL/dz_t of the layer in backward
  TensorBuffer<T, 2> dh_;      // (N, H) dL/dh_t of the current step
  TensorBuffer<T, 2> dc_;      // (N, H) carry dL/dc_{t+1} * f_{t+1}, then dL/dc_t
  TensorBuffer<T, 3> dx_tm_;   // (T, N, F)
  TensorBuffer<T, 3> dx_;      // (N, T, F)
};

}  // namespace cnnlstm
