#pragma once
// The page both reports share: the HTML shell with its inline style sheet, and the series colours.

#include <string>

namespace regula::report {

/// A complete HTML document: `title` (escaped here) and `body` (HTML, already escaped).
std::string html_page(const std::string& title, const std::string& body);

/// The colour of the i-th series of a chart (a 10-colour palette, repeating).
std::string series_color(size_t i);

}  // namespace regula::report
