#pragma once
// Everything needed to build, train and apply the soil-carbon models:
//   SocModel and the Branch contract, the CNN and LSTM branches, the dense head,
//   the paper's variants (ModelSpec, paper_spec, build_model), saving and loading them
//   (model_file.hpp), the loss and the optimizers.

#include "branch.hpp"
#include "cnn_branch.hpp"
#include "dense_head.hpp"
#include "loss.hpp"
#include "lstm_branch.hpp"
#include "model_file.hpp"
#include "model_spec.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "soc_model.hpp"
