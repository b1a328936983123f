#pragma once
#include <ATen/ATen.h>
#include <string>
#include <cstring>

#define BF_API __attribute__((visibility("default")))

extern thread_local std::string bf_last_error;

// Wrap a body so that no C++ exception crosses the C ABI: the message is kept for bf_last_error_message().
#define BF_TRY try
#define BF_CATCH(ret)                                                   \
  catch (const c10::Error& e) {                                         \
    bf_last_error = e.what_without_backtrace();                         \
    return ret;                                                         \
  }                                                                     \
  catch (const std::exception& e) {                                     \
    bf_last_error = e.what();                                           \
    return ret;                                                         \
  }                                                                     \
  catch (...) {                                                         \
    bf_last_error = "unknown native exception";                         \
    return ret;                                                         \
  }
