namespace BoostFormer.Torch;

public static partial class torch
{
    public partial class Tensor
    {
        private static Op O(string name) => Op.Get(name);

        // ------------------------------------------------------------------ conversion and copies
        /// <summary>A new tensor sharing storage, detached from the autograd graph.</summary>
        public Tensor detach() => O("aten::detach").Call().T(this).Tensor();
        public Tensor clone() => O("aten::clone").Call().T(this).Tensor();
        public Tensor contiguous() => O("aten::contiguous").Call().T(this).Tensor();

        /// <summary>Converts to <paramref name="type"/> (returns this tensor's alias when the type already matches and <paramref name="copy"/> is false).</summary>
        public Tensor to(ScalarType type, bool copy = false) => O("aten::to.dtype").Call().T(this).I((long)type).B(false).B(copy).Tensor();
        public Tensor to_type(ScalarType type) => to(type);
        public Tensor @float() => to(ScalarType.Float32);
        public Tensor @double() => to(ScalarType.Float64);
        public Tensor @long() => to(ScalarType.Int64);
        public Tensor @int() => to(ScalarType.Int32);
        public Tensor @bool() => to(ScalarType.Bool);
        public Tensor @byte() => to(ScalarType.Byte);
        /// <summary>No-op for API compatibility: everything runs on the CPU.</summary>
        public Tensor cpu() => alias();
        /// <summary>A second managed handle to the same tensor (same storage, same autograd node).</summary>
        public Tensor alias() => new(Native.Check(Native.bf_tensor_alias(Handle)));

        public Tensor copy_(Tensor src) { O("aten::copy_").Call().T(this).T(src).Invoke(); return this; }
        public Tensor fill_(Scalar value) { O("aten::fill_.Scalar").Call().T(this).S(value).Invoke(); return this; }
        public Tensor zero_() { O("aten::zero_").Call().T(this).Invoke(); return this; }

        // ------------------------------------------------------------------ shape
        public Tensor view(params long[] shape) => O("aten::view").Call().T(this).L(shape).Tensor();
        public Tensor reshape(params long[] shape) => O("aten::reshape").Call().T(this).L(shape).Tensor();
        public Tensor permute(params long[] dims) => O("aten::permute").Call().T(this).L(dims).Tensor();
        public Tensor transpose(long dim0, long dim1) => O("aten::transpose.int").Call().T(this).I(dim0).I(dim1).Tensor();
        public Tensor t() => transpose(0, 1);
        public Tensor flatten(long start_dim = 0, long end_dim = -1) => O("aten::flatten.using_ints").Call().T(this).I(start_dim).I(end_dim).Tensor();
        public Tensor unsqueeze(long dim) => O("aten::unsqueeze").Call().T(this).I(dim).Tensor();
        public Tensor squeeze() => O("aten::squeeze").Call().T(this).Tensor();
        public Tensor squeeze(long dim) => O("aten::squeeze.dim").Call().T(this).I(dim).Tensor();
        public Tensor expand(params long[] sizes) => O("aten::expand").Call().T(this).L(sizes).Tensor();
        public Tensor expand_as(Tensor other) => expand(other.shape);
        public Tensor repeat(params long[] repeats) => O("aten::repeat").Call().T(this).L(repeats).Tensor();
        public Tensor flip(params long[] dims) => O("aten::flip").Call().T(this).L(dims).Tensor();
        public Tensor roll(long[] shifts, long[] dims) => O("aten::roll").Call().T(this).L(shifts).L(dims).Tensor();
        public Tensor[] chunk(long chunks, long dim = 0) => O("aten::chunk").Call().T(this).I(chunks).I(dim).TensorList();
        public Tensor[] split(long split_size, long dim = 0) => O("aten::split.Tensor").Call().T(this).I(split_size).I(dim).TensorList();
        public Tensor[] split(long[] split_sizes, long dim = 0) => O("aten::split_with_sizes").Call().T(this).L(split_sizes).I(dim).TensorList();
        public Tensor[] unbind(long dim = 0) => O("aten::unbind.int").Call().T(this).I(dim).TensorList();

