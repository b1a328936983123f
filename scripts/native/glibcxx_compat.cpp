// Provides std::ios_base_library_init() (GLIBCXX_3.4.32, GCC 13's libstdc++) for libLibTorchSharp.so on systems whose
// libstdc++ is older (Debian 12: GCC 12, GLIBCXX_3.4.30). GCC 13 emits a call to it from every translation unit that
// includes <iostream>, to make sure the standard streams are constructed; constructing a static std::ios_base::Init
// does exactly that on older libstdc++. See scripts/torchsharp-native-fix.py.
#include <ios>

extern "C" void boostformer_ios_base_library_init() __asm__("_ZSt21ios_base_library_initv");
extern "C" void boostformer_ios_base_library_init() { static std::ios_base::Init init; }
