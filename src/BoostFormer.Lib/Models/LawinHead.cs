using BoostFormer.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// mmcv's <c>ConvModule</c> as the Lawin head builds it, 1x1 only: a conv (<c>conv</c>) followed by BatchNorm (<c>bn</c>;
/// the conv then has no bias) or by nothing (the conv has a bias), then ReLU or nothing. Training-mode BatchNorm runs
/// through <see cref="SegformerLayout.BatchNorm"/>.
/// </summary>
public sealed class LawinConvModule : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv;
    public readonly BatchNorm2d? bn;
    private readonly bool _relu;

    public LawinConvModule(int inChannels, int outChannels, bool norm, bool relu) : base(nameof(LawinConvModule))
    {
        conv = nn.Conv2d(inChannels, outChannels, 1, bias: !norm);
        if (norm) bn = nn.BatchNorm2d(outChannels);
        _relu = relu;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = conv.call(x);
        if (bn is not null) y = SegformerLayout.BatchNorm(bn, y);
        if (_relu) y = nn.functional.relu(y);
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Lawin's context pooling (<c>ds_r</c>; the reference's <c>PatchEmbed(proj_type='pool', patch_size=r, norm_layer=nn.LayerNorm)</c>):
/// 0.5·(MaxPool_r + AvgPool_r) (kernel = stride = r; <c>proj.0</c>, <c>proj.1</c>, no parameters), then LayerNorm over
/// the channels (<c>norm</c>). Applied to a whole map, it pools every rP×rP context window of the reference at once (see
/// <see cref="LawinHead"/>).
/// </summary>
public sealed class LawinPatchEmbed : nn.Module<Tensor, Tensor>
{
    public readonly ModuleList<nn.Module<Tensor, Tensor>> proj;
    public readonly LayerNorm norm;

    public int patch_size { get; }

    public LawinPatchEmbed(int patchSize, int channels) : base(nameof(LawinPatchEmbed))
    {
        patch_size = patchSize;
        proj = new ModuleList<nn.Module<Tensor, Tensor>>(nn.MaxPool2d(patchSize, patchSize), nn.AvgPool2d(patchSize, patchSize));
        norm = nn.LayerNorm(channels);
        RegisterComponents();
    }

