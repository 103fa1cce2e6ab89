#include <doctest/doctest.h>

#include <cnnlstm/model.hpp>
#include <cnnlstm/soilmap/ensemble.hpp>
#include <cnnlstm/soilmap/simulate.hpp>
#include <cnnlstm/train/recipe.hpp>

#include <omp.h>

#include <filesystem>
#include <string>

#include "train_test_support.hpp"

using namespace cnnlstm;
using Model = CnnLstmModel<float>;

namespace {

struct Fixture : test::SimulatedFixture {
  Fixture() : SimulatedFixture(300, 21) {}
};

Model blank_model() { return Model({{CnnBranchOptions{}, LstmBranchOptions{}}, DenseHeadOptions{}}); }

// A quick recipe: 3 folds, 3 members, at most 30 epochs evaluated every 3.
RecipeOptions quick_options() {
  RecipeOptions o;
  o.folds = 3;
  o.members = 3;
  o.trainer.epochs = 30;
  o.trainer.eval_interval = 3;
  o.trainer.patience = 4;
  return o;
}

std::string temp_path(const std::string& name) { return (std::filesystem::temp_directory_path() / name).string(); }

}  // namespace

TEST_CASE("the recipe picks the epochs at the minimum of its pooled out-of-fold curve and calibrates on it") {
  Fixture f;
  const auto result = train_recipe(blank_model(), f.inputs(), f.data.train_index, quick_options());
  REQUIRE(result.members.size() == 3);
  REQUIRE_FALSE(result.cv_curve.empty());
  double best = HUGE_VAL;
  Index best_epoch = -1;
  for (const auto& p : result.cv_curve) {
    CHECK(p.epoch % 3 == 0);
    if (p.score < best) best = p.score, best_epoch = p.epoch;
  }
  CHECK(result.epochs == best_epoch);
  // Every training row has an out-of-fold prediction, and the score at E* is their RMSE / sd.
  const auto n = static_cast<Index>(f.data.train_index.size());
  REQUIRE(result.out_of_fold.rows() == n);
  std::vector<double> observed, predicted;
  for (Index i = 0; i < n; ++i) {
    observed.push_back(f.y(f.data.train_index[static_cast<std::size_t>(i)], 0));
    predicted.push_back(result.out_of_fold(i, 0));
  }
  const Metrics m = compute_metrics(observed, predicted);
  CHECK(m.rmse / result.members[0].target_scaling().scale[0] == doctest::Approx(best).epsilon(1e-9));
  // The calibration is the ceil((n + 1) 0.9)-th smallest absolute out-of-fold residual.
  std::vector<double> residuals;
  for (Index i = 0; i < n; ++i) residuals.push_back(std::abs(observed[static_cast<std::size_t>(i)] - predicted[static_cast<std::size_t>(i)]));
  std::sort(residuals.begin(), residuals.end());
  REQUIRE(result.calibration.size() == 1);
  CHECK(result.calibration[0].q == residuals[static_cast<std::size_t>(std::ceil((n + 1) * 0.9)) - 1]);
  CHECK_FALSE(result.calibration[0].scaled_by_spread);
  CHECK(result.calibration[0].lower_limit == 0.0);
  // Members differ (own seeds) but share the training rows' scalings.
  CHECK(result.members[0].parameters().values() != result.members[1].parameters().values());
  CHECK(result.members[1].input_scaling() == result.members[0].input_scaling());
}

TEST_CASE("the recipe's interval covers about 90% of new sites and its ensemble beats its average member") {
  Fixture f;
  const auto result = train_recipe(blank_model(), f.inputs(), f.data.train_index, quick_options());
  std::vector<PredictionBands> bands;
  std::vector<double> observed, mean_error, member_error(3, 0.0);
  double ensemble_sse = 0;
  std::vector<Matrix<double>> p;
  for (auto m : result.members) p.push_back(predict_rows(m, {f.data.x_cnn, f.data.x_lstm}, f.data.test_index));
  for (std::size_t i = 0; i < f.data.test_index.size(); ++i) {
    const double y = f.y(f.data.test_index[i], 0);
    std::vector<double> values;
    for (std::size_t k = 0; k < 3; ++k) {
      values.push_back(p[k](static_cast<Index>(i), 0));
      member_error[k] += (values.back() - y) * (values.back() - y);
    }
    bands.push_back(prediction_bands(values, result.calibration[0]));
    ensemble_sse += (bands.back().mean - y) * (bands.back().mean - y);
    observed.push_back(y);
  }
  const double picp = interval_coverage(bands, observed);
  INFO("test PICP " << picp << " on " << observed.size() << " sites");
  CHECK(picp >= 0.8);
  CHECK(picp <= 0.99);
  CHECK(ensemble_sse <= (member_error[0] + member_error[1] + member_error[2]) / 3);
}

