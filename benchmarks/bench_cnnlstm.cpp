// Benchmarks of the paper's CNN-LSTM_evi_lsp (10x5x5 patches, 10 years x 12 features), the cases
// of issue 5:
//   train_step_b<N>  zero_grad, forward, MSE loss, backward (the parameter gradients only, as the
//                    Trainer does) and an Adam step at batch N (32)
//   infer_b<N>       one prediction call at batch N (1 and 4096)
//   seed_recipe      the paper's run: 1000 epochs over 247 samples, batch 32, evaluation every
//                    10 epochs (a fresh model and Trainer each time)
// Each case warms up, then takes timed rounds until the median settles, and reports the median.
//
//   bench_cnnlstm [--json] [--threads N] [--cases train_step_b32,infer_b1,...]
// --json prints one line per case:
//   {"impl": "cnnlstm", "case": "train_step_b32", "threads": 2, "us_per_iter": ..., "samples_per_s": ...}

#include <cnnlstm/model.hpp>
#include <cnnlstm/soilmap/applicability.hpp>
#include <cnnlstm/train/trainer.hpp>

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace cnnlstm;
using Model = CnnLstmModel<float>;
using Clock = std::chrono::steady_clock;

constexpr Index channels = 10, patch = 5, years = 10, features = 12;
constexpr Index recipe_samples = 247, recipe_epochs = 1000;

struct Options {
  bool json = false;
  int threads = 1;
  std::vector<std::string> cases{"train_step_b32", "infer_b1", "infer_b4096", "seed_recipe"};
};

// Random inputs in [0, 1] and targets 12 + 3 z for n samples, fixed by the seed.
struct Batch {
  Tensor<float, 4> x_cnn;
  Tensor<float, 3> x_lstm;
  Tensor<float, 2> y;

  Batch(Index n, std::uint64_t seed) : x_cnn(n, channels, patch, patch), x_lstm(n, years, features), y(n, 1) {
    Rng rng(seed);
    for (Index i = 0; i < x_cnn.size(); ++i) x_cnn.data()[i] = static_cast<float>(rng.uniform());
    for (Index i = 0; i < x_lstm.size(); ++i) x_lstm.data()[i] = static_cast<float>(rng.uniform());
    for (Index i = 0; i < y.size(); ++i) y.data()[i] = static_cast<float>(12.0 + 3.0 * rng.normal());
  }
  Model::Inputs inputs() const { return {x_cnn, x_lstm}; }
};

