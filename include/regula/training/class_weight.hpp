#pragma once
/// @file
/// Class weights → per-sample weights, and the validation split, with Keras's rules.

#include <map>
#include <utility>
#include <vector>

#include "regula/tensor/tensor.hpp"

namespace regula::training {

/// Keras's `class_weight` rule (keras/src/trainers/data_adapters/data_adapter_utils.py
/// `class_weight_to_sample_weights`): each sample weighs class_weight[its class]; a class missing
/// from the map weighs 1. Labels are class indices (N) / (N, 1), or one-hot / probabilities
/// (N, C) reduced by argmax. Throws ValueError for a negative class key or a negative or
/// non-finite weight.
std::vector<float> class_weight_to_sample_weights(const Tensor& y, const std::map<int, double>& class_weight);

/// Keras's `validation_split` rule (data_adapter_utils `train_validation_split`): the first
/// floor(N · (1 − split)) samples train, the rest validate, taken before any shuffling. Returns
/// the index where validation starts. Throws ValueError when split is outside (0, 1) or either
/// part would be empty.
int64_t validation_split_index(int64_t samples, double validation_split);

}  // namespace regula::training
