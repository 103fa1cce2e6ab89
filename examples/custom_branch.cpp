// A three-branch model: the paper's CNN and LSTM branches plus a user-defined branch for site
// attributes (custom_branch.hpp), trained on simulated data where SOC also depends on land use.
#include <cnnlstm/model.hpp>
#include <cnnlstm/train/prediction.hpp>
#include <cnnlstm/soilmap/simulate.hpp>
#include <cnnlstm/train/trainer.hpp>

#include <iostream>

#include "custom_branch.hpp"

using namespace cnnlstm;
using ThreeBranchModel = SocModel<float, CnnBranch<float>, LstmBranch<float>, SiteBranch<float>>;

int main() {
  SimulatedData data = simulate_soil_data({.samples = 1000, .seed = 11});
  const Index n = data.y.dimension(0);

  // Land use, one-hot over 4 classes; grassland (class 2) holds 4 g/kg more carbon.
  Tensor<float, 2> land_use(n, 4), soc(n, 1);
  land_use.setZero();
  Rng rng(5);
  for (Index i = 0; i < n; ++i) {
    const auto cls = static_cast<Index>(rng.below(4));
    land_use(i, cls) = 1.0f;
    soc(i, 0) = data.y(i) + (cls == 2 ? 4.0f : 0.0f);
  }

  ThreeBranchModel model({{CnnBranchOptions{}, LstmBranchOptions{}, SiteBranchOptions{}}, DenseHeadOptions{}});
  model.initialize(314);
  TrainerOptions options;
  options.epochs = 100;
  options.adam.lr = 3e-3;
  Trainer<ThreeBranchModel> trainer(model, options);
  trainer.fit({{data.x_cnn, data.x_lstm, land_use}, soc}, data.train_index, {});

  const auto predicted = predict_rows(model, {data.x_cnn, data.x_lstm, land_use}, data.test_index);
  const Metrics m = metrics_per_output(predicted, TensorRef<float, 2>(soc), data.test_index)[0];
  std::cout << "three-branch model, test RMSE " << m.rmse << ", R2 " << m.r2 << "\n";
  return 0;
}