        // ------------------------------------------------------------------ indexing
        public Tensor select(long dim, long index) => O("aten::select.int").Call().T(this).I(dim).I(index).Tensor();
        public Tensor narrow(long dim, long start, long length) => O("aten::narrow").Call().T(this).I(dim).I(start).I(length).Tensor();
        /// <summary>Elements <c>start..end</c> (exclusive) with <paramref name="step"/> along <paramref name="dim"/>; null bounds mean the ends.</summary>
        public Tensor slice(long dim, long? start, long? end, long step = 1) => O("aten::slice.Tensor").Call().T(this).I(dim).I(start).I(end).I(step).Tensor();
        public Tensor index_select(long dim, Tensor index) => O("aten::index_select").Call().T(this).I(dim).T(index).Tensor();
        public Tensor gather(long dim, Tensor index) => O("aten::gather").Call().T(this).I(dim).T(index).Tensor();
        public Tensor masked_fill(Tensor mask, Scalar value) => O("aten::masked_fill.Scalar").Call().T(this).T(mask).S(value).Tensor();
        public Tensor masked_fill_(Tensor mask, Scalar value) { O("aten::masked_fill_.Scalar").Call().T(this).T(mask).S(value).Invoke(); return this; }
        public Tensor masked_select(Tensor mask) => O("aten::masked_select").Call().T(this).T(mask).Tensor();
        public Tensor scatter_(long dim, Tensor index, Tensor src) { O("aten::scatter_.src").Call().T(this).I(dim).T(index).T(src).Invoke(); return this; }
        public Tensor scatter_(long dim, Tensor index, Scalar value) { O("aten::scatter_.value").Call().T(this).I(dim).T(index).S(value).Invoke(); return this; }
        /// <summary>Advanced indexing with tensors (PyTorch's <c>x[idx0, idx1]</c>); null entries keep a dimension whole.</summary>
        public Tensor index(params Tensor?[] indices) => O("aten::index.Tensor").Call().T(this).OTL(indices).Tensor();
        public Tensor index_put_(Tensor?[] indices, Tensor values, bool accumulate = false) { O("aten::index_put_").Call().T(this).OTL(indices).T(values).B(accumulate).Invoke(); return this; }

        /// <summary>Basic and advanced indexing: integers select, ranges slice, <see cref="TensorIndex.None"/> adds a dimension,
        /// <see cref="TensorIndex.Ellipsis"/> skips the remaining ones, tensors index (PyTorch's <c>x[...]</c>).</summary>
        public Tensor this[params TensorIndex[] indices]
        {
            get => TensorIndex.Apply(this, indices);
            set
            {
                using var view = TensorIndex.Apply(this, indices, forWrite: true);
                if (TensorIndex.HasTensor(indices)) TensorIndex.Put(this, indices, value);
                else view.copy_(value);
            }
        }

        // ------------------------------------------------------------------ arithmetic
        public Tensor add(Tensor other, Scalar? alpha = null) => O("aten::add.Tensor").Call().T(this).T(other).S(alpha ?? 1).Tensor();
        public Tensor add(Scalar other) => O("aten::add.Scalar").Call().T(this).S(other).Tensor();
        public Tensor sub(Tensor other) => O("aten::sub.Tensor").Call().T(this).T(other).Tensor();
        public Tensor sub(Scalar other) => O("aten::sub.Scalar").Call().T(this).S(other).Tensor();
        public Tensor mul(Tensor other) => O("aten::mul.Tensor").Call().T(this).T(other).Tensor();
        public Tensor mul(Scalar other) => O("aten::mul.Scalar").Call().T(this).S(other).Tensor();
        public Tensor div(Tensor other) => O("aten::div.Tensor").Call().T(this).T(other).Tensor();
        public Tensor div(Scalar other) => O("aten::div.Scalar").Call().T(this).S(other).Tensor();
        public Tensor div(Tensor other, string rounding_mode) => O("aten::div.Tensor_mode").Call().T(this).T(other).Str(rounding_mode).Tensor();
        public Tensor remainder(Scalar other) => O("aten::remainder.Scalar").Call().T(this).S(other).Tensor();
        public Tensor neg() => O("aten::neg").Call().T(this).Tensor();
        public Tensor rsub(Scalar other) => O("aten::rsub.Scalar").Call().T(this).S(other).Tensor();
        public Tensor matmul(Tensor other) => O("aten::matmul").Call().T(this).T(other).Tensor();
        public Tensor mm(Tensor other) => O("aten::mm").Call().T(this).T(other).Tensor();
        public Tensor bmm(Tensor other) => O("aten::bmm").Call().T(this).T(other).Tensor();

