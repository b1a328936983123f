// Generic boxed calls into the ATen dispatcher: the managed side looks an operator up once by its schema name
// ("aten::conv2d", overload ""), pushes arguments onto a stack, and calls it. Calls go through the full dispatcher,
// so autograd, inference mode and oneDNN kernels behave exactly as from Python. Trailing arguments that were not
// pushed (or were pushed as "default") take the schema's default values; ints given where a list or float is
// expected are widened the way the TorchScript frontend does.
#include "bf_common.h"
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

struct BfStack {
  std::vector<c10::IValue> values;
  std::vector<char> is_default;
  std::vector<c10::IValue> results;
};

static void push(BfStack* s, c10::IValue v, bool dflt = false) {
  s->values.push_back(std::move(v));
  s->is_default.push_back(dflt ? 1 : 0);
}

static c10::IValue coerce(const c10::Argument& arg, c10::IValue v) {
  auto type = arg.type();
  if (auto opt = type->cast<c10::OptionalType>()) {
    if (v.isNone()) return v;
    type = opt->getElementType();
  }
  switch (type->kind()) {
    case c10::TypeKind::FloatType:
      if (v.isInt()) return c10::IValue((double)v.toInt());
      break;
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      if (v.isDouble()) return c10::IValue((int64_t)v.toDouble());
      break;
    case c10::TypeKind::ListType: {
      auto elem = type->castRaw<c10::ListType>()->getElementType();
      const bool int_like = elem->kind() == c10::TypeKind::IntType || elem->kind() == c10::TypeKind::SymIntType;
      if (int_like && v.isInt()) {
        int64_t n = arg.N() ? *arg.N() : 1;
        return c10::IValue(std::vector<int64_t>(n, v.toInt()));
      }
      if (elem->kind() == c10::TypeKind::FloatType && v.isDouble()) {
        int64_t n = arg.N() ? *arg.N() : 1;
        return c10::IValue(std::vector<double>(n, v.toDouble()));
      }
      break;
    }
    default:
      break;
  }
  return v;
}

extern "C" {

BF_API void* bf_op_find(const char* name, const char* overload) {
  BF_TRY {
    auto h = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!h.has_value()) {
      bf_last_error = std::string("operator not found: ") + name + (overload[0] ? std::string(".") + overload : "");
      return nullptr;
    }
    return new c10::OperatorHandle(*h);
  } BF_CATCH(nullptr)
}

BF_API char* bf_op_schema(void* op) {
  BF_TRY {
    std::ostringstream os;
    os << static_cast<c10::OperatorHandle*>(op)->schema();
    return strdup(os.str().c_str());
  } BF_CATCH(nullptr)
}

BF_API BfStack* bf_stack_new() { return new BfStack(); }
BF_API void bf_stack_free(BfStack* s) { delete s; }
BF_API void bf_stack_clear(BfStack* s) { s->values.clear(); s->is_default.clear(); s->results.clear(); }

BF_API void bf_push_tensor(BfStack* s, at::Tensor* t) { push(s, t ? c10::IValue(*t) : c10::IValue()); }
BF_API void bf_push_int(BfStack* s, int64_t v) { push(s, c10::IValue(v)); }
BF_API void bf_push_double(BfStack* s, double v) { push(s, c10::IValue(v)); }
BF_API void bf_push_bool(BfStack* s, int v) { push(s, c10::IValue(v != 0)); }
BF_API void bf_push_none(BfStack* s) { push(s, c10::IValue()); }
BF_API void bf_push_default(BfStack* s) { push(s, c10::IValue(), true); }
BF_API void bf_push_string(BfStack* s, const char* v) { push(s, c10::IValue(std::string(v))); }
BF_API void bf_push_int_list(BfStack* s, const int64_t* v, int64_t n) { push(s, c10::IValue(std::vector<int64_t>(v, v + n))); }
BF_API void bf_push_double_list(BfStack* s, const double* v, int64_t n) { push(s, c10::IValue(std::vector<double>(v, v + n))); }
BF_API void bf_push_bool_list(BfStack* s, const uint8_t* v, int64_t n) {
  c10::List<bool> l;
  for (int64_t i = 0; i < n; ++i) l.push_back(v[i] != 0);
  push(s, c10::IValue(l));
}
BF_API void bf_push_tensor_list(BfStack* s, at::Tensor** v, int64_t n) {
  std::vector<at::Tensor> l;
  l.reserve(n);
  for (int64_t i = 0; i < n; ++i) l.push_back(*v[i]);
  push(s, c10::IValue(l));
}
// List of optional tensors (index.Tensor takes Tensor?[]): null entries become None.
BF_API void bf_push_opt_tensor_list(BfStack* s, at::Tensor** v, int64_t n) {
  c10::List<c10::optional<at::Tensor>> l;
  for (int64_t i = 0; i < n; ++i) l.push_back(v[i] ? c10::optional<at::Tensor>(*v[i]) : c10::nullopt);
  push(s, c10::IValue(l));
}

