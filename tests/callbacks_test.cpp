// placeholder
#include <gtest/gtest.h>
TEST(Callbacks, Placeholder) {}
