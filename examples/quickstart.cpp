// Quickstart: simulate a soil-carbon data set, train the paper's CNN-LSTM, and report test metrics.
#include <cnnlstm/model.hpp>
#include <cnnlstm/train/prediction.hpp>
#include <cnnlstm/soilmap/simulate.hpp>
#include <cnnlstm/train/trainer.hpp>

#include <iostream>

int main() {
  using namespace cnnlstm;

  // 1. Data: 10-channel 5x5 covariate patches, 10 years of EVI + 11 phenology metrics, SOC.
  const SimulatedData data = simulate_soil_data({.samples = 1000, .seed = 7});
  const Tensor<float, 2> soc = data.y.reshape(Shape<2>{data.y.dimension(0), 1});

  // 2. The paper's model, CNN-LSTM_evi_lsp, initialised as the paper does.
  CnnLstmModel<float> model({{CnnBranchOptions{}, LstmBranchOptions{}}, DenseHeadOptions{}});
  model.initialize(314);

  // 3. Train on the training rows, selecting the model on a validation tenth of them.
  std::vector<std::int64_t> fit = data.train_index, validation;
  validation.assign(fit.end() - static_cast<std::ptrdiff_t>(fit.size() / 10), fit.end());
  fit.resize(fit.size() - validation.size());
  TrainerOptions options;
  options.epochs = 150;
  options.adam.lr = 3e-3;
  options.patience = 10;
  Trainer<CnnLstmModel<float>> trainer(model, options);
  const auto summary = trainer.fit({{data.x_cnn, data.x_lstm}, soc}, fit, validation);

  // 4. Predict the test sites and score them.
  const auto predicted = predict_rows(model, {data.x_cnn, data.x_lstm}, data.test_index);
  const Metrics m = metrics_per_output(predicted, TensorRef<float, 2>(soc), data.test_index)[0];
  std::cout << "selected epoch " << summary.best_epoch << " of " << summary.epochs_done << "\n"
            << "test RMSE " << m.rmse << " g/kg, MAE " << m.mae << ", R2 " << m.r2 << ", CCC " << m.ccc
            << ", RPIQ " << m.rpiq << " (" << m.n << " sites)\n";
  return m.r2 > 0.5 ? 0 : 1;
}
