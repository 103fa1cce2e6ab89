#include <doctest/doctest.h>

#include <cnnlstm/model.hpp>
#include <cnnlstm/soilmap/simulate.hpp>
#include <cnnlstm/train/recipe.hpp>

#include <algorithm>
#include <memory>
#include <vector>

#include "train_test_support.hpp"

using namespace cnnlstm;
using Model = CnnLstmModel<float>;

namespace {

struct Fixture : cnnlstm::test::SimulatedFixture {
  Fixture() : SimulatedFixture(200, 5) {}
};

Model blank_model() { return Model({{CnnBranchOptions{}, LstmBranchOptions{}}, DenseHeadOptions{}}); }

RecipeOptions quick_options() {
  RecipeOptions o;
  o.folds = 3;
  o.members = 3;
  o.trainer.epochs = 9;
  o.trainer.eval_interval = 3;
  return o;
}

// A runner as another process would be: the tasks run last to first, one at a time, and only
// their bytes come back (copied), in task order.
struct ReversedRunner {
  std::vector<Index> counts;  // the tasks of each call
  std::vector<std::string> operator()(Index count, const std::function<std::string(Index)>& task) {
    counts.push_back(count);
    std::vector<std::string> results(static_cast<std::size_t>(count));
    for (Index t = count - 1; t >= 0; --t) results[static_cast<std::size_t>(t)] = std::string(task(t));
    return results;
  }
};

}  // namespace

TEST_CASE("a recipe whose tasks run elsewhere (reversed, as bytes) gives the default's result bit for bit") {
  Fixture f;
  const std::vector<std::int64_t> rows(f.data.train_index.begin(), f.data.train_index.end());
  const auto here = Recipe<Model>(quick_options()).fit(blank_model(), f.inputs(), rows);
  Recipe<Model> recipe(quick_options());
  auto runner = std::make_shared<ReversedRunner>();
  recipe.run_tasks = [runner](Index count, const std::function<std::string(Index)>& task) { return (*runner)(count, task); };
  const auto elsewhere = recipe.fit(blank_model(), f.inputs(), rows);

  CHECK(runner->counts == std::vector<Index>{3, 3});  // the folds, then the members
  CHECK(elsewhere.epochs == here.epochs);
  REQUIRE(elsewhere.members.size() == here.members.size());
  for (std::size_t m = 0; m < here.members.size(); ++m)
    CHECK(elsewhere.members[m].parameters().values() == here.members[m].parameters().values());
  CHECK(elsewhere.members[0].parameters().values() != elsewhere.members[1].parameters().values());
  CHECK(elsewhere.out_of_fold == here.out_of_fold);
  REQUIRE(elsewhere.calibration.size() == here.calibration.size());
  CHECK(elsewhere.calibration[0].q == here.calibration[0].q);
  REQUIRE(elsewhere.cv_curve.size() == here.cv_curve.size());
  for (std::size_t i = 0; i < here.cv_curve.size(); ++i) CHECK(elsewhere.cv_curve[i].score == here.cv_curve[i].score);
}

TEST_CASE("a task's result that does not fit the recipe is refused, not misread") {
  Fixture f;
  const std::vector<std::int64_t> rows(f.data.train_index.begin(), f.data.train_index.end());
  Recipe<Model> recipe(quick_options());
  recipe.run_tasks = [](Index count, const std::function<std::string(Index)>& task) {
    std::vector<std::string> results = run_tasks_here(count, task);
    for (auto& r : results) r.resize(r.size() / 2);  // cut short on the way
    return results;
  };
  CHECK_THROWS_AS(recipe.fit(blank_model(), f.inputs(), rows), FormatError);
}
