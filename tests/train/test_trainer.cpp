#include <doctest/doctest.h>

#include <cnnlstm/train/checkpoint.hpp>
#include <cnnlstm/train/dataset.hpp>
#include <cnnlstm/model.hpp>
#include <cnnlstm/soilmap/ensemble.hpp>
#include <cnnlstm/soilmap/simulate.hpp>
#include <cnnlstm/train/trainer.hpp>

#include <filesystem>

#include "train_test_support.hpp"

using namespace cnnlstm;
using Model = CnnLstmModel<float>;

namespace {

struct Fixture : test::SimulatedFixture {
  std::vector<std::int64_t> fit, validation;
  Fixture() : SimulatedFixture(120, 21) { std::tie(fit, validation) = split_validation(data.train_index, 0.2, 1); }
};

Model fresh_model(std::uint64_t seed = 314) {
  Model m({{CnnBranchOptions{}, LstmBranchOptions{}}, DenseHeadOptions{}});
  m.initialize(seed);
  return m;
}

}  // namespace

TEST_CASE("the Trainer keeps the last partial batch and counts epochs and evaluations") {
  Fixture f;
  auto model = fresh_model();
  TrainerOptions o;
  o.epochs = 7;
  o.batch_size = 32;
  o.eval_interval = 3;
  Trainer<Model> trainer(model, o);
  const auto summary = trainer.fit(f.inputs(), f.fit, f.validation);
  CHECK(summary.epochs_done == 7);
  // Evaluations after epochs 3, 6 and the last one (7).
  REQUIRE(trainer.history().size() == 3);
  CHECK(trainer.history()[2].epoch == 7);
  // 96 training rows less 19 for validation: ceil(77 / 32) = 3 Adam steps per epoch, the last with 13.
  CHECK(f.fit.size() == 77);
  CHECK(trainer.state().adam_steps == 21);
  CHECK(summary.best_epoch > 0);
}

TEST_CASE("training lowers the loss and the same seed gives a bit-identical model") {
  Fixture f;
  TrainerOptions o;
  o.epochs = 30;
  o.eval_interval = 10;
  auto a = fresh_model(), b = fresh_model();
  Trainer<Model> ta(a, o), tb(b, o);
  ta.fit(f.inputs(), f.fit, f.validation);
  tb.fit(f.inputs(), f.fit, f.validation);
  CHECK(a.parameters().values() == b.parameters().values());
  CHECK(ta.history().back().train[0].rmse < 0.9 * ta.history().front().train[0].rmse);
  CHECK(a.target_scaling().mean.size() == 1);
  o.seed = 315;
  auto c = fresh_model();
  Trainer<Model> tc(c, o);
  tc.fit(f.inputs(), f.fit, f.validation);
  CHECK(c.parameters().values() != a.parameters().values());
}

TEST_CASE("model selection keeps the best validation model and early stopping ends the run") {
  Fixture f;
  TrainerOptions o;
  o.epochs = 400;
  o.eval_interval = 1;
  o.patience = 3;
  o.adam.lr = 0.05;  // fast and noisy: the validation RMSE stops improving early
  auto model = fresh_model();
  Trainer<Model> trainer(model, o);
  const auto summary = trainer.fit(f.inputs(), f.fit, f.validation);
  CHECK(summary.stopped_early);
  CHECK(summary.epochs_done < 400);
  CHECK(summary.epochs_done == summary.best_epoch + 3);
  double best = 1e300;
  for (const auto& r : trainer.history()) best = std::min(best, r.validation[0].rmse);
  // The model left behind is the selected one: its validation RMSE is the best seen.
  const auto rmse = metrics_per_output(predict_rows(model, {f.data.x_cnn, f.data.x_lstm}, f.validation),
                                       TensorRef<float, 2>(f.y), f.validation)[0].rmse;
  CHECK(rmse == doctest::Approx(best).epsilon(1e-6));
}

TEST_CASE("a diverging run stops with advice and keeps the best model so far") {
  Fixture f;
  Tensor<float, 2> huge = f.y;
  TrainerOptions o;
  o.epochs = 50;
  o.eval_interval = 1;
  o.adam.lr = 1e-3;
  auto model = fresh_model();
  Trainer<Model> trainer(model, o);
  bool poisoned = false;
  trainer.on_epoch = [&](const EpochProgress& p) {
    if (p.epoch == 3) {  // a target turns infinite mid-run: the loss becomes non-finite
      huge(f.fit[0], 0) = std::numeric_limits<float>::infinity();
      poisoned = true;
    }
  };
  CHECK_THROWS_WITH_AS(trainer.fit({{f.data.x_cnn, f.data.x_lstm}, huge}, f.fit, f.validation),
                       doctest::Contains("lower the learning rate"), NumericalError);
  CHECK(poisoned);
  CHECK(model.parameters().values() == trainer.state().best_values);
}

TEST_CASE("a checkpoint resumes to a bit-identical model") {
  Fixture f;
  TrainerOptions o;
  o.epochs = 12;
  o.eval_interval = 4;
  auto straight = fresh_model();
  Trainer<Model> t1(straight, o);
  t1.fit(f.inputs(), f.fit, f.validation);

  const auto path = (std::filesystem::temp_directory_path() / "cnnlstm_resume.safetensors").string();
  auto first = fresh_model();
  TrainerOptions shorter = o;
  shorter.epochs = 8;
  Trainer<Model> t2(first, shorter);
  t2.on_evaluation = [&](const EvaluationRecord& r) {
    if (r.epoch == 8) save_checkpoint(path, first, t2.state());
  };
  t2.fit(f.inputs(), f.fit, f.validation);

  auto resumed = fresh_model(999);  // different weights: everything must come from the checkpoint
  Trainer<Model> t3(resumed, o);
  t3.restore(load_checkpoint(path, resumed));
  t3.fit(f.inputs(), f.fit, f.validation);
  CHECK(resumed.parameters().values() == straight.parameters().values());
  CHECK(t3.history().size() == t1.history().size());
  std::filesystem::remove(path);
}

