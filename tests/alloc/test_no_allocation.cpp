// After warm-up, a training step and a prediction call allocate nothing: the layers' buffers only
// grow, the prediction workers are made once, and nothing on the way builds strings or vectors.
//
// Every heap allocation of the process is counted while a flag is set. The global operator new
// and delete are replaced, and so are malloc and its relatives, because Eigen's aligned
// allocator (which the buffers use) and the OpenMP runtime call malloc directly; they forward to
// glibc's own __libc_* functions. This file therefore builds its own test executable
// (tests/CMakeLists.txt: test_alloc).
#include <doctest/doctest.h>

#include <cnnlstm/model.hpp>

#include <omp.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

[[maybe_unused]] void note_allocation() {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

// AddressSanitizer owns malloc and operator new itself: under it (CNNLSTM_SANITIZE) nothing is
// replaced and the counting tests are skipped.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool counting_allocator = false;
#else
constexpr bool counting_allocator = true;

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);

void* malloc(std::size_t size) noexcept {
  note_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  note_allocation();
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  note_allocation();
  return __libc_realloc(p, size);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  *out = __libc_memalign(alignment, size);
  return *out != nullptr || size == 0 ? 0 : ENOMEM;
}
void free(void* p) noexcept { __libc_free(p); }
}

void* operator new(std::size_t size) {
  note_allocation();
  if (void* p = __libc_malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  note_allocation();
  if (void* p = __libc_memalign(static_cast<std::size_t>(alignment), size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
#endif

namespace {

using namespace cnnlstm;
using Model = CnnLstmModel<float>;

struct Batch {
  Tensor<float, 4> x_cnn;
  Tensor<float, 3> x_lstm;
  Tensor<float, 2> y;

  explicit Batch(Index n) : x_cnn(n, 10, 5, 5), x_lstm(n, 10, 12), y(n, 1) {
    x_cnn.setRandom();
    x_lstm.setRandom();
    y.setRandom();
  }
  Model::Inputs inputs() const { return {x_cnn, x_lstm}; }
};

// Allocations made by f() while counting.
template <class F>
long allocations_during(F&& f) {
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return allocations.load();
}

}  // namespace

TEST_CASE("the counting allocator sees operator new, Eigen's aligned buffers and malloc" *
          doctest::skip(!counting_allocator)) {
  CHECK(allocations_during([] { delete new int(1); }) == 1);
  CHECK(allocations_during([] { TensorBuffer<float, 2> b({4, 4}); }) == 1);
  CHECK(allocations_during([] { std::free(std::malloc(8)); }) == 1);
}

TEST_CASE("after warm-up, training steps and predictions allocate nothing, with any thread count" *
          doctest::skip(!counting_allocator)) {
  auto model = std::get<Model>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  model.initialize(314);
  model.set_target_scaling({{12.0}, {3.0}});
  const Batch b32(32), b23(23), b1(1), b4096(4096);
  Adam<float> adam(model.parameters().size(), AdamOptions{});
  MSELoss<float> loss;
  Rng rng(7);
  const auto train_step = [&](const Batch& b, bool input_gradients) {
    model.zero_grad();
    loss.forward(model.forward(b.inputs(), Context::training(rng)), b.y);
    if (input_gradients)
      model.backward(loss.backward());
    else
      model.backward_parameters(loss.backward());
    adam.step(model.parameters());
  };
  const auto run = [&] {
    for (const Batch* b : {&b32, &b23}) {
      train_step(*b, false);
      train_step(*b, true);
    }
    for (const Batch* b : {&b1, &b32, &b4096}) model.predict_view(b->inputs());
  };
  for (const int threads : {1, 2}) {
    omp_set_num_threads(threads);
    run();  // warm-up: buffers reach their largest size, prediction workers are made
    CHECK(allocations_during([&] {
            for (int i = 0; i < 3; ++i) run();
          }) == 0);
  }
}