        public Tensor add_(Tensor other, Scalar? alpha = null) { O("aten::add_.Tensor").Call().T(this).T(other).S(alpha ?? 1).Invoke(); return this; }
        public Tensor add_(Scalar other) { O("aten::add_.Scalar").Call().T(this).S(other).Invoke(); return this; }
        public Tensor sub_(Tensor other, Scalar? alpha = null) { O("aten::sub_.Tensor").Call().T(this).T(other).S(alpha ?? 1).Invoke(); return this; }
        public Tensor mul_(Tensor other) { O("aten::mul_.Tensor").Call().T(this).T(other).Invoke(); return this; }
        public Tensor mul_(Scalar other) { O("aten::mul_.Scalar").Call().T(this).S(other).Invoke(); return this; }
        public Tensor div_(Tensor other) { O("aten::div_.Tensor").Call().T(this).T(other).Invoke(); return this; }
        public Tensor div_(Scalar other) { O("aten::div_.Scalar").Call().T(this).S(other).Invoke(); return this; }
        public Tensor addcmul_(Tensor t1, Tensor t2, Scalar? value = null) { O("aten::addcmul_").Call().T(this).T(t1).T(t2).S(value ?? 1).Invoke(); return this; }
        public Tensor addcdiv_(Tensor t1, Tensor t2, Scalar? value = null) { O("aten::addcdiv_").Call().T(this).T(t1).T(t2).S(value ?? 1).Invoke(); return this; }
        public Tensor lerp_(Tensor end, Scalar weight) { O("aten::lerp_.Scalar").Call().T(this).T(end).S(weight).Invoke(); return this; }
        public Tensor clamp_(Scalar? min = null, Scalar? max = null) { var c = O("aten::clamp_").Call().T(this); PushOptScalar(c, min); PushOptScalar(c, max); c.Invoke(); return this; }
        public Tensor sqrt_() { O("aten::sqrt_").Call().T(this).Invoke(); return this; }
        public Tensor normal_(double mean = 0, double std = 1) { O("aten::normal_").Call().T(this).D(mean).D(std).Invoke(); return this; }
        public Tensor uniform_(double from = 0, double to = 1) { O("aten::uniform_").Call().T(this).D(from).D(to).Invoke(); return this; }
        public Tensor bernoulli_(double p) { O("aten::bernoulli_.float").Call().T(this).D(p).Invoke(); return this; }
        public Tensor erfinv_() { O("aten::erfinv_").Call().T(this).Invoke(); return this; }
        public Tensor exp_() { O("aten::exp_").Call().T(this).Invoke(); return this; }
        public Tensor relu_() { O("aten::relu_").Call().T(this).Invoke(); return this; }
        public Tensor sub_(Scalar other) { O("aten::sub_.Scalar").Call().T(this).S(other).Invoke(); return this; }
        public Tensor neg_() { O("aten::neg_").Call().T(this).Invoke(); return this; }
        public Tensor abs_() { O("aten::abs_").Call().T(this).Invoke(); return this; }
        public Tensor log_() { O("aten::log_").Call().T(this).Invoke(); return this; }
        public Tensor pow_(Scalar exponent) { O("aten::pow_.Scalar").Call().T(this).S(exponent).Invoke(); return this; }
        public Tensor maximum_(Tensor other) { O("aten::maximum.out").Call().T(this).T(other).T(this).Invoke(); return this; }
        /// <summary>Detaches this tensor from the graph in place (it becomes a leaf).</summary>
        public Tensor detach_() { O("aten::detach_").Call().T(this).Invoke(); return this; }