Model paper_model() {
  auto model = std::get<Model>(build_model<float>(paper_spec("CNN-LSTM_evi_lsp")));
  model.initialize(314);
  return model;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Microseconds per call of op: warm up for about 0.3 s (at least one call), then rounds of timed
// measurements (each long enough to time well) until a round's median is within 2% of the
// overall median. Calls of a second or more (the seed recipe) get one round of three.
template <class Op>
double median_us(Op&& op) {
  const auto warm = Clock::now();
  Index calls = 0;
  while (calls < 1 || seconds_since(warm) < 0.3) op(), ++calls;
  const double per_call = seconds_since(warm) / static_cast<double>(calls);
  const Index reps = std::max<Index>(1, static_cast<Index>(0.02 / per_call));
  const bool slow = per_call >= 1.0;
  const int per_round = slow ? 3 : 5, max_rounds = slow ? 1 : 8;
  std::vector<double> all;
  for (int round = 0; round < max_rounds; ++round) {
    std::vector<double> this_round;
    for (int i = 0; i < per_round; ++i) {
      const auto start = Clock::now();
      for (Index r = 0; r < reps; ++r) op();
      this_round.push_back(seconds_since(start) * 1e6 / static_cast<double>(reps));
    }
    all.insert(all.end(), this_round.begin(), this_round.end());
    const double overall = median(all);
    if (round > 0 && std::abs(median(this_round) - overall) <= 0.02 * overall) break;
  }
  return median(all);
}

// Index after "<prefix>_b" in a case name such as "infer_b4096"; 0 if the name does not match.
Index batch_of(const std::string& name, const std::string& prefix) {
  const std::string head = prefix + "_b";
  if (name.rfind(head, 0) != 0 || name.size() == head.size()) return 0;
  const std::string digits = name.substr(head.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return 0;
  return std::stol(digits);
}

double train_step_us(Index n) {
  Model model = paper_model();
  const Batch batch(n, 1);
  Adam<float> adam(model.parameters().size(), AdamOptions{});
  MSELoss<float> loss;
  Rng rng(2);
  return median_us([&] {
    model.zero_grad();
    const auto y = model.forward(batch.inputs(), Context::training(rng));
    loss.forward(y, batch.y);
    model.backward_parameters(loss.backward());
    adam.step(model.parameters());
  });
}

double infer_us(Index n) {
  Model model = paper_model();
  const Batch batch(n, 3);
  volatile float sink = 0;
  const double us = median_us([&] { sink = sink + model.predict_view(batch.inputs())(0, 0); });
  return us;
}

double seed_recipe_us() {
  const Batch data(recipe_samples, 4);
  const std::vector<std::int64_t> rows = all_rows(recipe_samples);
  TrainerOptions options;
  options.epochs = recipe_epochs;
  options.batch_size = 32;
  options.eval_interval = 10;
  options.patience = 0;
  return median_us([&] {
    Model model = paper_model();
    Trainer<Model> trainer(model, options);
    trainer.fit({data.inputs(), data.y}, rows, {});
  });
}

// The dissimilarity index of the 4096 pixels of a 64 x 64 map against an area of applicability
// of `sites` training sites (soilmap/applicability.hpp): 22 predictors, each a smooth field over
// the map (two waves of random direction) plus 2% noise; the sites are random pixels. aoa_s<N>:
// the pixels in row order, as soc map asks; aoa_random_s<N>: in a random order.
double aoa_us(Index sites, bool in_map_order) {
  constexpr Index side = 64, dims = channels + features;
  Rng rng(5);
  std::vector<std::array<double, 4>> waves(static_cast<std::size_t>(dims));
  for (auto& w : waves) w = {rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), rng.uniform(0, 6.3), rng.uniform(0.5, 2)};
  const auto value = [&](Index k, Index r, Index c) {
    const auto& w = waves[static_cast<std::size_t>(k)];
    return w[3] * std::sin(w[0] * double(r) + w[1] * double(c) + w[2]) + std::cos(w[1] * double(r) - w[0] * double(c)) +
           0.02 * rng.normal();
  };
  std::vector<double> pixels(static_cast<std::size_t>(side * side * dims)), training;
  for (Index p = 0; p < side * side; ++p)
    for (Index k = 0; k < dims; ++k) pixels[static_cast<std::size_t>(p * dims + k)] = value(k, p / side, p % side);
  std::vector<std::int64_t> folds;
  for (Index i = 0; i < sites; ++i) {
    const auto p = static_cast<Index>(rng.below(side * side));
    for (Index k = 0; k < dims; ++k) training.push_back(value(k, p / side, p % side));
    folds.push_back(i % 5);
  }
  const auto aoa = AreaOfApplicability::fit(training, channels, features, std::vector<double>(std::size_t(dims), 1.0), folds);
  std::vector<Index> order(static_cast<std::size_t>(side * side));
  for (Index p = 0; p < side * side; ++p) order[static_cast<std::size_t>(p)] = p;
  if (!in_map_order) rng.shuffle(order.begin(), order.end());
  volatile double sink = 0;
  return median_us([&] {
    std::vector<double> scratch(static_cast<std::size_t>(dims));
    for (const Index p : order) sink = sink + aoa.dissimilarity(pixels.data() + p * dims, scratch.data());
  });
}

struct Result {
  std::string name;
  double us = 0, samples_per_s = 0;
};

Result run_case(const std::string& name) {
  if (name == "seed_recipe") {
    const double us = seed_recipe_us();
    return {name, us, static_cast<double>(recipe_samples * recipe_epochs) / (us * 1e-6)};
  }
  if (const Index n = batch_of(name, "train_step"); n > 0) {
    const double us = train_step_us(n);
    return {name, us, static_cast<double>(n) / (us * 1e-6)};
  }
  if (const Index n = batch_of(name, "infer"); n > 0) {
    const double us = infer_us(n);
    return {name, us, static_cast<double>(n) / (us * 1e-6)};
  }
  for (const std::string prefix : {"aoa_s", "aoa_random_s"})
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(), ::isdigit)) {
      const double us = aoa_us(std::stol(name.substr(prefix.size())), prefix == "aoa_s");
      return {name, us, 4096.0 / (us * 1e-6)};
    }
  throw ConfigError("unknown case \"" + name +
                    "\"; known: train_step_b<N>, infer_b<N>, seed_recipe, aoa_s<N>, aoa_random_s<N> (DI of 4096 pixels, N training sites)");
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream s(list);
  for (std::string item; std::getline(s, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--json") o.json = true;
    else if (arg == "--threads" && has_value) o.threads = std::stoi(argv[++i]);
    else if (arg == "--cases" && has_value) o.cases = split(argv[++i]);
    else
      throw ConfigError("usage: bench_cnnlstm [--json] [--threads N] [--cases a,b,...]; got \"" + arg + "\"");
  }
  if (o.threads < 1) throw ConfigError("--threads must be at least 1");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    omp_set_num_threads(options.threads);
    if (!options.json) std::printf("%-18s %8s %14s %14s\n", "case", "threads", "us/iter", "samples/s");
    for (const std::string& name : options.cases) {
      const Result r = run_case(name);
      if (options.json)
        std::printf("{\"impl\": \"cnnlstm\", \"case\": \"%s\", \"threads\": %d, \"us_per_iter\": %.3f, "
                    "\"samples_per_s\": %.1f}\n",
                    r.name.c_str(), options.threads, r.us, r.samples_per_s);
      else
        std::printf("%-18s %8d %14.2f %14.0f\n", r.name.c_str(), options.threads, r.us, r.samples_per_s);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_cnnlstm: " << e.what() << "\n";
    return 1;
  }
}