TEST_CASE("the recipe gives the same bits for the same seed, whatever the thread count") {
  Fixture f;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = train_recipe(blank_model(), f.inputs(), f.data.train_index, quick_options());
  omp_set_num_threads(2);
  const auto two = train_recipe(blank_model(), f.inputs(), f.data.train_index, quick_options());
  omp_set_num_threads(threads);
  CHECK(one.epochs == two.epochs);
  for (std::size_t m = 0; m < 3; ++m) CHECK(one.members[m].parameters().values() == two.members[m].parameters().values());
  CHECK(one.out_of_fold == two.out_of_fold);
  auto other_seed = quick_options();
  other_seed.trainer.seed = 315;
  const auto three = train_recipe(blank_model(), f.inputs(), f.data.train_index, other_seed);
  CHECK(three.members[0].parameters().values() != one.members[0].parameters().values());
}

TEST_CASE("the recipe refuses too few folds, members or rows") {
  Fixture f;
  auto o = quick_options();
  o.folds = 1;
  CHECK_THROWS_WITH_AS(train_recipe(blank_model(), f.inputs(), f.data.train_index, o), doctest::Contains("at least 2"), ConfigError);
  o = quick_options();
  o.trainer.epochs = 0;
  CHECK_THROWS_WITH_AS(train_recipe(blank_model(), f.inputs(), f.data.train_index, o), doctest::Contains("at least 1 epoch"), ConfigError);
  o = quick_options();
  o.members = 0;
  CHECK_THROWS_AS(train_recipe(blank_model(), f.inputs(), f.data.train_index, o), ConfigError);
  const std::vector<std::int64_t> five{0, 1, 2, 3, 4};
  CHECK_THROWS_WITH_AS(train_recipe(blank_model(), f.inputs(), five, quick_options()), doctest::Contains("at least 6 training rows"),
                       DataError);
}

TEST_CASE("an ensemble saved in one file loads back with every member, its scalings and its calibration") {
  Fixture f;
  const auto result = train_recipe(blank_model(), f.inputs(), f.data.train_index, quick_options());
  const std::string path = temp_path("cnnlstm_recipe_ensemble.safetensors");
  save_ensemble(path, result.members, result.calibration, {{"note", "test"}});
  const auto e = load_ensemble<float>({path});
  REQUIRE(e.members.size() == 3);
  CHECK(e.spec == spec_of(result.members[0]));
  REQUIRE(e.calibrations.size() == 1);
  CHECK(to_json(e.calibrations[0]) == to_json(result.calibration[0]));
  CHECK(e.metadata.at("note") == "test");
  for (std::size_t m = 0; m < 3; ++m) {
    auto loaded = std::get<Model>(e.members[m].model);
    auto original = result.members[m];
    CHECK(loaded.parameters().values() == original.parameters().values());
    CHECK(loaded.input_scaling() == original.input_scaling());
    const Matrix<double> a = predict_rows(loaded, {f.data.x_cnn, f.data.x_lstm}, f.data.test_index);
    const Matrix<double> b = predict_rows(original, {f.data.x_cnn, f.data.x_lstm}, f.data.test_index);
    CHECK(a == b);
  }
  // One model is asked for where a whole ensemble is given, and an ensemble file is not mixed.
  CHECK_THROWS_WITH_AS(load_model<float>(path), doctest::Contains("holds an ensemble"), ConfigError);
  const std::string single = temp_path("cnnlstm_recipe_single.safetensors");
  save_model(single, result.members[0]);
  CHECK_THROWS_WITH_AS(load_ensemble<float>({single, path}), doctest::Contains("holds a whole ensemble"), ConfigError);
  std::filesystem::remove(path);
  std::filesystem::remove(single);
}