        private static void PushOptScalar(OpCall c, Scalar? s) { if (s is null) c.None(); else c.S(s.Value); }

        // ------------------------------------------------------------------ elementwise math
        public Tensor exp() => O("aten::exp").Call().T(this).Tensor();
        public Tensor log() => O("aten::log").Call().T(this).Tensor();
        public Tensor sqrt() => O("aten::sqrt").Call().T(this).Tensor();
        public Tensor rsqrt() => O("aten::rsqrt").Call().T(this).Tensor();
        public Tensor abs() => O("aten::abs").Call().T(this).Tensor();
        public Tensor sign() => O("aten::sign").Call().T(this).Tensor();
        public Tensor floor() => O("aten::floor").Call().T(this).Tensor();
        public Tensor ceil() => O("aten::ceil").Call().T(this).Tensor();
        public Tensor round() => O("aten::round").Call().T(this).Tensor();
        public Tensor sigmoid() => O("aten::sigmoid").Call().T(this).Tensor();
        public Tensor tanh() => O("aten::tanh").Call().T(this).Tensor();
        public Tensor sin() => O("aten::sin").Call().T(this).Tensor();
        public Tensor cos() => O("aten::cos").Call().T(this).Tensor();
        public Tensor erf() => O("aten::erf").Call().T(this).Tensor();
        public Tensor reciprocal() => O("aten::reciprocal").Call().T(this).Tensor();
        public Tensor pow(Scalar exponent) => O("aten::pow.Tensor_Scalar").Call().T(this).S(exponent).Tensor();
        public Tensor pow(Tensor exponent) => O("aten::pow.Tensor_Tensor").Call().T(this).T(exponent).Tensor();
        public Tensor square() => O("aten::square").Call().T(this).Tensor();
        public Tensor clamp(Scalar? min = null, Scalar? max = null) { var c = O("aten::clamp").Call().T(this); PushOptScalar(c, min); PushOptScalar(c, max); return c.Tensor(); }
        public Tensor clamp_min(Scalar min) => O("aten::clamp_min").Call().T(this).S(min).Tensor();
        public Tensor clamp_max(Scalar max) => O("aten::clamp_max").Call().T(this).S(max).Tensor();
        public Tensor maximum(Tensor other) => O("aten::maximum").Call().T(this).T(other).Tensor();
        public Tensor minimum(Tensor other) => O("aten::minimum").Call().T(this).T(other).Tensor();
        public Tensor relu() => O("aten::relu").Call().T(this).Tensor();
        public Tensor logical_not() => O("aten::logical_not").Call().T(this).Tensor();
        public Tensor logical_and(Tensor other) => O("aten::logical_and").Call().T(this).T(other).Tensor();
        public Tensor logical_or(Tensor other) => O("aten::logical_or").Call().T(this).T(other).Tensor();
        public Tensor isnan() => O("aten::isnan").Call().T(this).Tensor();
        public Tensor isfinite() => O("aten::isfinite").Call().T(this).Tensor();

        // ------------------------------------------------------------------ comparisons
        public Tensor eq(Tensor other) => O("aten::eq.Tensor").Call().T(this).T(other).Tensor();
        public Tensor eq(Scalar other) => O("aten::eq.Scalar").Call().T(this).S(other).Tensor();
        public Tensor ne(Tensor other) => O("aten::ne.Tensor").Call().T(this).T(other).Tensor();
        public Tensor ne(Scalar other) => O("aten::ne.Scalar").Call().T(this).S(other).Tensor();
        public Tensor gt(Tensor other) => O("aten::gt.Tensor").Call().T(this).T(other).Tensor();
        public Tensor gt(Scalar other) => O("aten::gt.Scalar").Call().T(this).S(other).Tensor();
        public Tensor ge(Tensor other) => O("aten::ge.Tensor").Call().T(this).T(other).Tensor();
        public Tensor ge(Scalar other) => O("aten::ge.Scalar").Call().T(this).S(other).Tensor();
        public Tensor lt(Tensor other) => O("aten::lt.Tensor").Call().T(this).T(other).Tensor();
        public Tensor lt(Scalar other) => O("aten::lt.Scalar").Call().T(this).S(other).Tensor();
        public Tensor le(Tensor other) => O("aten::le.Tensor").Call().T(this).T(other).Tensor();
        public Tensor le(Scalar other) => O("aten::le.Scalar").Call().T(this).S(other).Tensor();
        public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8) => O("aten::allclose").Call().T(this).T(other).D(rtol).D(atol).Scalar().ToBoolean();
        public bool equal(Tensor other) => O("aten::equal").Call().T(this).T(other).Scalar().ToBoolean();