// Calls the operator; returns the number of results, or -1 with the error message set.
BF_API int64_t bf_op_call(void* op, BfStack* s) {
  BF_TRY {
    auto& h = *static_cast<c10::OperatorHandle*>(op);
    const auto& args = h.schema().arguments();
    if (s->values.size() > args.size()) {
      std::ostringstream os;
      os << h.schema().name() << ": " << s->values.size() << " arguments given, schema takes " << args.size();
      throw std::runtime_error(os.str());
    }
    torch::jit::Stack stack;
    stack.reserve(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      const auto& a = args[i];
      if (i < s->values.size() && !s->is_default[i]) {
        stack.push_back(coerce(a, std::move(s->values[i])));
      } else if (a.default_value().has_value()) {
        stack.push_back(*a.default_value());
      } else {
        std::ostringstream os;
        os << h.schema().name() << ": missing argument '" << a.name() << "'";
        throw std::runtime_error(os.str());
      }
    }
    s->values.clear();
    s->is_default.clear();
    h.callBoxed(&stack);
    s->results = std::move(stack);
    return (int64_t)s->results.size();
  } BF_CATCH(-1)
}

// Result accessors. Kinds: 0 none, 1 tensor, 2 int, 3 double, 4 bool, 5 tensor list, 6 other.
BF_API int bf_result_kind(BfStack* s, int64_t i) {
  const auto& v = s->results.at(i);
  if (v.isNone()) return 0;
  if (v.isTensor()) return 1;
  if (v.isInt()) return 2;
  if (v.isDouble()) return 3;
  if (v.isBool()) return 4;
  if (v.isTensorList()) return 5;
  return 6;
}

BF_API at::Tensor* bf_result_tensor(BfStack* s, int64_t i) {
  BF_TRY {
    const auto& v = s->results.at(i);
    if (v.isNone()) return nullptr;
    auto t = v.toTensor();
    if (!t.defined()) return nullptr;
    return new at::Tensor(std::move(t));
  } BF_CATCH(nullptr)
}

BF_API int64_t bf_result_list_len(BfStack* s, int64_t i) {
  BF_TRY { return (int64_t)s->results.at(i).toTensorList().size(); } BF_CATCH(-1)
}

BF_API at::Tensor* bf_result_list_item(BfStack* s, int64_t i, int64_t j) {
  BF_TRY { return new at::Tensor(s->results.at(i).toTensorList().get(j)); } BF_CATCH(nullptr)
}

BF_API int bf_result_scalar(BfStack* s, int64_t i, double* dbl, int64_t* lng) {
  BF_TRY {
    const auto& v = s->results.at(i);
    if (v.isDouble()) { *dbl = v.toDouble(); *lng = (int64_t)*dbl; return 3; }
    if (v.isInt()) { *lng = v.toInt(); *dbl = (double)*lng; return 2; }
    if (v.isBool()) { *lng = v.toBool() ? 1 : 0; *dbl = (double)*lng; return 4; }
    if (v.isScalar()) {
      auto sc = v.toScalar();
      if (sc.isFloatingPoint()) { *dbl = sc.toDouble(); *lng = (int64_t)*dbl; return 3; }
      if (sc.isBoolean()) { *lng = sc.toBool() ? 1 : 0; *dbl = (double)*lng; return 4; }
      *lng = sc.toLong(); *dbl = (double)*lng; return 2;
    }
    throw std::runtime_error("result " + std::to_string(i) + " is not a scalar: " + v.tagKind());
  } BF_CATCH(-1)
}

}  // extern "C"
