#include <doctest/doctest.h>

#include <cnnlstm/train/dataset.hpp>
#include <cnnlstm/train/train_config.hpp>

#include <filesystem>
#include <fstream>

using namespace cnnlstm;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("cnnlstm_data_" + std::to_string(::getpid()))) { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::string text(const std::string& name, const std::string& content) const {
    std::ofstream(file(name)) << content;
    return file(name);
  }
};

template <int Rank>
std::string write_array(const TempDir& dir, const std::string& name, const Shape<Rank>& shape, float value = 0.5f) {
  std::vector<float> data(static_cast<std::size_t>(element_count(shape)), value);
  save_npy(dir.file(name), data.data(), std::vector<Index>(shape.begin(), shape.end()));
  return dir.file(name);
}

std::string write_index(const TempDir& dir, const std::string& name, std::vector<std::int64_t> rows) {
  save_npy(dir.file(name), rows.data(), {static_cast<Index>(rows.size())});
  return dir.file(name);
}

}  // namespace

TEST_CASE("soil data load with agreeing rows; disagreeing row counts are named") {
  TempDir dir;
  const auto x_cnn = write_array<4>(dir, "x_cnn.npy", {6, 10, 5, 5});
  const auto x_lstm = write_array<3>(dir, "x_lstm.npy", {6, 10, 12});
  const auto y = write_array<1>(dir, "y.npy", {6}, 12.0f);
  const auto data = load_soil_data<float>({x_cnn, x_lstm, y});
  CHECK(data.rows == 6);
  CHECK(data.y->dimension(1) == 1);
  const auto short_y = write_array<1>(dir, "short.npy", {5});
  CHECK_THROWS_WITH_AS(load_soil_data<float>({x_cnn, x_lstm, short_y}),
                       ("row counts disagree: " + x_cnn + " has 6 rows, " + short_y + " has 5").c_str(), ShapeError);
  const auto not_square = write_array<4>(dir, "rect.npy", {6, 10, 5, 4});
  CHECK_THROWS_WITH_AS(load_soil_data<float>({not_square, "", ""}), doctest::Contains("patches must be square"), ShapeError);
  CHECK_THROWS_WITH_AS(load_soil_data<float>({x_lstm, "", ""}), doctest::Contains("rank"), ShapeError);
}

TEST_CASE("non-finite covariates and targets are named by row and column, or marked with propagate") {
  TempDir dir;
  std::vector<float> cnn(3 * 2 * 3 * 3, 0.5f);
  cnn[1 * 18 + 1 * 9 + 2 * 3 + 0] = std::nanf("");  // row 1, channel 1, pixel (2, 0)
  save_npy(dir.file("x_cnn.npy"), cnn.data(), {3, 2, 3, 3});
  CHECK_THROWS_WITH_AS(load_soil_data<float>({dir.file("x_cnn.npy"), "", ""}),
                       doctest::Contains("covariate value nan at row 1, column (1, 2, 0)"), DataError);
  const auto data = load_soil_data<float>({dir.file("x_cnn.npy"), "", ""}, NodataPolicy::propagate);
  CHECK(data.nodata == std::vector<bool>{false, true, false});
  std::vector<float> y{1.0f, std::numeric_limits<float>::infinity(), 2.0f};
  save_npy(dir.file("y.npy"), y.data(), {3});
  CHECK_THROWS_WITH_AS(load_soil_data<float>({"", write_array<3>(dir, "s.npy", {3, 4, 2}), dir.file("y.npy")},
                                             NodataPolicy::propagate),
                       doctest::Contains("target value inf at row 1"), DataError);
}

TEST_CASE("index files: in range, not repeated, not shared between training and test") {
  TempDir dir;
  CHECK(load_index_file(write_index(dir, "ok.npy", {4, 0, 2}), 5) == std::vector<std::int64_t>{4, 0, 2});
  CHECK_THROWS_WITH_AS(load_index_file(write_index(dir, "out.npy", {0, 5}), 5),
                       doctest::Contains("entry 1 is 5, outside the data's rows 0..4"), DataError);
  CHECK_THROWS_WITH_AS(load_index_file(write_index(dir, "neg.npy", {-1}), 5), doctest::Contains("entry 0 is -1"), DataError);
  CHECK_THROWS_WITH_AS(load_index_file(write_index(dir, "dup.npy", {1, 2, 1}), 5),
                       doctest::Contains("row 1 is listed twice (entry 2)"), DataError);
  CHECK_THROWS_WITH_AS(load_index_file(write_index(dir, "empty.npy", {}), 5), doctest::Contains("empty"), DataError);
  std::vector<double> fractional{0.5};
  save_npy(dir.file("float.npy"), fractional.data(), {1});
  CHECK_THROWS_AS(load_index_file(dir.file("float.npy"), 5), FormatError);
  CHECK_THROWS_WITH_AS(require_disjoint({1, 2}, "train.npy", {3, 2}, "test.npy"),
                       doctest::Contains("row 2 is in both train.npy and test.npy"), DataError);
}

