#pragma once
// Umbrella header: everything needed to build, train and apply the soil-carbon models:
//   SocModel and the Branch contract, the CNN and LSTM branches, the dense head (model/),
//   the paper's variants (ModelSpec, paper_spec, build_model in model/model_spec.hpp), saving and
//   loading them (io/model_file.hpp), the loss (layers/loss.hpp) and the optimizers (optim/).
// The rooms of include/cnnlstm/ and what may include what: docs/architecture.md.

#include "io/model_file.hpp"
#include "layers/loss.hpp"
#include "model/branch.hpp"
#include "model/cnn_branch.hpp"
#include "model/dense_head.hpp"
#include "model/lstm_branch.hpp"
#include "model/model_spec.hpp"
#include "model/soc_model.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
