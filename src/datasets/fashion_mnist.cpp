#include "regula/datasets/fashion_mnist.hpp"

namespace regula::datasets::fashion_mnist {

const datasets::IdxDatasetSpec& spec() {
  static const datasets::IdxDatasetSpec s{
      .name = "Fashion-MNIST",
      .env_var = "REGULA_FASHION_MNIST_DIR",
      .default_dir = "/usr/share/datasets/fashion-mnist",
      .install_hint = "`apt-get install dataset-fashion-mnist`",
      .train_images = "train-images-idx3-ubyte.gz",
      .train_labels = "train-labels-idx1-ubyte.gz",
      .test_images = "t10k-images-idx3-ubyte.gz",
      .test_labels = "t10k-labels-idx1-ubyte.gz",
      .height = 28,
      .width = 28,
      .num_classes = kNumClasses,
  };
  return s;
}

Data load_data(LoadOptions options) {
  datasets::IdxDataset d = datasets::load_idx_dataset(
      spec(), {.path = options.path, .normalize = options.normalize, .limit = options.limit});
  return Data{.train = {d.train.x, d.train.y}, .test = {d.test.x, d.test.y}};
}

const std::vector<std::string>& class_names() {
  // Order and spelling as in Keras's documentation and the Fashion-MNIST README.
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace regula::datasets::fashion_mnist
