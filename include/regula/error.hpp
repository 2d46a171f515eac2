#pragma once
/// @file
/// Errors thrown by regula. Every error message names what was wrong, where (layer, option,
/// file, epoch/batch) and what is allowed, in the style of PyTorch's TORCH_CHECK. Bad user input
/// is reported by throwing one of these; regula never aborts the process on bad input.

#include <stdexcept>
#include <string>

namespace regula {

/// Base of every error regula throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// An argument or option has a value outside what is allowed (Python's ValueError).
class ValueError : public Error {
 public:
  using Error::Error;
};

/// Tensor shapes do not fit together (connecting layers, weights that do not fit a model).
class ShapeError : public ValueError {
 public:
  using ValueError::ValueError;
};

/// A file is missing, unreadable, corrupt or of an unsupported format.
class IOError : public Error {
 public:
  using Error::Error;
};

/// An operation was called in the wrong state (e.g. `fit` before `compile`).
class StateError : public Error {
 public:
  using Error::Error;
};

/// The work was stopped on request (SIGINT, SIGTERM: utils/stop_request.hpp); the message says
/// where, and what was backed up.
class Interrupted : public Error {
 public:
  using Error::Error;
};

/// Training produced a non-finite loss.
class NumericalError : public Error {
 public:
  using Error::Error;
};

}  // namespace regula
