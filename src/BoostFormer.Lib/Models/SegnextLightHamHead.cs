using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// mmcv's <c>ConvModule</c> as SegNeXt's head uses it: a 1x1 conv (<c>conv</c>; bias only without a norm), GroupNorm(32)
/// (<c>gn</c>, optional) and ReLU (optional).
/// </summary>
public sealed class SegnextConvModule : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv;
    public readonly GroupNorm? gn;
    private readonly bool _relu;

    public SegnextConvModule(int inChannels, int outChannels, bool norm, bool relu) : base(nameof(SegnextConvModule))
    {
        conv = nn.Conv2d(inChannels, outChannels, 1, bias: !norm);
        register_module(nameof(conv), conv);
        if (norm)
        {
            gn = nn.GroupNorm(32, outChannels);
            register_module(nameof(gn), gn);
        }
        _relu = relu;
    }

    /// <summary>Registered by hand: the norm is optional.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = conv.call(input);
        if (gn is not null) x = gn.call(x);
        if (_relu) x = nn.functional.relu(x);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SegNeXt's <c>Hamburger</c>: relu(x + ham_out(NMF(relu(ham_in(x))))) — <c>ham_in</c> a 1x1 conv with bias, <c>ham</c> the
/// NMF (<see cref="HamNmf2D"/>), <c>ham_out</c> a 1x1 conv + GroupNorm.
/// </summary>
public sealed class SegnextHamburger : nn.Module<Tensor, Tensor>
{
    public readonly SegnextConvModule ham_in;
    public readonly HamNmf2D ham;
    public readonly SegnextConvModule ham_out;

    public SegnextHamburger(int channels, HamNmf2D ham) : base(nameof(SegnextHamburger))
    {
        ham_in = new SegnextConvModule(channels, channels, norm: false, relu: false);
        this.ham = ham;
        ham_out = new SegnextConvModule(channels, channels, norm: true, relu: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var enjoy = nn.functional.relu(ham_in.call(input));
        enjoy = ham_out.call(ham.call(enjoy));
        return nn.functional.relu(enjoy.add_(input, Scalars.One)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SegNeXt's <c>LightHamHead</c> (arXiv 2209.08575; <c>mmseg/models/decode_heads/ham_head.py</c>) with mmseg's key names:
/// stages 2–4 resized bilinearly to 1/8 and concatenated, <c>squeeze</c> (1x1 + GN + ReLU to ham_channels),
/// <c>hamburger</c>, <c>align</c> (1x1 + GN + ReLU to the head width), Dropout2d and <c>conv_seg</c>. Logits at 1/8.
/// </summary>
public sealed class SegnextLightHamHead : SegmentationDecodeHeadBase
{
    public readonly Conv2d conv_seg;
    public readonly Dropout2d dropout;
    public readonly SegnextConvModule squeeze;
    public readonly SegnextHamburger hamburger;
    public readonly SegnextConvModule align;

    public SegnextLightHamHead(SegformerConfig config) : base(nameof(SegnextLightHamHead))
    {
        var channels = config.decoder_hidden_size;
        var ham = config.ham_channels;
        // BaseDecodeHead registers conv_seg and dropout first, then LightHamHead its own modules
        conv_seg = nn.Conv2d(channels, config.num_labels, 1);
        dropout = nn.Dropout2d(config.classifier_dropout_prob);
        squeeze = new SegnextConvModule(config.hidden_sizes.Skip(1).Sum(), ham, norm: true, relu: true);
        hamburger = new SegnextHamburger(ham, new HamNmf2D(config.ham_rank, config.ham_train_steps, config.ham_eval_steps, eps: 1e-6));
        align = new SegnextConvModule(ham, channels, norm: true, relu: true);
        RegisterComponents();
    }

    public override int OutputStride => 8;

    public override Tensor forward(IReadOnlyList<Tensor> encoder_hidden_states)
    {
        using var scope = NewDisposeScope();
        var x = HamHeads.ConcatAtStage2(encoder_hidden_states);
        var y = align.call(hamburger.call(squeeze.call(x)));
        return conv_seg.call(dropout.call(y)).MoveToOuterDisposeScope();
    }
}