TEST_CASE("a checkpoint's state is read as strictly as a configuration: keys and types are named") {
  const auto path = (std::filesystem::temp_directory_path() / "cnnlstm_strict_checkpoint.safetensors").string();
  auto model = fresh_model();
  const std::vector<Index> shape{model.parameters().size()};
  TrainerState<float> state;
  state.adam_m.assign(static_cast<std::size_t>(shape[0]), 0.5f);
  state.adam_v.assign(state.adam_m.size(), 0.25f);
  state.history.push_back({4, 0.5, {Metrics{1.0, 0.8, 0.1, 0.5, 0.6, 2.0, 10}}, {}, 1.5});
  save_checkpoint(path, model, state);
  const std::map<std::string, std::string> written = SafetensorsFile::open(path).metadata();
  // The checkpoint again, with its state entry changed as `change` says; what loading it throws.
  const auto load_with_state = [&](const auto& change) {
    nlohmann::json j = nlohmann::json::parse(written.at("state"));
    change(j);
    std::map<std::string, std::string> metadata = written;
    metadata["state"] = j.dump();
    save_safetensors<float>(path, {{"parameters", DType::F32, shape, model.parameters().values().data()},
                                   {"adam.m", DType::F32, shape, state.adam_m.data()},
                                   {"adam.v", DType::F32, shape, state.adam_v.data()}},
                            metadata);
    auto target = fresh_model(9);
    try {
      const TrainerState<float> back = load_checkpoint(path, target);
      CHECK(back.history.size() == 1);
      CHECK(back.history[0].train[0].n == 10);
      CHECK(back.best_score == std::numeric_limits<double>::infinity());  // written as null
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  using nlohmann::json;
  CHECK(load_with_state([](json&) {}) == "no error");
  const auto contains = [](const std::string& message, const std::string& part) {
    INFO(message);
    CHECK(message.find(part) != std::string::npos);
  };
  contains(load_with_state([](json& j) { j["epochs_dnoe"] = 3; }),
           "(checkpoint): key \"state.epochs_dnoe\" is not known (did you mean \"epochs_done\"?)");
  contains(load_with_state([](json& j) { j["epochs_done"] = "3"; }),
           "key \"state.epochs_done\" must be a whole number, got \"3\"");
  contains(load_with_state([](json& j) { j["history"][0]["train"][0]["rmse"] = "low"; }),
           "key \"state.history[0].train[0].rmse\" must be a number, got \"low\"");
  contains(load_with_state([](json& j) { j.erase("seconds"); }), "key \"state.seconds\" is missing");
  contains(load_with_state([](json& j) { j["shuffle_rng"][1] = "12x"; }),
           "key \"state.shuffle_rng\": word '12x' is not a decimal number");
  contains(load_with_state([](json& j) { j["history"] = 4; }), "key \"state.history\" must be a list, got 4");
  std::filesystem::remove(path);
}

TEST_CASE("a model other than the one expected is a ShapeError wherever it is met") {
  // The same condition, the same error class (and so the same exit code of soc): a checkpoint of
  // another architecture, and an ensemble whose members differ.
  const auto dir = std::filesystem::temp_directory_path();
  const auto checkpoint = (dir / "cnnlstm_other_model_checkpoint.safetensors").string();
  auto model = fresh_model();
  TrainerState<float> state;
  state.adam_m.resize(static_cast<std::size_t>(model.parameters().size()));
  state.adam_v.resize(state.adam_m.size());
  save_checkpoint(checkpoint, model, state);
  LstmBranchOptions wider;
  wider.hidden_size = 9;
  Model other({{CnnBranchOptions{}, wider}, DenseHeadOptions{}});
  other.initialize(5);
  CHECK_THROWS_WITH_AS(load_checkpoint(checkpoint, other), doctest::Contains("differs from the configured"),
                       ShapeError);

  const auto a = (dir / "cnnlstm_other_model_a.safetensors").string();
  const auto b = (dir / "cnnlstm_other_model_b.safetensors").string();
  save_model(a, model);
  save_model(b, other);
  CHECK_THROWS_WITH_AS(load_ensemble<float>({a, b}), doctest::Contains("differs from the first member"), ShapeError);
  for (const auto& p : {checkpoint, a, b}) std::filesystem::remove(p);
}

TEST_CASE("the Trainer rejects empty training sets, bad rows and bad options") {
  Fixture f;
  auto model = fresh_model();
  Trainer<Model> trainer(model, TrainerOptions{});
  CHECK_THROWS_AS(trainer.fit(f.inputs(), {}, {}), DataError);
  const std::vector<std::int64_t> bad{0, 500};
  CHECK_THROWS_WITH_AS(trainer.fit(f.inputs(), bad, {}), doctest::Contains("row index 500 is outside 0..119"), DataError);
  TrainerOptions zero_batch;
  zero_batch.batch_size = 0;
  CHECK_THROWS_AS(Trainer<Model>(model, zero_batch), ConfigError);
  TrainerOptions bad_lr;
  bad_lr.adam.lr = -1;
  CHECK_THROWS_AS(Trainer<Model>(model, bad_lr), ConfigError);
}
