// Model::summary: Keras 2's text table (ASCII, so it reads the same in a terminal, a log file or
// a pipe). A model whose graph is not a simple chain gets Keras's "Connected to" column.

#include <algorithm>
#include <cstdio>
#include <string>

#include "regula/model/model.hpp"
#include "src/model/graph.hpp"

namespace regula {
namespace {

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const int lead = static_cast<int>(digits.size()) % 3;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (static_cast<int>(i) - lead) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// " name (ClassName)", the first cell of a row.
std::string layer_cell(const layers::Layer& layer) {
  std::string cell(" ");
  cell.append(layer.name()).append(" (").append(layer.class_name()).append(")");
  return cell;
}

std::string pad(std::string s, size_t width) {
  if (s.size() + 1 > width) return s + " ";
  s.resize(width, ' ');
  return s;
}

}  // namespace

std::string Model::summary_string() const {
  require_graph("summary");
  const Graph& g = *graph_;
  bool chain = true;
  for (size_t i = 1; i < g.size(); ++i) chain = chain && g.inputs[i].size() == 1 && g.inputs[i][0] == i - 1;
  // Keras wraps long names inside a 29-column cell; widening the column keeps one row per layer.
  size_t name_w = 29;
  for (size_t i = 0; i < g.size(); ++i)
    name_w = std::max(name_w, g.layer(i).name().size() + g.layer(i).class_name().size() + 5);
  const size_t shape_w = 26, param_w = chain ? 10 : 12, connected_w = chain ? 0 : 26;
  const size_t width = name_w + shape_w + param_w + connected_w;
  std::string s = "Model: \"" + name_ + "\"\n" + std::string(width, '_') + "\n";
  s += pad(" Layer (type)", name_w) + pad("Output Shape", shape_w) + pad("Param #", param_w);
  if (!chain) s += "Connected to";
  s.append("\n").append(width, '=').append("\n");
  for (size_t i = 0; i < g.size(); ++i) {
    const layers::Layer& l = g.layer(i);
    s += pad(layer_cell(l), name_w) + pad(g.nodes[i]->shape.to_string(true), shape_w) +
         pad(with_thousands(l.count_params()), param_w);
    if (!chain) {
      std::string connected;
      for (size_t j : g.inputs[i]) connected += (connected.empty() ? "" : ", ") + g.layer(j).name() + "[0][0]";
      s += connected;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    s += "\n";
  }
  const int64_t total = count_params(), trainable = count_trainable_params();
  s += std::string(width, '=') + "\n";
  s += "Total params: " + with_thousands(total) + "\n";
  s += "Trainable params: " + with_thousands(trainable) + "\n";
  s += "Non-trainable params: " + with_thousands(total - trainable) + "\n";
  s += std::string(width, '_') + "\n";
  return s;
}

void Model::summary(std::FILE* out) const {
  const std::string s = summary_string();
  std::fputs(s.c_str(), out);
  std::fflush(out);
}

}  // namespace regula
