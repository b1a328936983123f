// BoostFormer native shim: a small C ABI over libtorch (ATen + autograd).
// Every entry point catches C++ exceptions and stores the message in a thread-local slot that the managed side
// turns into a TorchException. Tensors cross the boundary as heap-allocated at::Tensor* handles.
#include "bf_common.h"
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/custom_function.h>
#include <sstream>

thread_local std::string bf_last_error;

// Exact GELU whose backward is correct for any gradient layout. libtorch 1.13.1's CPU gelu_backward (approximate="none")
// returns garbage when grad_output is strided (e.g. GELU followed by flatten(2).transpose(1, 2) + LayerNorm, as in
// SegFormer) while self is contiguous; reproducible from Python 1.13.1 as well. Backward makes both operands
// contiguous before calling the same kernel, so values and speed are otherwise unchanged.
struct BfGelu : public torch::autograd::Function<BfGelu> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const std::string& approximate) {
    ctx->save_for_backward({x});
    ctx->saved_data["approximate"] = approximate;
    return at::gelu(x, approximate);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad) {
    auto x = ctx->get_saved_variables()[0];
    auto approximate = ctx->saved_data["approximate"].toStringRef();
    return {at::gelu_backward(grad[0].contiguous(), x.contiguous(), approximate), at::Tensor()};
  }
};

extern "C" {

BF_API const char* bf_last_error_message() { return bf_last_error.c_str(); }
BF_API void bf_clear_error() { bf_last_error.clear(); }

// ---------------------------------------------------------------- tensor handles
BF_API void bf_tensor_free(at::Tensor* t) { delete t; }

BF_API at::Tensor* bf_tensor_alias(at::Tensor* t) { BF_TRY { return new at::Tensor(*t); } BF_CATCH(nullptr) }

BF_API int64_t bf_tensor_dim(at::Tensor* t) { BF_TRY { return t->dim(); } BF_CATCH(-1) }

BF_API int bf_tensor_sizes(at::Tensor* t, int64_t* out, int64_t cap) {
  BF_TRY {
    auto s = t->sizes();
    for (int64_t i = 0; i < (int64_t)s.size() && i < cap; ++i) out[i] = s[i];
    return 0;
  } BF_CATCH(-1)
}

BF_API int bf_tensor_strides(at::Tensor* t, int64_t* out, int64_t cap) {
  BF_TRY {
    auto s = t->strides();
    for (int64_t i = 0; i < (int64_t)s.size() && i < cap; ++i) out[i] = s[i];
    return 0;
  } BF_CATCH(-1)
}

BF_API int64_t bf_tensor_numel(at::Tensor* t) { BF_TRY { return t->numel(); } BF_CATCH(-1) }
BF_API int bf_tensor_dtype(at::Tensor* t) { BF_TRY { return (int)t->scalar_type(); } BF_CATCH(-1) }
BF_API int bf_tensor_is_contiguous(at::Tensor* t) { BF_TRY { return t->is_contiguous() ? 1 : 0; } BF_CATCH(-1) }
BF_API void* bf_tensor_data_ptr(at::Tensor* t) { BF_TRY { return t->data_ptr(); } BF_CATCH(nullptr) }
BF_API int bf_tensor_requires_grad(at::Tensor* t) { BF_TRY { return t->requires_grad() ? 1 : 0; } BF_CATCH(-1) }
BF_API int bf_tensor_set_requires_grad(at::Tensor* t, int v) { BF_TRY { t->set_requires_grad(v != 0); return 0; } BF_CATCH(-1) }
BF_API int bf_tensor_is_leaf(at::Tensor* t) { BF_TRY { return t->is_leaf() ? 1 : 0; } BF_CATCH(-1) }

BF_API at::Tensor* bf_tensor_grad(at::Tensor* t) {
  BF_TRY {
    const auto& g = t->grad();
    if (!g.defined()) return nullptr;
    return new at::Tensor(g);
  } BF_CATCH(nullptr)
}

BF_API int bf_tensor_set_grad(at::Tensor* t, at::Tensor* g) {
  BF_TRY { t->mutable_grad() = g ? *g : at::Tensor(); return 0; } BF_CATCH(-1)
}

BF_API int bf_tensor_backward(at::Tensor* t, at::Tensor* grad, int retain_graph, int create_graph) {
  BF_TRY {
    at::Tensor g = grad ? *grad : at::Tensor();
    t->backward(g, retain_graph ? c10::optional<bool>(true) : c10::nullopt, create_graph != 0);
    return 0;
  } BF_CATCH(-1)
}

// Gradients of outputs w.r.t. inputs without touching .grad (torch.autograd.grad).
BF_API int bf_autograd_grad(at::Tensor** outputs, int64_t n_out, at::Tensor** grad_outputs, at::Tensor** inputs,
                            int64_t n_in, int retain_graph, int create_graph, int allow_unused, at::Tensor** result) {
  BF_TRY {
    std::vector<at::Tensor> outs, gouts, ins;
    for (int64_t i = 0; i < n_out; ++i) {
      outs.push_back(*outputs[i]);
      gouts.push_back(grad_outputs && grad_outputs[i] ? *grad_outputs[i] : at::Tensor());
    }
    for (int64_t i = 0; i < n_in; ++i) ins.push_back(*inputs[i]);
    auto res = torch::autograd::grad(outs, ins, gouts, retain_graph ? c10::optional<bool>(true) : c10::nullopt,
                                     create_graph != 0, allow_unused != 0);
    for (int64_t i = 0; i < n_in; ++i) result[i] = res[i].defined() ? new at::Tensor(res[i]) : nullptr;
    return 0;
  } BF_CATCH(-1)
}

// A tensor over caller-owned memory (no copy). `release(ctx)` runs when the last reference to the storage goes away.
typedef void (*bf_release_fn)(void* ctx);
BF_API at::Tensor* bf_tensor_from_blob(void* data, const int64_t* sizes, int64_t ndim, int dtype, bf_release_fn release, void* ctx) {
  BF_TRY {
    std::vector<int64_t> sz(sizes, sizes + ndim);
    auto opts = at::TensorOptions().dtype(static_cast<c10::ScalarType>(dtype));
    return new at::Tensor(at::from_blob(data, sz, [release, ctx](void*) { if (release) release(ctx); }, opts));
  } BF_CATCH(nullptr)
}

BF_API at::Tensor* bf_gelu(at::Tensor* x, const char* approximate) {
  BF_TRY {
    std::string a(approximate);
    if (!at::GradMode::is_enabled() || !x->requires_grad()) return new at::Tensor(at::gelu(*x, a));
    return new at::Tensor(BfGelu::apply(*x, a));
  } BF_CATCH(nullptr)
}

BF_API char* bf_tensor_to_string(at::Tensor* t) {
  BF_TRY {
    std::ostringstream os;
    os << *t;
    return strdup(os.str().c_str());
  } BF_CATCH(nullptr)
}

BF_API void bf_free_string(char* s) { free(s); }

// ---------------------------------------------------------------- global state
BF_API int bf_is_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }
BF_API void bf_set_grad_enabled(int v) { at::GradMode::set_enabled(v != 0); }

