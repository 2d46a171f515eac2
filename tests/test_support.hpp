#pragma once
// Helpers shared by the test executables: reading the message of an expected exception, and a
// temporary directory that lives as long as one test.

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace regula::testing_support {

namespace detail {

/// Runs `call` and returns the message of the `Error` it throws. When it returns normally or
/// throws another `std::exception`, records a non-fatal test failure saying so and returns
/// `std::nullopt`.
template <class Error, class Call>
std::optional<std::string> thrown_message(Call&& call) {
  try {
    std::forward<Call>(call)();
  } catch (const Error& error) {
    return std::string(error.what());
  } catch (const std::exception& error) {
    ADD_FAILURE() << "threw the wrong exception type: " << error.what();
    return std::nullopt;
  }
  ADD_FAILURE() << "did not throw";
  return std::nullopt;
}

}  // namespace detail

/// The message of the `Error` that `call` throws. When `call` throws nothing or another
/// `std::exception`, the test fails (non-fatally) with a message saying which, and the result is
/// the empty string.
template <class Error, class Call>
std::string error_message(Call&& call) {
  return detail::thrown_message<Error>(std::forward<Call>(call)).value_or("");
}

/// Expects `call` to throw `Error` with a message that contains every one of `parts`; each
/// missing part is a separate non-fatal failure that quotes the whole message.
template <class Error, class Call>
void expect_error(Call&& call, std::initializer_list<std::string> parts) {
  const std::optional<std::string> message = detail::thrown_message<Error>(std::forward<Call>(call));
  if (!message) return;
  for (const std::string& part : parts)
    EXPECT_NE(message->find(part), std::string::npos) << "message lacks '" << part << "': " << *message;
}

/// A new, empty directory under `std::filesystem::temp_directory_path()`, removed with everything
/// in it when the object goes out of scope. Its name holds the current test's suite and name and
/// the process id, and a counter keeps directories of the same test apart.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    const std::string stem = "regula_" + current_test_label() + "_" + std::to_string(::getpid()) + "_";
    static std::atomic<unsigned> next_number{0};
    do {
      path_ = std::filesystem::temp_directory_path() / (stem + std::to_string(next_number++));
    } while (!std::filesystem::create_directories(path_));
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  /// The directory itself.
  const std::filesystem::path& path() const { return path_; }
  /// The path of `name` inside the directory, as a string (the file need not exist).
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  /// "Suite_Name" of the running test with anything but letters, digits, '-' and '_' replaced by
  /// '_' (parameterised tests have '/' in their names); "no_test" outside a test.
  static std::string current_test_label() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string label = info ? std::string(info->test_suite_name()) + "_" + info->name() : "no_test";
    for (char& c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    return label;
  }

  std::filesystem::path path_;
};

}  // namespace regula::testing_support
