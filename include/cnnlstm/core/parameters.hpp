#pragma once
// All trainable tensors of a model live in one flat buffer (and their gradients in a second of the
// same size), in the order the layers declared them, which is PyTorch's state_dict order.
// Layers keep only a ParamSlot (offset and size) into the buffer; a model is therefore copyable
// by value, the optimizer is one loop over the buffer, and a checkpoint is one write.
//
//   ParameterLayout layout;                         // names, shapes, offsets: no storage
//   Linear<float> fc(layout, "fc_final", 32, 1);    // declares fc_final.weight (1, 32), fc_final.bias (1)
//   Parameters<float> params(layout);               // allocates values and gradients, zeroed

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "tensor.hpp"

namespace cnnlstm {

// Where one parameter tensor sits in the flat buffer.
struct ParamSlot {
  Index offset = 0;
  Index size = 0;
};

struct ParameterSpec {
  std::string name;          // PyTorch state_dict name, e.g. "lstm.weight_ih_l0"
  std::vector<Index> shape;  // PyTorch layout, e.g. (4H, F)
  ParamSlot slot;
};

class ParameterLayout {
 public:
  // Far beyond any model that fits in memory, and safely below Index overflow.
  static constexpr Index max_size = Index{1} << 40;

  // Declares a tensor and returns its slot. Names must be unique and dimensions positive.
  ParamSlot add(std::string name, std::vector<Index> shape) {
    if (find(name) != nullptr) throw ConfigError("parameter '" + name + "' is declared twice");
    Index size = 1;
    for (Index d : shape) {
      if (d <= 0)
        throw ConfigError("parameter '" + name + "' has a non-positive dimension " +
                          shape_string(shape));
      if (size > max_size / d || size_ > max_size - size * d)
        throw ConfigError("parameter '" + name + "' of shape " + shape_string(shape) +
                          " makes the model larger than " + std::to_string(max_size) + " numbers");
      size *= d;
    }
    const ParamSlot slot{size_, size};
    specs_.push_back({std::move(name), std::move(shape), slot});
    size_ += size;
    return slot;
  }

  const std::vector<ParameterSpec>& specs() const { return specs_; }
  Index size() const { return size_; }

  const ParameterSpec* find(const std::string& name) const {
    const auto it = std::find_if(specs_.begin(), specs_.end(),
                                 [&](const ParameterSpec& s) { return s.name == name; });
    return it == specs_.end() ? nullptr : &*it;
  }

 private:
  std::vector<ParameterSpec> specs_;
  Index size_ = 0;
};

template <class T>
class Parameters {
 public:
  using Buffer = std::vector<T, Eigen::aligned_allocator<T>>;

  Parameters() = default;
  explicit Parameters(ParameterLayout layout)
      : layout_(std::move(layout)),
        values_(static_cast<std::size_t>(layout_.size()), T(0)),
        grads_(static_cast<std::size_t>(layout_.size()), T(0)) {}

  const ParameterLayout& layout() const { return layout_; }
  Index size() const { return layout_.size(); }

  // The whole flat buffers (optimizers, checkpoints).
  Buffer& values() { return values_; }
  const Buffer& values() const { return values_; }
  Buffer& grads() { return grads_; }
  const Buffer& grads() const { return grads_; }

  T* value(ParamSlot s) { return values_.data() + s.offset; }
  const T* value(ParamSlot s) const { return values_.data() + s.offset; }
  T* grad(ParamSlot s) { return grads_.data() + s.offset; }
  const T* grad(ParamSlot s) const { return grads_.data() + s.offset; }

  // Looks a tensor up by its state_dict name; throws if the model has no such tensor.
  const ParameterSpec& spec(const std::string& name) const {
    const ParameterSpec* s = layout_.find(name);
    if (s == nullptr) throw ConfigError("the model has no parameter named '" + name + "'");
    return *s;
  }

  void zero_grad() { std::fill(grads_.begin(), grads_.end(), T(0)); }

 private:
  ParameterLayout layout_;
  Buffer values_;
  Buffer grads_;
};

}  // namespace cnnlstm
