// The autograd profiler (libtorch's legacy CPU profiler, as torch.autograd.profiler.profile(use_kineto=False) in Python):
// every operator and autograd node between bf_profiler_start and bf_profiler_stop is recorded on the calling thread;
// bf_profiler_stop returns per-name aggregates (calls, self and total CPU time) as text lines.
#include "bf_common.h"
#include <torch/csrc/autograd/profiler_legacy.h>
#include <map>
#include <sstream>
#include <vector>

namespace {
struct Aggregate {
  int64_t calls = 0;
  double self_us = 0;
  double total_us = 0;
};
struct Open {
  const torch::autograd::profiler::LegacyEvent* push;
  double children_us;
};
}  // namespace

extern "C" {

BF_API int bf_profiler_start(int record_shapes) {
  BF_TRY {
    torch::autograd::profiler::enableProfilerLegacy(
        torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU, record_shapes != 0));
    return 0;
  }
  BF_CATCH(-1)
}

// Lines "name\tshapes\tcalls\tself_us\ttotal_us\n" sorted by name (shapes: "[2, 3];[3]" when recorded, else empty);
// the caller frees the string with bf_free_string.
BF_API char* bf_profiler_stop() {
  BF_TRY {
    using torch::autograd::profiler::EventKind;
    auto lists = torch::autograd::profiler::disableProfilerLegacy();
    std::map<std::string, Aggregate> agg;
    for (auto& events : lists) {
      std::vector<Open> stack;
      for (auto& e : events) {
        if (e.kind() == EventKind::PushRange) {
          stack.push_back({&e, 0.0});
        } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
          auto open = stack.back();
          stack.pop_back();
          double total = open.push->cpuElapsedUs(e);
          std::string key = open.push->name();
          key += '\t';
          auto shapes = open.push->shapes();
          for (size_t i = 0; i < shapes.size(); i++) {
            if (i) key += ';';
            key += '[';
            for (size_t j = 0; j < shapes[i].size(); j++) key += (j ? ", " : "") + std::to_string(shapes[i][j]);
            key += ']';
          }
          auto& a = agg[key];
          a.calls++;
          a.total_us += total;
          a.self_us += total - open.children_us;
          if (!stack.empty()) stack.back().children_us += total;
        }
      }
    }
    std::ostringstream os;
    for (auto& [name, a] : agg) os << name << '\t' << a.calls << '\t' << a.self_us << '\t' << a.total_us << '\n';
    return strdup(os.str().c_str());
  }
  BF_CATCH(nullptr)
}

}  // extern "C"