        // ------------------------------------------------------------------ reductions
        public Tensor sum(ScalarType? type = null) => O("aten::sum").Call().T(this).Dtype(type).Tensor();
        public Tensor sum(long dim, bool keepdim = false, ScalarType? type = null) => sum(new[] { dim }, keepdim, type);
        /// <summary>Sum over <paramref name="dim"/> (this overload makes <c>x.sum(0)</c> mean dim 0, not dtype 0).</summary>
        public Tensor sum(int dim, bool keepdim = false, ScalarType? type = null) => sum(new long[] { dim }, keepdim, type);
        public Tensor sum(long[] dims, bool keepdim = false, ScalarType? type = null) => O("aten::sum.dim_IntList").Call().T(this).L(dims).B(keepdim).Dtype(type).Tensor();
        public Tensor mean() => O("aten::mean").Call().T(this).Tensor();
        public Tensor mean(long dim, bool keepdim = false) => mean(new[] { dim }, keepdim);
        public Tensor mean(long[] dims, bool keepdim = false) => O("aten::mean.dim").Call().T(this).L(dims).B(keepdim).Tensor();
        public Tensor var(bool unbiased = true) => O("aten::var").Call().T(this).B(unbiased).Tensor();
        public Tensor var(long dim, bool unbiased = true, bool keepdim = false) => var(new[] { dim }, unbiased, keepdim);
        public Tensor var(long[] dims, bool unbiased = true, bool keepdim = false) => O("aten::var.dim").Call().T(this).L(dims).B(unbiased).B(keepdim).Tensor();
        public Tensor std(bool unbiased = true) => O("aten::std").Call().T(this).B(unbiased).Tensor();
        public Tensor std(long dim, bool unbiased = true, bool keepdim = false) => O("aten::std.dim").Call().T(this).L(new[] { dim }).B(unbiased).B(keepdim).Tensor();
        public Tensor max() => O("aten::max").Call().T(this).Tensor();
        public (Tensor values, Tensor indexes) max(long dim, bool keepdim = false) => O("aten::max.dim").Call().T(this).I(dim).B(keepdim).Tensor2();
        public Tensor min() => O("aten::min").Call().T(this).Tensor();
        public (Tensor values, Tensor indexes) min(long dim, bool keepdim = false) => O("aten::min.dim").Call().T(this).I(dim).B(keepdim).Tensor2();
        public Tensor argmax() => O("aten::argmax").Call().T(this).Tensor();
        public Tensor argmax(long dim, bool keepdim = false) => O("aten::argmax").Call().T(this).I(dim).B(keepdim).Tensor();
        public Tensor argmin(long dim, bool keepdim = false) => O("aten::argmin").Call().T(this).I(dim).B(keepdim).Tensor();
        public Tensor prod() => O("aten::prod").Call().T(this).Tensor();
        public Tensor norm() => O("aten::norm.Scalar").Call().T(this).S(2).Tensor();
        public Tensor cumsum(long dim) => O("aten::cumsum").Call().T(this).I(dim).Tensor();
        public Tensor all() => O("aten::all").Call().T(this).Tensor();
        public Tensor any() => O("aten::any").Call().T(this).Tensor();
        public (Tensor values, Tensor indexes) topk(long k, long dim = -1, bool largest = true, bool sorted = true) =>
            O("aten::topk").Call().T(this).I(k).I(dim).B(largest).B(sorted).Tensor2();
        public (Tensor values, Tensor indexes) sort(long dim = -1, bool descending = false) => O("aten::sort").Call().T(this).I(dim).B(descending).Tensor2();
        public Tensor bincount(Tensor? weights = null, long minlength = 0) => O("aten::bincount").Call().T(this).T(weights, true).I(minlength).Tensor();