TEST_CASE("an ensemble file whose tensors or metadata disagree is refused, naming the problem") {
  Fixture f;
  auto o = quick_options();
  o.members = 2;
  o.trainer.epochs = 3;
  const auto result = train_recipe(blank_model(), f.inputs(), f.data.train_index, o);
  const std::string path = temp_path("cnnlstm_recipe_bad.safetensors");
  // Metadata that claims three members for two members' tensors.
  save_ensemble(path, result.members, result.calibration);
  auto meta = SafetensorsFile::open(path).metadata();
  std::vector<SafetensorsEntry<float>> entries;
  std::vector<std::vector<float>> values;
  const auto file = SafetensorsFile::open(path);
  for (const auto& name : file.names()) {
    std::size_t count = 1;
    for (Index d : file.info(name).shape) count *= static_cast<std::size_t>(d);
    values.emplace_back(count);
    file.read(name, values.back().data(), file.info(name).shape);
  }
  for (std::size_t i = 0; i < file.names().size(); ++i)
    entries.push_back({file.names()[i], DType::F32, file.info(file.names()[i]).shape, values[i].data()});
  auto three = meta;
  three["ensemble"] = R"({"size": 3})";
  three["target_scalings"] = nlohmann::json::array({nlohmann::json::parse(R"({"mean": [], "scale": []})"), nlohmann::json::parse(R"({"mean": [], "scale": []})"), nlohmann::json::parse(R"({"mean": [], "scale": []})")}).dump();
  three["input_scalings"] = R"([{}, {}, {}])";
  save_safetensors(path, entries, three);
  CHECK_THROWS_WITH_AS(load_ensemble<float>({path}), doctest::Contains("member 3 lacks tensor"), ShapeError);
  auto one = meta;
  one["ensemble"] = R"({"size": 1})";
  one["target_scalings"] = "[{\"mean\": [], \"scale\": []}]";
  one["input_scalings"] = "[{}]";
  save_safetensors(path, entries, one);
  CHECK_THROWS_WITH_AS(load_ensemble<float>({path}), doctest::Contains("unexpected tensor 'members.1."), ShapeError);
  auto no_scalings = meta;
  no_scalings.erase("input_scalings");
  save_safetensors(path, entries, no_scalings);
  CHECK_THROWS_WITH_AS(load_ensemble<float>({path}), doctest::Contains("no \"input_scalings\" entry"), FormatError);
  std::filesystem::remove(path);
}

TEST_CASE("members of an older multi-file ensemble are accepted only as their whole run, each once") {
  // Member files as the previous soc train --ensemble 3 wrote them: "ensemble" metadata per file.
  std::vector<std::string> run, other_run;
  const ConformalCalibration c{0.1, 1.5, 0.01, 30, 0.0};
  const ConformalCalibration c_other{0.1, 2.5, 0.01, 30, 0.0};
  for (int k = 1; k <= 3; ++k) {
    Model m = blank_model();
    m.initialize(static_cast<std::uint64_t>(k));
    for (auto* list : {&run, &other_run}) {
      const bool first = list == &run;
      const std::string path = temp_path("cnnlstm_member_" + std::string(first ? "a" : "b") + std::to_string(k) + ".safetensors");
      save_model(path, m, {{"ensemble", nlohmann::json{{"size", 3}, {"member", k}, {"conformal", to_json(first ? c : c_other)}}.dump()}});
      list->push_back(path);
    }
  }
  const auto whole = load_ensemble<float>(run);
  REQUIRE(whole.calibration(0).has_value());
  CHECK(whole.calibration(0)->q == 1.5);
  CHECK(whole.notes.empty());
  CHECK_THROWS_WITH_AS(load_ensemble<float>({run[0], run[1]}), doctest::Contains("members 3 are missing"), ConfigError);
  CHECK_THROWS_WITH_AS(load_ensemble<float>({run[0], run[0], run[1]}), doctest::Contains("are both member 1 of 3"), ConfigError);
  CHECK_THROWS_WITH_AS(load_ensemble<float>({run[0], run[1], other_run[2]}), doctest::Contains("members of different ensembles"),
                       ConfigError);
  // With a single network among them, no calibration applies, and the ensemble says so.
  const std::string single = temp_path("cnnlstm_member_single.safetensors");
  save_model(single, blank_model());
  const auto mixed = load_ensemble<float>({run[0], run[1], run[2], single});
  CHECK_FALSE(mixed.calibration(0).has_value());
  REQUIRE(mixed.notes.size() == 1);
  CHECK(mixed.notes[0].find("not calibrated") != std::string::npos);
  for (const auto& p : run) std::filesystem::remove(p);
  for (const auto& p : other_run) std::filesystem::remove(p);
  std::filesystem::remove(single);
}
