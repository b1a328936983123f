using BoostFormer.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Swin's (shifted) window multi-head self-attention (arXiv 2103.14030; <c>microsoft/Swin-Transformer</c>
/// <c>models/swin_transformer.py</c> <c>WindowAttention</c> — "window based multi-head self attention (W-MSA) module with
/// relative position bias. It supports both of shifted and non-shifted window" — and the roll/mask code of
/// <c>SwinTransformerBlock</c>) in place of efficient self-attention and its output projection, padded as mmseg's
/// <c>ShiftWindowMSA</c> pads. Tokens [B, H·W, C] → (B, H, W, C), zero-padded right/bottom to multiples of the window M;
/// with a shift s &gt; 0 the map is rolled by (−s, −s) and an attention mask puts −100 between tokens of different regions
/// (the 3×3 regions cut by the slices [0:−M], [−M:−s], [−s:]); windows (B·nW, M², C) → <c>qkv</c> = Linear(C, 3C) →
/// A = softmax(q·kᵀ·d^-½ + B_rel + mask), B_rel = <c>relative_position_bias_table</c>[<c>relative_position_index</c>]
/// (table ((2M−1)², h), truncated-normal std 0.02; index rel_h·(2M−1) + rel_w) → A·v → <c>proj</c>; then windows merged,
/// rolled back and cropped. In a SegFormer stage the even layers use s = 0 and the odd ones s = M/2 (W / SW pairs).
/// </summary>
public sealed class SwinShiftedWindowAttention : SegformerTokenMixerBase
{
    public readonly Parameter relative_position_bias_table;
    public readonly Tensor relative_position_index;
    public readonly Linear qkv;
    public readonly Dropout attn_drop;
    public readonly Linear proj;
    public readonly Dropout proj_drop;

    public int dim { get; }
    public int window_size { get; }
    public int num_heads { get; }
    /// <summary>Cyclic shift s (0 = W-MSA, M/2 = SW-MSA).</summary>
    public int shift_size { get; }

    public SwinShiftedWindowAttention(int dim, int window_size, int num_heads, int shift_size, bool qkv_bias = true, double attn_drop = 0, double proj_drop = 0)
        : base(nameof(SwinShiftedWindowAttention))
    {
        if (dim % num_heads != 0) throw new ArgumentException($"Swin attention: {dim} channels are not a multiple of {num_heads} heads");
        if (window_size <= 0 || shift_size < 0 || shift_size >= window_size) throw new ArgumentException($"Swin attention: need 0 ≤ shift ({shift_size}) < window ({window_size})");
        this.dim = dim; this.window_size = window_size; this.num_heads = num_heads; this.shift_size = shift_size;
        var m = window_size;
        using (var t = empty((2 * m - 1) * (2 * m - 1), num_heads))
        {
            nn.init.trunc_normal_(t, 0, 0.02, -2, 2);
            relative_position_bias_table = new Parameter(t);
        }
        // rel = coords_i − coords_j + (M − 1); index = rel_h·(2M − 1) + rel_w
        var index = new long[m * m * m * m];
        for (int i = 0; i < m * m; i++)
            for (int j = 0; j < m * m; j++)
                index[i * m * m + j] = (i / m - j / m + m - 1) * (2 * m - 1) + (i % m - j % m + m - 1);
        relative_position_index = tensor(index, new long[] { m * m, m * m });
        qkv = nn.Linear(dim, dim * 3, hasBias: qkv_bias);
        this.attn_drop = nn.Dropout(attn_drop);
        proj = nn.Linear(dim, dim);
        this.proj_drop = nn.Dropout(proj_drop);
        register_parameter(nameof(relative_position_bias_table), relative_position_bias_table);
        register_buffer(nameof(relative_position_index), relative_position_index);
        register_module(nameof(qkv), qkv);
        register_module(nameof(attn_drop), this.attn_drop);
        register_module(nameof(proj), proj);
        register_module(nameof(proj_drop), this.proj_drop);
    }

