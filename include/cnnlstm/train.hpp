#pragma once
// Umbrella header: the models (model.hpp) and the training room (train/): data sets and their model
// inputs, batching, the trainer and its checkpoints, prediction and metrics, cross-validation folds,
// interval calibration, the default recipe and the training configuration.

#include "model.hpp"
#include "train/batching.hpp"
#include "train/checkpoint.hpp"
#include "train/dataset.hpp"
#include "train/folds.hpp"
#include "train/metrics.hpp"
#include "train/model_inputs.hpp"
#include "train/prediction.hpp"
#include "train/recipe.hpp"
#include "train/train_config.hpp"
#include "train/trainer.hpp"
#include "train/uncertainty.hpp"
