// Metric resolution and values. "accuracy"/"acc" resolve as Keras 3's
// keras/src/trainers/compile_utils.py get_metric / is_binary_or_sparse_categorical: binary when
// y_pred has one unit, sparse when y_true has lower rank or one column against several units,
// categorical otherwise; regula also lets binary/sparse crossentropy losses decide.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "regula/error.hpp"
#include "regula/losses/loss.hpp"
#include "regula/metrics/metric.hpp"

namespace rm = regula::metrics;
namespace rl = regula::losses;
using regula::Tensor;

TEST(AccuracyResolution, SparseLabelsGiveSparseCategoricalAccuracy) {
  auto m = rm::get("accuracy", *rl::sparse_categorical_crossentropy());
  EXPECT_EQ(m->name(), "accuracy");
  // Scores argmax: 1, 0, 2; labels 1, 2, 2 → 2/3.
  m->update(Tensor({3}, {1, 2, 2}), Tensor({3, 3}, {0.1f, 0.8f, 0.1f, 0.5f, 0.3f, 0.2f, 0.2f, 0.2f, 0.6f}));
  EXPECT_NEAR(m->result(), 2.0 / 3.0, 1e-12);
  // Labels of one column are sparse even with a categorical loss (shape rule).
  auto by_shape = rm::get("acc", *rl::categorical_crossentropy());
  by_shape->update(Tensor({2, 1}, {0, 1}), Tensor({2, 2}, {0.9f, 0.1f, 0.8f, 0.2f}));
  EXPECT_EQ(by_shape->name(), "acc");
  EXPECT_NEAR(by_shape->result(), 0.5, 1e-12);
}

TEST(AccuracyResolution, OneHotLabelsGiveCategoricalAccuracy) {
  auto m = rm::get("acc", *rl::categorical_crossentropy());
  m->update(Tensor({2, 3}, {0, 1, 0, 1, 0, 0}), Tensor({2, 3}, {0.2f, 0.7f, 0.1f, 0.3f, 0.4f, 0.3f}));
  EXPECT_NEAR(m->result(), 0.5, 1e-12);
}

TEST(AccuracyResolution, BinaryForOneUnitOrBinaryCrossentropy) {
  // One output unit: binary accuracy, threshold 0.5 (strictly greater).
  auto one_unit = rm::get("accuracy", *rl::mean_squared_error());
  one_unit->update(Tensor({4, 1}, {1, 0, 1, 0}), Tensor({4, 1}, {0.9f, 0.2f, 0.5f, 0.7f}));
  EXPECT_NEAR(one_unit->result(), 0.5, 1e-12);
  // Multi-label with binary crossentropy: elementwise, mean over the last axis, then samples.
  auto multi = rm::get("Accuracy", *rl::binary_crossentropy());
  EXPECT_EQ(multi->name(), "Accuracy");  // the log name stays as written
  multi->update(Tensor({2, 3}, {1, 0, 1, 0, 0, 0}), Tensor({2, 3}, {0.9f, 0.1f, 0.2f, 0.6f, 0.1f, 0.1f}));
  EXPECT_NEAR(multi->result(), (2.0 / 3.0 + 2.0 / 3.0) / 2.0, 1e-12);
}

TEST(AccuracyResolution, ExplicitNamesAndUnknown) {
  auto loss = rl::categorical_crossentropy();
  auto b = rm::get("binary_accuracy", *loss);
  b->update(Tensor({2, 2}, {1, 1, 0, 0}), Tensor({2, 2}, {0.6f, 0.4f, 0.4f, 0.4f}));
  EXPECT_NEAR(b->result(), 0.75, 1e-12);
  EXPECT_EQ(b->name(), "binary_accuracy");
  auto s = rm::get("sparse_categorical_accuracy", *loss);
  s->update(Tensor({2}, {0, 1}), Tensor({2, 2}, {0.6f, 0.4f, 0.6f, 0.4f}));
  EXPECT_NEAR(s->result(), 0.5, 1e-12);
  auto c = rm::get("categorical_accuracy", *rl::sparse_categorical_crossentropy());
  c->update(Tensor({1, 2}, {0, 1}), Tensor({1, 2}, {0.1f, 0.9f}));
  EXPECT_NEAR(c->result(), 1.0, 1e-12);
  try {
    rm::get("precision", *loss);
    FAIL() << "expected ValueError";
  } catch (const regula::ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("precision"), std::string::npos) << msg;
    EXPECT_NE(msg.find("sparse_categorical_accuracy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("binary_accuracy"), std::string::npos) << msg;
  }
}

TEST(Accuracy, MeanOverBatchesWeightedBySamplesAndReset) {
  auto m = rm::get("accuracy", *rl::sparse_categorical_crossentropy());
  EXPECT_EQ(m->result(), 0.0);
  m->update(Tensor({2}, {0, 0}), Tensor({2, 2}, {0.9f, 0.1f, 0.1f, 0.9f}));  // 1 of 2
  m->update(Tensor({3}, {1, 1, 1}), Tensor({3, 2}, {0.1f, 0.9f, 0.2f, 0.8f, 0.3f, 0.7f}));  // 3 of 3
  EXPECT_NEAR(m->result(), 4.0 / 5.0, 1e-12);  // not the mean of 0.5 and 1
  m->reset();
  EXPECT_EQ(m->result(), 0.0);
}

TEST(Accuracy, ArgmaxTiesPickTheFirstClass) {
  auto m = rm::get("sparse_categorical_accuracy", *rl::sparse_categorical_crossentropy());
  m->update(Tensor({2}, {0, 1}), Tensor({2, 2}, {0.5f, 0.5f, 0.5f, 0.5f}));
  EXPECT_NEAR(m->result(), 0.5, 1e-12);
}

TEST(Accuracy, ShapeMismatchThrows) {
  auto m = rm::get("categorical_accuracy", *rl::categorical_crossentropy());
  EXPECT_THROW(m->update(Tensor({2, 3}), Tensor({2, 2})), regula::ShapeError);
  auto s = rm::get("sparse_categorical_accuracy", *rl::categorical_crossentropy());
  EXPECT_THROW(s->update(Tensor({3}), Tensor({2, 2})), regula::ShapeError);
}

TEST(AccuracyScore, IndicesScoresAndOneHot) {
  const Tensor scores({4, 3}, {0.1f, 0.8f, 0.1f, 0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f, 0.4f, 0.5f, 0.1f});
  EXPECT_NEAR(rm::accuracy_score(Tensor({4}, {1, 0, 2, 0}), scores), 0.75, 1e-12);
  EXPECT_NEAR(rm::accuracy_score(Tensor({4, 1}, {1, 0, 2, 1}), scores), 1.0, 1e-12);
  const Tensor one_hot({4, 3}, {0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1});
  EXPECT_NEAR(rm::accuracy_score(one_hot, scores), 0.75, 1e-12);
  EXPECT_NEAR(rm::accuracy_score(Tensor({4}, {1, 0, 2, 0}), Tensor({4}, {1, 0, 2, 2})), 0.75, 1e-12);
}

TEST(AccuracyScore, RejectsBadInput) {
  EXPECT_THROW(rm::accuracy_score(Tensor({3}, {0, 1, 2}), Tensor({2, 3})), regula::ShapeError);
  try {
    rm::accuracy_score(Tensor({2}, {0, 1}), Tensor({2, 1}, {0.2f, 0.7f}));
    FAIL() << "expected ValueError";
  } catch (const regula::ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("y_pred[0]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0.2"), std::string::npos) << msg;
  }
  EXPECT_THROW(rm::accuracy_score(Tensor({0}), Tensor({0})), regula::ValueError);
}