    /// <summary>Registered by hand (the index is a buffer).</summary>
    protected override void RegisterComponents() { }

    /// <summary>(B, H, W, C) → (B·nW, M², C), windows in row-major order (<c>window_partition</c>).</summary>
    private static Tensor Partition(Tensor x, long m)
    {
        long b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
        using var v = x.view(b, h / m, m, w / m, m, c);
        using var p = v.permute(0, 1, 3, 2, 4, 5);
        return p.reshape(-1, m * m, c);
    }

    /// <summary>The shifted-window mask (nW, M², M²): 0 within a region, −100 across regions, on the padded grid.</summary>
    private Tensor Mask(long hp, long wp)
    {
        using var scope = NewDisposeScope();
        long m = window_size, s = shift_size;
        var labels = new float[hp * wp];
        long Region(long i, long n) => i < n - m ? 0 : i < n - s ? 1 : 2;
        for (long i = 0; i < hp; i++)
            for (long j = 0; j < wp; j++)
                labels[i * wp + j] = Region(i, hp) * 3 + Region(j, wp);
        var img = tensor(labels, new long[] { 1, hp, wp, 1 });
        var win = Partition(img, m).reshape(-1, m * m);                      // [nW, M²]
        var differs = win.unsqueeze(1).ne(win.unsqueeze(2));                 // [nW, M², M²]
        var mask = zeros(differs.shape).masked_fill(differs, Scalars.Of(-100.0));
        return mask.MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        long b = hidden_states.size(0), c = dim, m = window_size, s = shift_size, h = num_heads, d = c / h, n = m * m;
        var x = hidden_states.reshape(b, height, width, c);
        long padR = (m - width % m) % m, padB = (m - height % m) % m;
        if (padR > 0 || padB > 0) x = nn.functional.pad(x, new long[] { 0, 0, 0, padR, 0, padB });
        long hp = height + padB, wp = width + padR;
        if (s > 0) x = x.roll(new long[] { -s, -s }, new long[] { 1, 2 });
        var windows = Partition(x, m);                                                   // [B·nW, M², C]
        long bw = windows.size(0), nw = bw / b;
        var parts = qkv.call(windows).reshape(bw, n, 3, h, d).permute(2, 0, 3, 1, 4);   // [3, B·nW, h, M², d]
        var q = parts[0].mul(Scalars.Of(1.0 / Math.Sqrt(d)));
        var attn = q.matmul(parts[1].transpose(-2, -1));                                 // [B·nW, h, M², M²]
        var bias = relative_position_bias_table.index(relative_position_index.view(-1)).view(n, n, h).permute(2, 0, 1);
        attn = attn.add(bias.unsqueeze(0), Scalars.One);
        if (s > 0) attn = attn.view(b, nw, h, n, n).add(Mask(hp, wp).unsqueeze(1).unsqueeze(0), Scalars.One).view(bw, h, n, n);
        attn = attn_drop.call(attn.softmax(-1));
        var o = proj_drop.call(proj.call(attn.matmul(parts[2]).transpose(1, 2).reshape(bw, n, c)));
        if (OpCount.Active)
        {
            OpCount.Matmul(bw * h, n, n, d);   // q·kᵀ
            OpCount.Other("softmax", bw * h * n * n);
            OpCount.Matmul(bw * h, n, d, n);   // A·v
        }
        // window_reverse: (B·nW, M², C) → (B, Hp, Wp, C)
        var y = o.view(b, hp / m, wp / m, m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c);
        if (s > 0) y = y.roll(new long[] { s, s }, new long[] { 1, 2 });
        if (padR > 0 || padB > 0) y = y.slice(1, 0, height, 1).slice(2, 0, width, 1);
        return y.reshape(b, height * width, c).MoveToOuterDisposeScope();
    }
}
