// Writes into the working folder the arrays the README's example reads, as soc simulate would:
// x_cnn.npy (N, 10, 5, 5), x_lstm.npy (N, 10, 12), y.npy (N) and train_index.npy.
#include <cnnlstm/io/npy.hpp>
#include <cnnlstm/soilmap/simulate.hpp>

int main() {
  using namespace cnnlstm;
  const SimulatedData data = simulate_soil_data({.samples = 200, .seed = 5});
  save_npy("x_cnn.npy", data.x_cnn);
  save_npy("x_lstm.npy", data.x_lstm);
  save_npy("y.npy", data.y);
  save_npy("train_index.npy", data.train_index.data(), {static_cast<Index>(data.train_index.size())});
  return 0;
}
