using BoostFormer.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// EMO's inverted residual mobile block (iRMB, arXiv 2301.01146; <c>zhangzjn/EMO</c> <c>model/emo.py</c> <c>iRMB</c>) in
/// place of a whole SegFormer layer: a CNN-like inverted residual whose expansion is a window attention ("Meta Mobile
/// Block" with EW-MHSA). On the map x [B, C, H, W]: shortcut = x; x = <c>norm</c>(x) (BatchNorm in stages 1–2, LayerNorm2d
/// in 3–4, eps 1e-6). With attention: x is zero-padded right/bottom to a multiple of the window M (7) and split into
/// windows the reference's way — <c>(h1 n1) (w1 n2) → (b n1 n2) h1 w1</c>, so window (i, j) holds rows i, i+n1, … and
/// columns j, j+n2, … —; <c>qk</c> = 1x1 (C → 2C); heads = C / dim_head; A = softmax(q·kᵀ·dim_head^-½) over the M² positions
/// of a window; with attn_pre x = A·x, then <c>v</c> = 1x1 (C → eC) + act, else v first and A·v; then un-windowed and
/// cropped. Without attention x = <c>v</c>(x). Then x = x + <c>conv_local</c>(x) (depthwise k×k → BN → SiLU; the inner
/// skip only with has_skip), <c>proj</c> = 1x1 (eC → C_out, no bias), and out = shortcut + DP(x) when C_in = C_out and
/// stride 1. No squeeze-excitation (se_ratio 0, as in every EMO stage after the stem).
/// </summary>
public sealed class EmoInvertedResidualMobileBlock : SegformerEncoderLayerBase
{
    public readonly nn.Module<Tensor, Tensor> norm;
    /// <summary>Queries and keys (1x1 conv C → 2C), or null without attention.</summary>
    public readonly EmoConvNormAct? qk;
    public readonly EmoConvNormAct v;
    public readonly Dropout attn_drop;
    public readonly EmoConvNormAct conv_local;
    public readonly Dropout proj_drop;
    public readonly EmoConvNormAct proj;
    public readonly SegformerDropPath drop_path;

    public bool has_skip { get; }
    public bool attn_s { get; }
    public bool attn_pre { get; }
    public int dim_head { get; }
    public int num_head { get; }
    /// <summary>Window side M (≤ 0: the whole map is one window).</summary>
    public int window_size { get; }

    public EmoInvertedResidualMobileBlock(int dim_in, int dim_out, double exp_ratio, string norm_layer, string act_layer, int dw_ks,
        bool attn_s, int dim_head, int window_size = 7, bool qkv_bias = true, bool attn_pre = true, bool has_skip = true,
        double attn_drop = 0, double drop = 0, double drop_path = 0) : base(nameof(EmoInvertedResidualMobileBlock))
    {
        var dim_mid = (int)(dim_in * exp_ratio);
        norm = EmoConvNormAct.Norm(norm_layer, dim_in) ?? throw new ArgumentException("iRMB: the input norm must be bn_2d or ln_2d");
        this.has_skip = dim_in == dim_out && has_skip;
        this.attn_s = attn_s; this.attn_pre = attn_pre; this.dim_head = dim_head; this.window_size = window_size;
        register_module(nameof(norm), norm);
        if (attn_s)
        {
            if (dim_head <= 0 || dim_in % dim_head != 0) throw new ArgumentException($"iRMB: {dim_in} channels are not a multiple of dim_head {dim_head}");
            num_head = dim_in / dim_head;
            qk = new EmoConvNormAct(dim_in, dim_in * 2, 1, bias: qkv_bias, norm_layer: "none", act_layer: "none");
            register_module(nameof(qk), qk);
        }
        v = new EmoConvNormAct(dim_in, dim_mid, 1, bias: qkv_bias, norm_layer: "none", act_layer: act_layer);
        this.attn_drop = nn.Dropout(attn_drop);
        conv_local = new EmoConvNormAct(dim_mid, dim_mid, dw_ks, groups: dim_mid, norm_layer: "bn_2d", act_layer: "silu");
        proj_drop = nn.Dropout(drop);
        proj = new EmoConvNormAct(dim_mid, dim_out, 1, norm_layer: "none", act_layer: "none");
        this.drop_path = new SegformerDropPath(drop_path);
        register_module(nameof(v), v);
        register_module(nameof(attn_drop), this.attn_drop);
        register_module(nameof(conv_local), conv_local);
        register_module(nameof(proj_drop), proj_drop);
        register_module(nameof(proj), proj);
        register_module(nameof(this.drop_path), this.drop_path);
    }

