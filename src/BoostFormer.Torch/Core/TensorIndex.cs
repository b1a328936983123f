namespace BoostFormer.Torch;

/// <summary>One entry of a tensor index: an integer, a slice, <see cref="None"/> (new axis), <see cref="Ellipsis"/> or a tensor.</summary>
public readonly struct TensorIndex
{
    internal enum Kind { Single, Slice, None, Ellipsis, Tensor }
    internal readonly Kind K;
    internal readonly long Index;
    internal readonly long? Start, Stop;
    internal readonly long Step;
    internal readonly torch.Tensor? T;

    private TensorIndex(Kind k, long index = 0, long? start = null, long? stop = null, long step = 1, torch.Tensor? t = null)
    { K = k; Index = index; Start = start; Stop = stop; Step = step; T = t; }

    public static TensorIndex Single(long i) => new(Kind.Single, i);
    public static TensorIndex Slice(long? start = null, long? stop = null, long step = 1) => new(Kind.Slice, start: start, stop: stop, step: step);
    public static readonly TensorIndex None = new(Kind.None);
    public static readonly TensorIndex Ellipsis = new(Kind.Ellipsis);
    public static readonly TensorIndex Colon = Slice();
    public static TensorIndex Tensor(torch.Tensor t) => new(Kind.Tensor, t: t);

    public static implicit operator TensorIndex(long i) => Single(i);
    public static implicit operator TensorIndex(int i) => Single(i);
    public static implicit operator TensorIndex(torch.Tensor t) => Tensor(t);
    /// <summary>
    /// A C# range as a slice: <c>1..3</c> is <c>1:3</c>, <c>..^1</c> is <c>:-1</c>, <c>^2..</c> is <c>-2:</c>, <c>..</c> is <c>:</c>.
    /// <c>^0</c> as a start means "at the end" (an empty slice), as an end it means "to the end".
    /// </summary>
    public static implicit operator TensorIndex(Range r)
    {
        long? start = r.Start.IsFromEnd ? (r.Start.Value == 0 ? long.MaxValue : -(long)r.Start.Value) : (r.Start.Value == 0 ? null : r.Start.Value);
        long? stop = r.End.IsFromEnd ? (r.End.Value == 0 ? null : -(long)r.End.Value) : r.End.Value;
        return Slice(start, stop);
    }

    /// <summary>A C# index: <c>^1</c> is the last element (-1). <c>^0</c> is past the end and is rejected.</summary>
    public static implicit operator TensorIndex(Index i)
    {
        if (i.IsFromEnd && i.Value == 0) throw new ArgumentOutOfRangeException(nameof(i), "^0 is past the last element and cannot be used as a single index");
        return Single(i.IsFromEnd ? -(long)i.Value : i.Value);
    }

    internal static bool HasTensor(TensorIndex[] idx) => idx.Any(i => i.K == Kind.Tensor);

    /// <summary>Applies basic indexing (views) and then advanced (tensor) indexing like PyTorch.</summary>
    internal static torch.Tensor Apply(torch.Tensor x, TensorIndex[] idx, bool forWrite = false)
    {
        var ndim = (int)x.dim();
        var consumed = idx.Count(i => i.K is Kind.Single or Kind.Slice or Kind.Tensor);
        if (idx.Count(i => i.K == Kind.Ellipsis) > 1) throw new ArgumentException("an index can only have a single ellipsis");
        if (consumed > ndim) throw new ArgumentException($"too many indices for tensor of dimension {ndim}: {consumed} given");
        var cur = x.alias();
        var dim = 0L;
        var tensorDims = new List<(long dim, torch.Tensor t)>();
        foreach (var i in idx)
        {
            torch.Tensor next;
            switch (i.K)
            {
                case Kind.Single:
                    next = cur.select(dim, i.Index);
                    break;
                case Kind.Slice:
                    next = cur.slice(dim, i.Start, i.Stop, i.Step);
                    dim++;
                    break;
                case Kind.None:
                    next = cur.unsqueeze(dim);
                    dim++;
                    break;
                case Kind.Ellipsis:
                    dim += ndim - consumed;
                    continue;
                default:
                    tensorDims.Add((dim, i.T!));
                    dim++;
                    continue;
            }
            cur.Dispose();
            cur = next;
        }
        if (tensorDims.Count == 0 || forWrite) return cur;
        var list = new torch.Tensor?[tensorDims.Max(t => t.dim) + 1];
        foreach (var (d, t) in tensorDims) list[d] = t;
        using (cur) return cur.index(list);
    }

    /// <summary>Writes <paramref name="value"/> through an index that contains tensors (index_put_).</summary>
    internal static void Put(torch.Tensor x, TensorIndex[] idx, torch.Tensor value)
    {
        var basic = idx.Select(i => i.K == Kind.Tensor ? Colon : i).ToArray();
        using var view = Apply(x, basic, forWrite: true);
        // Map tensor positions onto the view's dimensions: every non-Single entry keeps a dimension.
        var list = new List<torch.Tensor?>();
        foreach (var i in idx)
        {
            if (i.K == Kind.Single) continue;
            if (i.K == Kind.Ellipsis) throw new NotSupportedException("ellipsis together with tensor indices in an assignment");
            list.Add(i.K == Kind.Tensor ? i.T : null);
        }
        while (list.Count > 0 && list[^1] is null) list.RemoveAt(list.Count - 1);
        view.index_put_(list.ToArray(), value);
    }
}
