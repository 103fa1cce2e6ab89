#include <doctest/doctest.h>

#include <cnnlstm/train/dataset.hpp>
#include <cnnlstm/model.hpp>
#include <cnnlstm/soilmap/simulate.hpp>
#include <cnnlstm/train/trainer.hpp>

#include <algorithm>
#include <array>
#include <barrier>
#include <cmath>
#include <thread>

#include "train_test_support.hpp"

using namespace cnnlstm;
using Model = CnnLstmModel<float>;
using Buffer = Parameters<float>::Buffer;

namespace {

struct Fixture : cnnlstm::test::SimulatedFixture {
  Fixture() : SimulatedFixture(120, 21) {}
};

Model fresh_model() {
  Model m({{CnnBranchOptions{}, LstmBranchOptions{}}, DenseHeadOptions{}});
  m.initialize(314);
  return m;
}

TrainerOptions options() {
  TrainerOptions o;
  o.epochs = 8;  // 96 training rows in batches of 32: 24 steps
  o.eval_interval = 8;
  return o;
}

constexpr Index parts = 4;

// Two "processes" (threads here) that each compute every other part and swap them.
struct TwoWorkers {
  std::barrier<> sync{2};
  std::array<std::vector<Buffer>, 2> grads;
  std::array<std::vector<double>, 2> losses;

  GradientSharing<float> sharing(int k) {
    return {parts, [k](Index p) { return p % 2 == k; }, [this, k](std::vector<Buffer>& g, std::vector<double>& l) {
              grads[static_cast<std::size_t>(k)] = g;
              losses[static_cast<std::size_t>(k)] = l;
              sync.arrive_and_wait();
              const auto other = static_cast<std::size_t>(1 - k);
              for (std::size_t p = 0; p < g.size(); ++p)
                if (g[p].empty()) {
                  g[p] = grads[other][p];
                  l[p] = losses[other][p];
                }
              sync.arrive_and_wait();  // the other has read ours before the next step overwrites them
            }};
  }
};

}  // namespace

TEST_CASE("data-parallel training: parts computed by two workers give the one-worker model, bit for bit") {
  Fixture f;
  const std::vector<std::int64_t> rows(f.data.train_index.begin(), f.data.train_index.end());
  Model alone = fresh_model();
  Trainer<Model> one(alone, options());
  one.share_gradients = GradientSharing<float>{parts, [](Index) { return true; }, [](auto&, auto&) {}};
  one.fit(f.inputs(), rows, {});

  TwoWorkers exchange;
  std::array<Model, 2> models{fresh_model(), fresh_model()};
  std::vector<std::thread> workers;
  for (int k = 0; k < 2; ++k)
    workers.emplace_back([&, k] {
      Trainer<Model> t(models[static_cast<std::size_t>(k)], options());
      t.share_gradients = exchange.sharing(k);
      t.fit(f.inputs(), rows, {});
    });
  for (auto& w : workers) w.join();

  const Buffer& expected = alone.parameters().values();
  for (const Model& m : models) CHECK(m.parameters().values() == expected);
  CHECK(expected != fresh_model().parameters().values());  // it trained
}

TEST_CASE("without dropout, data-parallel training gives the plain trainer's weights up to float rounding") {
  // The default model draws no dropout: the parts' gradients summed are the batch's gradient in
  // another order of the sums. After some hundred Adam steps the weights still agree to 1e-5.
  Fixture f;
  const std::vector<std::int64_t> rows(f.data.train_index.begin(), f.data.train_index.end());
  TrainerOptions o = options();
  o.epochs = 70;  // 3 batches per epoch: 210 steps
  o.eval_interval = 70;
  Model plain = fresh_model(), shared = fresh_model();
  Trainer<Model>(plain, o).fit(f.inputs(), rows, {});
  Trainer<Model> t(shared, o);
  t.share_gradients = GradientSharing<float>{parts, [](Index) { return true; }, [](auto&, auto&) {}};
  t.fit(f.inputs(), rows, {});
  for (const auto& spec : plain.parameters().layout().specs()) {
    const float* a = plain.parameters().value(spec.slot);
    const float* b = shared.parameters().value(spec.slot);
    double largest = 0, difference = 0;
    for (Index i = 0; i < spec.slot.size; ++i) {
      largest = std::max(largest, std::abs(double(a[i])));
      difference = std::max(difference, std::abs(double(a[i]) - double(b[i])));
    }
    INFO(spec.name << ": largest difference " << difference << ", largest weight " << largest);
    CHECK(difference <= 1e-5 * largest);
  }
  CHECK(plain.parameters().values() != fresh_model().parameters().values());
}