        public Tensor softmax(long dim, ScalarType? type = null) => O("aten::softmax.int").Call().T(this).I(dim).Dtype(type).Tensor();
        public Tensor log_softmax(long dim, ScalarType? type = null) => O("aten::log_softmax.int").Call().T(this).I(dim).Dtype(type).Tensor();

        // ------------------------------------------------------------------ operators
        public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
        public static Tensor operator +(Tensor a, Scalar b) => a.add(b);
        public static Tensor operator +(Scalar a, Tensor b) => b.add(a);
        public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
        public static Tensor operator -(Tensor a, Scalar b) => a.sub(b);
        public static Tensor operator -(Scalar a, Tensor b) => b.rsub(a);
        public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
        public static Tensor operator *(Tensor a, Scalar b) => a.mul(b);
        public static Tensor operator *(Scalar a, Tensor b) => b.mul(a);
        public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
        public static Tensor operator /(Tensor a, Scalar b) => a.div(b);
        public static Tensor operator /(Scalar a, Tensor b) { using var r = b.reciprocal(); return r.mul(a); }
        public static Tensor operator -(Tensor a) => a.neg();
        public static Tensor operator <(Tensor a, Tensor b) => a.lt(b);
        public static Tensor operator >(Tensor a, Tensor b) => a.gt(b);
        public static Tensor operator <=(Tensor a, Tensor b) => a.le(b);
        public static Tensor operator >=(Tensor a, Tensor b) => a.ge(b);
        public static Tensor operator <(Tensor a, Scalar b) => a.lt(b);
        public static Tensor operator >(Tensor a, Scalar b) => a.gt(b);
        public static Tensor operator <=(Tensor a, Scalar b) => a.le(b);
        public static Tensor operator >=(Tensor a, Scalar b) => a.ge(b);
        public static Tensor operator &(Tensor a, Tensor b) => a.logical_and(b);
        public static Tensor operator |(Tensor a, Tensor b) => a.logical_or(b);
        public static Tensor operator !(Tensor a) => a.logical_not();
    }

    // ---------------------------------------------------------------------- free functions
    private static Op O(string name) => Op.Get(name);

    public static Tensor empty(long[] size, ScalarType dtype = ScalarType.Float32) => O("aten::empty.memory_format").Call().L(size).I((long)dtype).Tensor();
    public static Tensor zeros(long[] size, ScalarType dtype = ScalarType.Float32) => O("aten::zeros").Call().L(size).I((long)dtype).Tensor();
    public static Tensor zeros(params long[] size) => zeros(size, ScalarType.Float32);
    public static Tensor ones(long[] size, ScalarType dtype = ScalarType.Float32) => O("aten::ones").Call().L(size).I((long)dtype).Tensor();
    public static Tensor ones(params long[] size) => ones(size, ScalarType.Float32);
    public static Tensor full(long[] size, Scalar value, ScalarType? dtype = null) => O("aten::full").Call().L(size).S(value).Dtype(dtype ?? (value.IsFloating ? ScalarType.Float32 : value.IsBool ? ScalarType.Bool : ScalarType.Int64)).Tensor();
    public static Tensor zeros_like(Tensor t, ScalarType? dtype = null) => O("aten::zeros_like").Call().T(t).Dtype(dtype).Tensor();
    public static Tensor ones_like(Tensor t, ScalarType? dtype = null) => O("aten::ones_like").Call().T(t).Dtype(dtype).Tensor();
    public static Tensor full_like(Tensor t, Scalar value, ScalarType? dtype = null) => O("aten::full_like").Call().T(t).S(value).Dtype(dtype).Tensor();
    public static Tensor empty_like(Tensor t) => O("aten::empty_like").Call().T(t).Tensor();
    public static Tensor arange(Scalar stop, ScalarType? dtype = null) => O("aten::arange").Call().S(stop).Dtype(dtype).Tensor();
    public static Tensor arange(Scalar start, Scalar stop, ScalarType? dtype = null) => arange(start, stop, 1, dtype);
    public static Tensor arange(Scalar start, Scalar stop, Scalar step, ScalarType? dtype = null) => O("aten::arange.start_step").Call().S(start).S(stop).S(step).Dtype(dtype).Tensor();
    public static Tensor linspace(double start, double end, long steps, ScalarType dtype = ScalarType.Float32) => O("aten::linspace").Call().D(start).D(end).I(steps).I((long)dtype).Tensor();
    public static Tensor eye(long n, ScalarType dtype = ScalarType.Float32) => O("aten::eye").Call().I(n).I((long)dtype).Tensor();
    /// <summary>Uniform samples in [0, 1) from the global generator (see <see cref="manual_seed"/>).</summary>
    public static Tensor rand(long[] size, ScalarType dtype = ScalarType.Float32) => O("aten::rand").Call().L(size).I((long)dtype).Tensor();
    public static Tensor rand(params long[] size) => rand(size, ScalarType.Float32);
    public static Tensor randn(long[] size, ScalarType dtype = ScalarType.Float32) => O("aten::randn").Call().L(size).I((long)dtype).Tensor();
    public static Tensor randn(params long[] size) => randn(size, ScalarType.Float32);
    public static Tensor randint(long low, long high, long[] size, ScalarType dtype = ScalarType.Int64) => O("aten::randint.low").Call().I(low).I(high).L(size).I((long)dtype).Tensor();
    public static Tensor randint(long high, long[] size, ScalarType dtype = ScalarType.Int64) => randint(0, high, size, dtype);
    public static Tensor randperm(long n, ScalarType dtype = ScalarType.Int64) => O("aten::randperm").Call().I(n).I((long)dtype).Tensor();

    public static Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0) => O("aten::cat").Call().TL(tensors).I(dim).Tensor();
    public static Tensor concat(IReadOnlyList<Tensor> tensors, long dim = 0) => cat(tensors, dim);
    public static Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0) => O("aten::stack").Call().TL(tensors).I(dim).Tensor();
    public static Tensor where(Tensor condition, Tensor x, Tensor y) => O("aten::where.self").Call().T(condition).T(x).T(y).Tensor();
    public static Tensor where(Tensor condition, Tensor x, Scalar y) => O("aten::where.ScalarOther").Call().T(condition).T(x).S(y).Tensor();
    public static Tensor where(Tensor condition, Scalar x, Tensor y) => O("aten::where.ScalarSelf").Call().T(condition).S(x).T(y).Tensor();
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);
    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);
    public static Tensor softmax(Tensor x, long dim) => x.softmax(dim);
    public static Tensor log_softmax(Tensor x, long dim) => x.log_softmax(dim);
    public static Tensor exp(Tensor x) => x.exp();
    public static Tensor log(Tensor x) => x.log();
    public static Tensor sqrt(Tensor x) => x.sqrt();
    public static Tensor abs(Tensor x) => x.abs();
    public static Tensor pow(Tensor x, Scalar e) => x.pow(e);
    public static Tensor clamp(Tensor x, Scalar? min = null, Scalar? max = null) => x.clamp(min, max);
    public static Tensor maximum(Tensor a, Tensor b) => a.maximum(b);
    public static Tensor minimum(Tensor a, Tensor b) => a.minimum(b);
    public static Tensor einsum(string equation, params Tensor[] operands) => O("aten::einsum").Call().Str(equation).TL(operands).Tensor();
    public static Tensor one_hot(Tensor x, long num_classes = -1) => O("aten::one_hot").Call().T(x).I(num_classes).Tensor();
    public static Tensor bucketize(Tensor x, Tensor boundaries, bool right = false) => O("aten::bucketize.Tensor").Call().T(x).T(boundaries).B(false).B(right).Tensor();
}
