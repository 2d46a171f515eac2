#pragma once
// Text pieces the report's HTML and SVG share: numbers as the report prints them and files as
// data URIs. (html_escape is public: report/html_report.hpp.)

#include <string>

namespace regula::report {

/// `value` with `digits` significant digits (%g), "NaN" / "inf" for non-finite values.
std::string format_number(double value, int digits = 4);

/// `bytes` in base64 (RFC 4648, with padding).
std::string base64(const std::string& bytes);

}  // namespace regula::report