BF_API void* bf_inference_mode_enter() { BF_TRY { return new c10::InferenceMode(true); } BF_CATCH(nullptr) }
BF_API void bf_inference_mode_exit(void* g) { delete static_cast<c10::InferenceMode*>(g); }
BF_API int bf_is_inference_mode() { return c10::InferenceMode::is_enabled() ? 1 : 0; }

BF_API int bf_manual_seed(uint64_t seed) { BF_TRY { at::manual_seed(seed); return 0; } BF_CATCH(-1) }
BF_API void bf_set_num_threads(int n) { at::set_num_threads(n); }
BF_API int bf_get_num_threads() { return at::get_num_threads(); }
BF_API void bf_set_num_interop_threads(int n) { try { at::set_num_interop_threads(n); } catch (...) {} }

BF_API at::Tensor* bf_rng_get_state() {
  BF_TRY {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return new at::Tensor(gen.get_state());
  } BF_CATCH(nullptr)
}

BF_API int bf_rng_set_state(at::Tensor* state) {
  BF_TRY {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(*state);
    return 0;
  } BF_CATCH(-1)
}

BF_API char* bf_parallel_info() { BF_TRY { return strdup(at::get_parallel_info().c_str()); } BF_CATCH(nullptr) }
BF_API char* bf_config_info() { BF_TRY { return strdup(at::show_config().c_str()); } BF_CATCH(nullptr) }

}  // extern "C"