    /// <summary>
    /// Stage <paramref name="stage"/>'s iRMB in a SegFormer encoder, with EMO-5M's per-stage choices: BatchNorm, SiLU and a
    /// 3×3 depthwise conv without attention in stages 1–2; LayerNorm2d, GELU, 5×5 and 7×7 window attention (attn_pre) in
    /// stages 3–4. Expansion = the stage's MLP ratio; dim_head = hidden / heads (32 in every stage of B0).
    /// </summary>
    public static EmoInvertedResidualMobileBlock ForStage(SegformerConfig config, int stage, double drop_path_prob)
    {
        var dim = config.hidden_sizes[stage];
        var late = stage >= 2;
        return new EmoInvertedResidualMobileBlock(dim, dim, config.mlp_ratios[stage], late ? "ln_2d" : "bn_2d", late ? "gelu" : "silu", late ? 5 : 3,
            attn_s: late, dim_head: dim / config.num_attention_heads[stage], window_size: config.irmb_window_size, qkv_bias: true, attn_pre: true,
            has_skip: true, config.attention_probs_dropout_prob, config.hidden_dropout_prob, drop_path_prob);
    }

    /// <summary>Registered by hand: the attention branch exists only in attention stages.</summary>
    protected override void RegisterComponents() { }

    /// <summary>The window attention on the normed map [B, C, H, W] → [B, eC, H, W].</summary>
    private Tensor WindowAttention(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        long mw = window_size <= 0 ? w : window_size, mh = window_size <= 0 ? h : window_size;
        long padR = (mw - w % mw) % mw, padB = (mh - h % mh) % mh;
        if (padR > 0 || padB > 0) x = nn.functional.pad(x, new[] { 0, padR, 0, padB });
        long n1 = (h + padB) / mh, n2 = (w + padR) / mw, bw = b * n1 * n2, hw = mh * mw, heads = num_head;
        // 'b c (h1 n1) (w1 n2) -> (b n1 n2) c h1 w1'
        x = x.reshape(b, c, mh, n1, mw, n2).permute(0, 3, 5, 1, 2, 4).reshape(bw, c, mh, mw);
        var qkT = qk!.call(x).reshape(bw, 2, heads, dim_head, hw).permute(1, 0, 2, 4, 3);   // [2, b', heads, hw, dh]
        var attn = qkT[0].matmul(qkT[1].transpose(-2, -1)).mul_(Scalars.Of(1.0 / Math.Sqrt(dim_head))).softmax(-1);
        attn = attn_drop.call(attn);
        Tensor spa;
        if (attn_pre)
        {
            var xs = x.reshape(bw, heads, dim_head, hw).transpose(2, 3);
            spa = v.call(attn.matmul(xs).transpose(2, 3).reshape(bw, c, mh, mw));
        }
        else
        {
            var vv = v.call(x);
            var e = vv.size(1);
            spa = attn.matmul(vv.reshape(bw, heads, e / heads, hw).transpose(2, 3)).transpose(2, 3).reshape(bw, e, mh, mw);
        }
        if (OpCount.Active)
        {
            OpCount.Matmul(bw * heads, hw, hw, dim_head);   // q·kᵀ
            OpCount.Other("softmax", bw * heads * hw * hw);
            OpCount.Matmul(bw * heads, hw, attn_pre ? dim_head : spa.size(1) / heads, hw);   // A·x or A·v
        }
        var em = spa.size(1);
        // '(b n1 n2) c h1 w1 -> b c (h1 n1) (w1 n2)'
        var y = spa.reshape(b, n1, n2, em, mh, mw).permute(0, 3, 4, 1, 5, 2).reshape(b, em, mh * n1, mw * n2);
        if (padR > 0 || padB > 0) y = y.slice(2, 0, h, 1).slice(3, 0, w, 1);
        return y.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Map form: [B, C, H, W] → [B, C_out, H, W].</summary>
    public Tensor ForwardMap(Tensor map)
    {
        using var scope = NewDisposeScope();
        var x = EmoConvNormAct.RunNorm(norm, map);
        x = attn_s ? WindowAttention(x) : v.call(x);
        var local = conv_local.call(x);
        x = has_skip ? x.add(local, Scalars.One) : local;
        x = proj.call(proj_drop.call(x));
        if (has_skip) x = map.add(drop_path.call(x), Scalars.One);
        return x.MoveToOuterDisposeScope();
    }

    public override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width).contiguous();
        return (SegformerLayout.ToSequence(ForwardMap(map)).MoveToOuterDisposeScope(), null);
    }
}