    /// <summary>[B, C, H, W] (H, W multiples of r) → [B, C, H/r, W/r].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var pooled = proj[0].call(x).add_(proj[1].call(x), Scalars.One).mul_(Scalars.Of(0.5));
        var normed = norm.call(pooled.permute(0, 2, 3, 1));
        return normed.permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Lawin attention (<c>lawin_r</c>; the reference's <c>LawinAttn</c>, mmcv's <c>NonLocal2d</c> in embedded-gaussian mode with
/// <c>use_scale</c>, reduction 2): on query windows Q and their pooled context windows, both [N, C, P, P] —
/// with h &gt; 1 heads the context first gets a per-head position mixing over its P² positions
/// (<c>position_mixing.i</c> = Linear(P², P²) on the head's C/h channels, added to the context); then per head
/// softmax(θ(Q)ᵀφ(ctx)/√(C/2h))·g(ctx) with θ, φ, g 1x1 convs C → C/2 with bias (<c>theta.conv</c>, <c>phi.conv</c>,
/// <c>g.conv</c>), and out = Q + conv_out(y), conv_out a 1x1 conv without bias and BatchNorm (<c>conv_out.conv</c>,
/// <c>conv_out.bn</c>, whose weight starts at zero as mmcv initialises it, so each branch starts as the identity).
/// </summary>
public sealed class LawinAttention : nn.Module<Tensor, Tensor, Tensor>
{
    // mmcv registers g, conv_out, theta, phi (in _NonLocalNd.__init__), then LawinAttn its position mixing.
    public readonly LawinConvModule g;
    public readonly LawinConvModule conv_out;
    public readonly LawinConvModule theta;
    public readonly LawinConvModule phi;
    public readonly ModuleList<Linear>? position_mixing;

    public int in_channels { get; }
    public int inter_channels { get; }
    public int head { get; }
    public int patch_size { get; }

    public LawinAttention(int inChannels, int head, int patchSize, int reduction = 2) : base(nameof(LawinAttention))
    {
        in_channels = inChannels; inter_channels = Math.Max(inChannels / reduction, 1); this.head = head; patch_size = patchSize;
        if (inter_channels % head != 0)
            throw new ArgumentException($"Lawin attention: {inter_channels} inner channels are not a multiple of {head} heads");
        g = new LawinConvModule(inChannels, inter_channels, norm: false, relu: false);
        conv_out = new LawinConvModule(inter_channels, inChannels, norm: true, relu: false);
        theta = new LawinConvModule(inChannels, inter_channels, norm: false, relu: false);
        phi = new LawinConvModule(inChannels, inter_channels, norm: false, relu: false);
        if (head != 1)
            position_mixing = new ModuleList<Linear>(Enumerable.Range(0, head).Select(_ => nn.Linear(patchSize * patchSize, patchSize * patchSize)).ToArray());
        using (no_grad()) nn.init.zeros_(conv_out.bn!.weight!);   // mmcv NonLocal init_weights(zeros_init=True)
        RegisterComponents();
    }

    /// <summary>Query windows [N, C, P, P] and context windows [N, C, P, P] → [N, C, P, P].</summary>
    public override Tensor forward(Tensor query, Tensor context)
    {
        using var scope = NewDisposeScope();
        long n = context.size(0), c = context.size(1), hc = context.size(2), wc = context.size(3);
        long lc = hc * wc, hq = query.size(2), wq = query.size(3), lq = hq * wq;
        long dim = inter_channels / head;
        if (position_mixing is not null)
        {
            var flat = context.reshape(n, c, lc);
            long per = c / head;
            var mixed = new List<Tensor>(head);
            for (int hd = 0; hd < head; hd++) mixed.Add(position_mixing[hd].call(flat.narrow(1, hd * per, per)));
            context = flat.add(torch.cat(mixed, 1), Scalars.One).reshape(n, c, hc, wc);
        }
        var gx = g.call(context).reshape(n * head, dim, lc).permute(0, 2, 1);          // [N·h, Lc, d]
        var th = theta.call(query).reshape(n * head, dim, lq).permute(0, 2, 1);         // [N·h, Lq, d]
        var ph = phi.call(context).reshape(n * head, dim, lc);                          // [N·h, d, Lc]
        var w = th.matmul(ph).div_(Scalars.Of(Math.Sqrt(dim))).softmax(-1);             // [N·h, Lq, Lc]
        var y = w.matmul(gx);                                                           // [N·h, Lq, d]
        if (OpCount.Active)
        {
            OpCount.Matmul(n * head, lq, lc, dim);   // θᵀφ
            OpCount.Other("softmax", n * head * lq * lc);
            OpCount.Matmul(n * head, lq, dim, lc);   // A·g
        }
        // '(b h) n dim -> b n (h dim)', then to [N, C/2, P, P]
        var map = y.reshape(n, head, lq, dim).permute(0, 1, 3, 2).reshape(n, inter_channels, hq, wq);
        return query.add(conv_out.call(map), Scalars.One).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The Lawin Transformer's decoder (Yan et al., arXiv 2201.01615; <c>yan-hao-tian/lawin</c>
/// <c>mmseg/models/decode_heads/lawin_head.py</c> <c>LawinHead</c>, mmseg key names kept, so the reference's checkpoints
/// load under <c>decode_head.*</c>). Stages 2–4 are projected to E = <see cref="SegformerConfig.lawin_embed_dim"/>
/// channels (<c>linear_c2..4.proj</c>; the reference's default 768, the NOTA team's intended 512), resized to the 1/8 grid
/// and fused by a 1x1 ConvModule to C = <see cref="SegformerConfig.decoder_hidden_size"/> channels (<c>linear_fuse</c>;
/// the reference's fixed 512, which <see cref="ZooModule.LawinDecoder"/> sets) → F. Lawin ASPP on F, windows of P = 8:
/// a 1x1 ConvModule (<c>short_path</c>), image pooling (<c>image_pool.1</c>, upsampled), and for r ∈ {8, 4, 2} Lawin
/// attention (<c>lawin_r</c>, r² heads) of each 8×8 query window on its rP×rP context (zero padding (r−1)P/2 outside the
/// map) pooled back to 8×8 by <c>ds_r</c>; concatenated (5C) → 1x1 ConvModule (<c>cat</c>) → upsampled to 1/4,
/// concatenated with stage 1 projected to 48 channels (<c>linear_c1.proj</c>) → 1x1 ConvModule (<c>low_level_fuse</c>,
/// C + 48 → C) → Dropout2d → <c>conv_seg</c>. Logits at 1/4.
/// </summary>
/// <remarks>
/// <para><b>Grids that are not multiples of P.</b> The reference requires the 1/8 grid to be a multiple of 8 (its window
/// rearrange fails otherwise). Here F is zero-padded on the right and bottom to the next multiple of 8 for the three
/// Lawin branches only — the same zeros the reference's own context unfold puts outside the map — and their outputs are
/// cropped back to F's size before the concatenation; <c>short_path</c> and <c>image_pool</c> see F unpadded. On
/// multiples of 8 nothing is padded and the result is the reference's.</para>
/// <para><b>How the context is computed.</b> The reference unfolds an rP×rP window per query window and pools each with
/// kernel r. The windows start P apart and r divides P, so every pooling cell lies on one grid of the zero-padded map:
/// pooling that map once (<c>ds_r</c>) and cutting P×P windows with stride P/r gives the same numbers without the
/// r²-fold copy (0.5 GB per image for r = 8 at 512²). The LayerNorm is per position, so it commutes with the cut.</para>
/// </remarks>
public sealed class LawinHead : SegmentationDecodeHeadBase
{
    // mmseg registration order: BaseDecodeHead's conv_seg and dropout first, then LawinHead's modules.
    public readonly Conv2d conv_seg;
    public readonly Dropout2d dropout;
    public readonly LawinAttention lawin_8;
    public readonly LawinAttention lawin_4;
    public readonly LawinAttention lawin_2;
    public readonly Sequential image_pool;
    public readonly SegformerMLP linear_c4;
    public readonly SegformerMLP linear_c3;
    public readonly SegformerMLP linear_c2;
    public readonly SegformerMLP linear_c1;
    public readonly LawinConvModule linear_fuse;
    public readonly LawinConvModule short_path;
    public readonly LawinConvModule cat;
    public readonly LawinConvModule low_level_fuse;
    public readonly LawinPatchEmbed ds_8;
    public readonly LawinPatchEmbed ds_4;
    public readonly LawinPatchEmbed ds_2;

    /// <summary>Window side P.</summary>
    public const int PatchSize = 8;
    /// <summary>The context ratios r (context windows rP, r² heads).</summary>
    public static readonly int[] Ratios = { 8, 4, 2 };
    /// <summary>Channels of the stage-1 projection.</summary>
    public const int LowLevelChannels = 48;

    /// <summary>Checks <paramref name="config"/> can build the head; throws <see cref="ArgumentException"/> naming the field.</summary>
    public static void Validate(SegformerConfig config)
    {
        if (config.lawin_embed_dim <= 0)
            throw new ArgumentException($"SegformerConfig.lawin_embed_dim must be positive, got {config.lawin_embed_dim}");
        var c = config.decoder_hidden_size;
        var heads = Ratios.Max() * Ratios.Max();
        if (c % 2 != 0 || c / 2 % heads != 0)
            throw new ArgumentException($"SegformerConfig.decoder_hidden_size must be a multiple of {2 * heads} with decoder_type 'lawin' (its half is split into {heads} heads of the r = 8 branch), got {c}");
    }

    public LawinHead(SegformerConfig config) : base(nameof(LawinHead))
    {
        Validate(config);
        int c = config.decoder_hidden_size, e = config.lawin_embed_dim;
        var hs = config.hidden_sizes;
        conv_seg = nn.Conv2d(c, config.num_labels, 1);
        dropout = nn.Dropout2d(config.classifier_dropout_prob);
        lawin_8 = new LawinAttention(c, 64, PatchSize);
        lawin_4 = new LawinAttention(c, 16, PatchSize);
        lawin_2 = new LawinAttention(c, 4, PatchSize);
        image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), new LawinConvModule(c, c, norm: true, relu: true));
        linear_c4 = new SegformerMLP(hs[3], e);
        linear_c3 = new SegformerMLP(hs[2], e);
        linear_c2 = new SegformerMLP(hs[1], e);
        linear_c1 = new SegformerMLP(hs[0], LowLevelChannels);
        linear_fuse = new LawinConvModule(3 * e, c, norm: true, relu: true);
        short_path = new LawinConvModule(c, c, norm: true, relu: true);
        cat = new LawinConvModule(5 * c, c, norm: true, relu: true);
        low_level_fuse = new LawinConvModule(c + LowLevelChannels, c, norm: true, relu: true);
        ds_8 = new LawinPatchEmbed(8, c);
        ds_4 = new LawinPatchEmbed(4, c);
        ds_2 = new LawinPatchEmbed(2, c);
        RegisterComponents();
    }

    private static Tensor Project(SegformerMLP mlp, Tensor x)
    {
        var s = x.shape;
        return mlp.call(x).permute(0, 2, 1).reshape(s[0], -1, s[2], s[3]);
    }

    /// <summary>[B, C, nh·P, nw·P] → [B·nh·nw, C, P, P] (the reference's unfold + rearrange of the queries).</summary>
    private static Tensor Windows(Tensor x, long p)
    {
        long b = x.size(0), c = x.size(1), nh = x.size(2) / p, nw = x.size(3) / p;
        return x.reshape(b, c, nh, p, nw, p).permute(0, 2, 4, 1, 3, 5).reshape(b * nh * nw, c, p, p);
    }

    /// <summary>[B·nh·nw, C, P, P] → [B, C, nh·P, nw·P].</summary>
    private static Tensor Merge(Tensor x, long b, long nh, long nw)
    {
        long c = x.size(1), p = x.size(2);
        return x.reshape(b, nh, nw, c, p, p).permute(0, 3, 1, 4, 2, 5).reshape(b, c, nh * p, nw * p);
    }

    /// <summary>The pooled, normalised context windows of ratio <paramref name="r"/> for the windows of <paramref name="f"/> (a multiple of P): [B·nh·nw, C, P, P].</summary>
    private Tensor Context(Tensor f, int r, LawinPatchEmbed ds)
    {
        long b = f.size(0), c = f.size(1), p = PatchSize;
        var pad = (r - 1) * PatchSize / 2;
        var padded = nn.functional.pad(f, new long[] { pad, pad, pad, pad });
        var pooled = ds.call(padded);                                   // [B, C, (nh + r − 1)·P/r, …]
        long step = p / r;
        var win = pooled.unfold(2, p, step).unfold(3, p, step);          // [B, C, nh, nw, P, P]
        long nh = win.size(2), nw = win.size(3);
        return win.permute(0, 2, 3, 1, 4, 5).reshape(b * nh * nw, c, p, p);
    }

    public override Tensor forward(IReadOnlyList<Tensor> hidden)
    {
        if (hidden.Count != 4) throw new ArgumentException($"the Lawin head takes four stage outputs, got {hidden.Count}");
        using var scope = NewDisposeScope();
        var (c1, c2, c3, c4) = (hidden[0], hidden[1], hidden[2], hidden[3]);
        long n = c2.size(0), h = c2.size(2), w = c2.size(3);
        var c4p = CnnResize.To(Project(linear_c4, c4), h, w);
        var c3p = CnnResize.To(Project(linear_c3, c3), h, w);
        var c2p = Project(linear_c2, c2);
        var f = linear_fuse.call(torch.cat(new[] { c4p, c3p, c2p }, 1));   // F [B, C, h, w]

        long p = PatchSize, ph = (p - h % p) % p, pw = (p - w % p) % p;
        var fp = ph == 0 && pw == 0 ? f : nn.functional.pad(f, new long[] { 0, pw, 0, ph });
        long nh = (h + ph) / p, nw = (w + pw) / p;
        var query = Windows(fp, p);

        var outs = new List<Tensor> { short_path.call(f), CnnResize.To(image_pool.call(f), h, w) };
        foreach (var (r, attn, ds) in new[] { (8, lawin_8, ds_8), (4, lawin_4, ds_4), (2, lawin_2, ds_2) })
        {
            var o = Merge(attn.call(query, Context(fp, r, ds)), n, nh, nw);
            outs.Add(ph == 0 && pw == 0 ? o : o.narrow(2, 0, h).narrow(3, 0, w));
        }
        var y = cat.call(torch.cat(outs, 1));

        var c1p = Project(linear_c1, c1);
        y = CnnResize.To(y, c1.size(2), c1.size(3));
        y = low_level_fuse.call(torch.cat(new[] { y, c1p }, 1));
        return conv_seg.call(dropout.call(y)).MoveToOuterDisposeScope();
    }
}