TEST_CASE("the validation split is seeded, disjoint and at least one row") {
  std::vector<std::int64_t> rows(50);
  std::iota(rows.begin(), rows.end(), 0);
  const auto [fit, validation] = split_validation(rows, 0.1, 3);
  CHECK(fit.size() == 45);
  CHECK(validation.size() == 5);
  CHECK(split_validation(rows, 0.1, 3).second == validation);
  CHECK(split_validation(rows, 0.1, 4).second != validation);
  std::set<std::int64_t> all(fit.begin(), fit.end());
  all.insert(validation.begin(), validation.end());
  CHECK(all.size() == 50);
  CHECK(split_validation(rows, 0.001, 1).second.size() == 1);
  CHECK(split_validation(rows, 0.0, 1).second.empty());
  CHECK_THROWS_AS(split_validation({1}, 0.5, 1), DataError);
}

TEST_CASE("series columns: EVI and phenology are picked from a 12-column array") {
  Tensor<float, 3> x(2, 3, 12);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i % 12);
  CHECK(select_series_features(x, 1, "s.npy")(1, 2, 0) == 0.0f);
  const auto lsp = select_series_features(x, 11, "s.npy");
  CHECK(lsp.dimension(2) == 11);
  CHECK(lsp(0, 1, 0) == 1.0f);
  CHECK(lsp(0, 1, 10) == 11.0f);
  CHECK_THROWS_WITH_AS(select_series_features(x, 5, "s.npy"),
                       doctest::Contains("the model reads 5 series features per year, the array has 12"), ShapeError);
}

TEST_CASE("a CSV sample table gives targets by column name, and its errors name line and column") {
  TempDir dir;
  const auto ok = dir.text("samples.csv", "id,x,y,soc,\"note, quoted\"\r\n1,10.5,20,12.5,\"a \"\"b\"\"\"\n2,11,21,8,c\n");
  const auto y = targets_from_csv<float>(ok, {"soc"});
  CHECK(y.dimension(0) == 2);
  CHECK(y(0, 0) == 12.5f);
  CHECK(CsvTable::read(ok).text("note, quoted")[0] == "a \"b\"");
  CHECK_THROWS_WITH_AS(targets_from_csv<float>(ok, {"SOC"}), doctest::Contains("no column named 'SOC' (did you mean 'soc'?)"),
                       DataError);
  const auto bad = dir.text("bad.csv", "id,soc\n1,12\n2,twelve\n");
  CHECK_THROWS_WITH_AS(targets_from_csv<float>(bad, {"soc"}), doctest::Contains("line 3, column 'soc': 'twelve' is not a number"),
                       DataError);
  const auto ragged = dir.text("ragged.csv", "id,soc\n1,12,3\n");
  CHECK_THROWS_WITH_AS(CsvTable::read(ragged), doctest::Contains("line 2 has 3 fields, the header has 2"), FormatError);
  const auto nan = dir.text("nan.csv", "id,soc\n1,nan\n");
  CHECK_THROWS_WITH_AS(targets_from_csv<float>(nan, {"soc"}), doctest::Contains("is not a finite number"), DataError);
  CHECK_THROWS_AS(CsvTable::read(dir.file("missing.csv")), IoError);
  CHECK_THROWS_AS(CsvTable::read(dir.text("dup.csv", "a,a\n1,2\n")), FormatError);
}

