// The one translation unit that compiles stb's image decoder and encoder (header-only libraries
// whose implementation is enabled by these macros exactly once per program).
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
