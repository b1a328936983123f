using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// The NOTA team's <c>NextPatchEmbed</c> (branch Next-Vit, after Next-ViT's <c>PatchEmbed</c>, arXiv 2207.05501): for
/// stride 2, AvgPool2d(2, stride 2, ceil_mode, count_include_pad=False) (<c>avgpool</c>) → 1x1 conv without bias
/// (<c>conv</c>) → BatchNorm (<c>norm</c>); for stride 4 the same with the pool's stride 4 (kernel still 2, so it averages
/// one 2×2 corner of every 4×4 cell — the team code's choice for the stem, kept). NCHW in, NCHW out.
/// </summary>
public sealed class NextvitPatchEmbed : nn.Module<Tensor, Tensor>
{
    public readonly AvgPool2d avgpool;
    public readonly Conv2d conv;
    public readonly BatchNorm2d norm;

    public NextvitPatchEmbed(int inChannels, int outChannels, int stride, double batchNormEps = 1e-5) : base(nameof(NextvitPatchEmbed))
    {
        if (stride is not (2 or 4)) throw new ArgumentException($"NextPatchEmbed downsamples by 2 or 4, got stride {stride}");
        avgpool = nn.AvgPool2d(2, stride, ceil_mode: true, count_include_pad: false);
        conv = nn.Conv2d(inChannels, outChannels, 1, bias: false);
        norm = nn.BatchNorm2d(outChannels, batchNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return SegformerLayout.BatchNorm(norm, conv.call(avgpool.call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A hybrid stage's patch embeddings (<c>patch_embeddings.i</c>): the team code builds one <c>NextPatchEmbed</c> per layer,
/// the first with the stage's stride (<c>patch_embeddings.i.0</c>) and the others identities without parameters; only the
/// first changes anything, so it is the only one held (the state-dict keys are the team's).
/// </summary>
public sealed class NextvitPatchEmbeddings : SegformerPatchEmbeddingsBase
{
    // Held in an array so TorchSharp's field registration does not register it a second time under its field name; it
    // is registered once, as "0".
    private readonly NextvitPatchEmbed[] _first;

    public NextvitPatchEmbeddings(int inChannels, int outChannels, int stride, double batchNormEps) : base(nameof(NextvitPatchEmbeddings))
    {
        _first = new[] { new NextvitPatchEmbed(inChannels, outChannels, stride, batchNormEps) };
        register_module("0", _first[0]);
    }

    /// <summary>The downsampling embedding (<c>patch_embeddings.i.0</c>).</summary>
    public NextvitPatchEmbed First => _first[0];

    public override (Tensor embeddings, long height, long width) forward(Tensor pixel_values)
    {
        using var scope = NewDisposeScope();
        var map = _first[0].call(pixel_values);
        return (SegformerLayout.ToSequence(map).MoveToOuterDisposeScope(), map.size(2), map.size(3));
    }
}

/// <summary>
/// Next-ViT's multi-head convolutional attention (<c>MHCA</c>): a grouped 3×3 conv without bias, groups = C / 32
/// (<c>group_conv3x3</c>), BatchNorm (<c>norm</c>), ReLU, a 1x1 conv without bias (<c>projection</c>).
/// </summary>
public sealed class NextvitMultiHeadConvAttention : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d group_conv3x3;
    public readonly BatchNorm2d norm;
    public readonly Conv2d projection;

    public NextvitMultiHeadConvAttention(int channels, int headDim, double batchNormEps) : base(nameof(NextvitMultiHeadConvAttention))
    {
        group_conv3x3 = nn.Conv2d(channels, channels, 3, 1, 1, groups: channels / headDim, bias: false);
        norm = nn.BatchNorm2d(channels, batchNormEps);
        projection = nn.Conv2d(channels, channels, 1, bias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(SegformerLayout.BatchNorm(norm, group_conv3x3.call(x)));
        return projection.call(y).MoveToOuterDisposeScope();
    }
}

/// <summary>Next-ViT's <c>Mlp</c>: 1x1 conv C → make_divisible(r·C, 32) with bias (<c>conv1</c>), ReLU, 1x1 conv back (<c>conv2</c>).</summary>
public sealed class NextvitMlp : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv1;
    public readonly Conv2d conv2;

    public NextvitMlp(int channels, double mlpRatio) : base(nameof(NextvitMlp))
    {
        var hidden = NextvitHybrid.MakeDivisible(channels * mlpRatio, 32);
        conv1 = nn.Conv2d(channels, hidden, 1);
        conv2 = nn.Conv2d(hidden, channels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return conv2.call(nn.functional.relu(conv1.call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The team's <c>NCBForSegformer</c> (Next-ViT's Next Convolution Block without its own patch embedding): on the NCHW map of
/// the tokens, x = x + MHCA(x) (<c>mhca</c>); x = x + Mlp(BN(x)) (<c>norm</c>, <c>mlp</c>, ratio 3). Head dim 32, no drop
/// path (the team code leaves it at 0). Tokens [B, H·W, C] in and out, so it stands in a stage's layer list.
/// </summary>
public sealed class NextvitConvBlock : SegformerEncoderLayerBase
{
    public readonly NextvitMultiHeadConvAttention mhca;
    public readonly BatchNorm2d norm;
    public readonly NextvitMlp mlp;

    /// <summary>Channels per group of the MHCA conv.</summary>
    public const int HeadDim = 32;
    /// <summary>The Mlp's expansion ratio.</summary>
    public const double MlpRatio = 3;

    public NextvitConvBlock(int channels, double batchNormEps = 1e-5) : base(nameof(NextvitConvBlock))
    {
        if (channels % HeadDim != 0) throw new ArgumentException($"NCB: {channels} channels are not a multiple of the head dim {HeadDim}");
        mhca = new NextvitMultiHeadConvAttention(channels, HeadDim, batchNormEps);
        norm = nn.BatchNorm2d(channels, batchNormEps);
        mlp = new NextvitMlp(channels, MlpRatio);
        RegisterComponents();
    }

    /// <summary>Map form: [B, C, H, W] → [B, C, H, W].</summary>
    public Tensor ForwardMap(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.add(mhca.call(x), Scalars.One);
        var o = SegformerLayout.BatchNorm(norm, h);
        return h.add(mlp.call(o), Scalars.One).MoveToOuterDisposeScope();
    }

    public override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width).contiguous();
        return (SegformerLayout.ToSequence(ForwardMap(map)).MoveToOuterDisposeScope(), null);
    }
}

/// <summary>
/// The NOTA team's Next-ViT-style hybrid encoder (<c>encoder_type</c> <c>nextvit_hybrid</c>; branch Next-Vit,
/// <c>SegformerEncoder</c>): each stage downsamples with <see cref="NextvitPatchEmbed"/> and runs NCBs
/// (<see cref="NextvitConvBlock"/>) with a SegFormer layer last — in stage 3 also at positions 2 and 5 —, stage 1 all
/// NCBs. The transformer layers are the ones the other fields of <see cref="SegformerConfig"/> pick
/// (<see cref="SegformerModules.EncoderLayer"/>), each followed by the stage's LayerNorm (<c>layer_norm.i</c>, shared by
/// the stage's transformer layers as the team code applies it); NCBs have none, so stage 1's output is not normalised.
/// </summary>
/// <remarks>
/// Deviations from the team code, where it does something its own forward cannot use: with more than one layer in stage 1
/// the code also builds a transformer layer that its forward never runs (zip with one embedding per layer drops it) — not
/// built here, stage 1 is all NCB as the spec says; a later stage of depth 1 gets no layer and no downsampling in the code —
/// refused here (depths of stages 2–4 must be at least 2). The spec's "LayerNorm after every block" is the code's
/// LayerNorm after every transformer layer. The team paired these stages with its LSRA + Efficient Attention layer and
/// DEST Mix-FFN; here the transformer layer is whatever the config's attention and MLP fields choose.
/// </remarks>
public static class NextvitHybrid
{
    /// <summary>Next-ViT's <c>_make_divisible</c>: the nearest multiple of <paramref name="divisor"/>, never 10 % below <paramref name="v"/>.</summary>
    public static int MakeDivisible(double v, int divisor)
    {
        var n = Math.Max(divisor, (int)(v + divisor / 2.0) / divisor * divisor);
        if (n < 0.9 * v) n += divisor;
        return n;
    }

    /// <summary>True when layer <paramref name="index"/> of stage <paramref name="stage"/> is an NCB (else a transformer layer), as the team code places them.</summary>
    public static bool IsConvLayer(SegformerConfig config, int stage, int index) =>
        stage == 0 || (index != config.depths[stage] - 1 && !(stage == 2 && index is 2 or 5));

    /// <summary>Checks <paramref name="c"/> can build the hybrid encoder; throws <see cref="ArgumentException"/> naming the field.</summary>
    public static void Validate(SegformerConfig c)
    {
        for (int i = 0; i < c.num_encoder_blocks; i++)
        {
            if (c.hidden_sizes[i] % NextvitConvBlock.HeadDim != 0)
                throw new ArgumentException($"SegformerConfig.hidden_sizes: the nextvit_hybrid encoder's NCBs need multiples of {NextvitConvBlock.HeadDim} channels, stage {i} has {c.hidden_sizes[i]}");
            if (c.strides[i] is not (2 or 4))
                throw new ArgumentException($"SegformerConfig.strides: NextPatchEmbed downsamples by 2 or 4, stage {i} has stride {c.strides[i]}");
            if (c.depths[i] < (i == 0 ? 1 : 2))
                throw new ArgumentException($"SegformerConfig.depths: the nextvit_hybrid encoder needs at least {(i == 0 ? 1 : 2)} layers in stage {i} (NCBs then a transformer layer), got {c.depths[i]}");
        }
        if (c.poolformer_blocks || c.pooling_patch_embedding || !c.encoder_layer_norm)
            throw new ArgumentException("SegformerConfig: the nextvit_hybrid encoder has its own patch embeddings and conv blocks and normalises after each transformer layer; turn poolformer_blocks and pooling_patch_embedding off and keep encoder_layer_norm on");
    }
}