TEST_CASE("configuration keys follow the paper's config.py and are validated") {
  TrainConfig c;
  apply_train_config(nlohmann::json::parse(R"({"model_name": "CNN-LSTM_lsp", "lr": 0.001, "batch_size": 64,
      "epochs": 1000, "eval_interval": 10, "rand_seed": 314, "lstm_hidden_size": 8, "lstm_num_layers": 2,
      "lstm_dropout": 0.2, "num_channels": 10})"), "c.json", c);
  CHECK(c.model_name == "CNN-LSTM_lsp");
  CHECK(c.batch_size == 64);
  CHECK(*c.num_channels == 10);
  const auto spec = model_spec_for(c, 10, 5);
  CHECK(spec.lstm->input_size == 11);
  CHECK(spec.lstm->dropout == 0.2);

  const auto error = [](const std::string& json) {
    TrainConfig t;
    try {
      apply_train_config(nlohmann::json::parse(json), "c.json", t);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error(R"({"learning_rate": 0.1})") == "c.json: key \"learning_rate\" is not known");
  CHECK(error(R"({"batch_sise": 3})") == "c.json: key \"batch_sise\" is not known (did you mean \"batch_size\"?)");
  CHECK(error(R"({"lr": 0})") == "c.json: key \"lr\" must be in (0, 10], got 0");
  CHECK(error(R"({"batch_size": 0})") == "c.json: key \"batch_size\" must be in [1, 10000000], got 0");
  CHECK(error(R"({"epochs": -1})") == "c.json: key \"epochs\" must be in [0, 100000000], got -1");
  CHECK(error(R"({"lstm_dropout": 1})") == "c.json: key \"lstm_dropout\" must be in [0, 1), got 1");
  CHECK(error(R"({"epochs": "ten"})") == "c.json: key \"epochs\" must be a whole number, got \"ten\"");
  CHECK(error(R"({"epochs": 2.5})") == "c.json: key \"epochs\" must be a whole number, got 2.5");
  CHECK(error(R"({"shuffle": 1})") == "c.json: key \"shuffle\" must be true or false, got 1");
  CHECK(error(R"({"model_name": "CNN_LSTM"})").find("unknown model variant \"CNN_LSTM\"") != std::string::npos);
  CHECK(error(R"([1, 2])") == "c.json: the document must be a JSON object, got array");
  CHECK(error(R"({"epochs": 10})") == "no error");
}

TEST_CASE("the configuration and the model spec reject the same out-of-range sizes with the same message") {
  // What follows the key's name, e.g. " must be in [1, 1000000], got 0".
  const auto rule = [](const std::string& message) { return message.substr(message.find("\" ") + 1); };
  const auto config_error = [&](const std::string& key, const nlohmann::json& value) {
    TrainConfig c;
    try {
      apply_train_config({{key, value}}, "c.json", c);
    } catch (const ConfigError& e) {
      return rule(e.what());
    }
    return std::string("no error");
  };
  const auto spec_error = [&](const std::string& branch, const std::string& key, const nlohmann::json& value) {
    nlohmann::json j = to_json(paper_spec("CNN-LSTM_evi"));
    j[branch][key] = value;
    try {
      model_spec_from_json(j, "m.json");
    } catch (const ConfigError& e) {
      return rule(e.what());
    }
    return std::string("no error");
  };
  struct Pair {
    std::string config_key, branch, spec_key;
    nlohmann::json bad;
  };
  const Pair pairs[] = {{"num_channels", "cnn", "in_channels", 0},
                        {"lstm_input_size", "lstm", "input_size", 1'000'001},
                        {"lstm_hidden_size", "lstm", "hidden_size", 0},
                        {"lstm_hidden_size", "lstm", "hidden_size", 1'000'001},
                        {"lstm_num_layers", "lstm", "num_layers", 101},
                        {"lstm_dropout", "lstm", "dropout", 1.0},
                        {"lstm_dropout", "lstm", "dropout", -0.1},
                        {"head_hidden", "head", "hidden", {4, 0}}};
  for (const Pair& p : pairs) {
    CAPTURE(p.config_key);
    CAPTURE(p.bad.dump());
    const std::string from_config = config_error(p.config_key, p.bad);
    CHECK(from_config.find(" must be in ") == 0);
    CHECK(from_config == spec_error(p.branch, p.spec_key, p.bad));
  }
  // Within the bounds both accept: the configuration once allowed only 100000 hidden units.
  CHECK(config_error("lstm_hidden_size", 200'000) == "no error");
  CHECK(spec_error("lstm", "hidden_size", 200'000) == "no error");
}

TEST_CASE("the effective configuration round-trips through JSON") {
  TrainConfig c;
  c.x_cnn = "a.npy";
  c.lstm_input_size = 5;
  TrainConfig back;
  apply_train_config(to_json(c), "printed", back);
  CHECK(to_json(back) == to_json(c));
}
