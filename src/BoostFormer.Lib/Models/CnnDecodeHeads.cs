using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>mmcv's <c>ConvModule</c> with BatchNorm: conv without bias (<c>conv</c>), BN (<c>bn</c>), ReLU.</summary>
public sealed class CnnConvModule : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv;
    public readonly BatchNorm2d bn;

    public CnnConvModule(int inChannels, int outChannels, int kernel = 1, int padding = 0, int dilation = 1, int groups = 1) : base(nameof(CnnConvModule))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernel, 1, padding, dilation: dilation, groups: groups, bias: false);
        bn = nn.BatchNorm2d(outChannels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return nn.functional.relu(SegformerLayout.BatchNorm(bn, conv.call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>mmcv's <c>DepthwiseSeparableConvModule</c>: a depthwise 3x3 ConvModule (<c>depthwise_conv</c>) then a 1x1 one (<c>pointwise_conv</c>).</summary>
public sealed class CnnSeparableConvModule : nn.Module<Tensor, Tensor>
{
    public readonly CnnConvModule depthwise_conv;
    public readonly CnnConvModule pointwise_conv;

    public CnnSeparableConvModule(int inChannels, int outChannels, int dilation = 1) : base(nameof(CnnSeparableConvModule))
    {
        depthwise_conv = new CnnConvModule(inChannels, inChannels, 3, dilation, dilation, groups: inChannels);
        pointwise_conv = new CnnConvModule(inChannels, outChannels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var d = depthwise_conv.call(x);
        return pointwise_conv.call(d);
    }
}

internal static class CnnResize
{
    public static Tensor To(Tensor x, long h, long w)
    {
        if (x.size(2) == h && x.size(3) == w) return x.alias();
        var up = nn.functional.interpolate(x, new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false);
        if (Profiling.OpCount.Active) Profiling.OpCount.Other("upsample", up.numel());
        return up;
    }
}

/// <summary>
/// DeepLabV3+'s decoder (Chen et al. 2018; mmseg <c>DepthwiseSeparableASPPHead</c>, key names kept): on the last stage,
/// image pooling (<c>image_pool.1</c>) and ASPP (<c>aspp_modules</c>: a 1x1 ConvModule and depthwise-separable 3x3 ones
/// at dilations 12, 24, 36), a 3x3 <c>bottleneck</c>; upsampled to stage 1 and concatenated with its 1x1 projection
/// (<c>c1_bottleneck</c>, 48 → 12 channels for R18 as mmseg's config), two separable 3x3 convs (<c>sep_bottleneck</c>),
/// dropout and <c>conv_seg</c>. Logits at 1/4.
/// </summary>
public sealed class DeepLabV3PlusHead : SegmentationDecodeHeadBase
{
    public readonly Conv2d conv_seg;
    public readonly Dropout2d dropout;
    public readonly Sequential image_pool;
    public readonly ModuleList<nn.Module<Tensor, Tensor>> aspp_modules;
    public readonly CnnConvModule bottleneck;
    public readonly CnnConvModule c1_bottleneck;
    public readonly Sequential sep_bottleneck;

    /// <summary>Dilations of the ASPP branches (1 = the 1x1 branch).</summary>
    public static readonly int[] Dilations = { 1, 12, 24, 36 };
    /// <summary>Channels of the stage-1 projection (mmseg's R18 config: 12).</summary>
    public const int C1Channels = 12;

    public DeepLabV3PlusHead(SegformerConfig config) : base(nameof(DeepLabV3PlusHead))
    {
        int inCh = config.hidden_sizes[^1], c = config.decoder_hidden_size;
        conv_seg = nn.Conv2d(c, config.num_labels, 1);
        dropout = nn.Dropout2d(config.classifier_dropout_prob);
        image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), new CnnConvModule(inCh, c, 1));
        aspp_modules = new ModuleList<nn.Module<Tensor, Tensor>>(Dilations.Select(d => d == 1
            ? (nn.Module<Tensor, Tensor>)new CnnConvModule(inCh, c, 1) : new CnnSeparableConvModule(inCh, c, d)).ToArray());
        bottleneck = new CnnConvModule((Dilations.Length + 1) * c, c, 3, 1);
        c1_bottleneck = new CnnConvModule(config.hidden_sizes[0], C1Channels, 1);
        sep_bottleneck = nn.Sequential(new CnnSeparableConvModule(c + C1Channels, c), new CnnSeparableConvModule(c, c));
        RegisterComponents();
    }

    public override Tensor forward(IReadOnlyList<Tensor> hidden)
    {
        using var scope = NewDisposeScope();
        var x = hidden[^1];
        var outs = new List<Tensor> { CnnResize.To(image_pool.call(x), x.size(2), x.size(3)) };
        outs.AddRange(aspp_modules.Select(m => m.call(x)));
        var y = bottleneck.call(cat(outs, 1));
        var c1 = c1_bottleneck.call(hidden[0]);
        y = cat(new[] { CnnResize.To(y, c1.size(2), c1.size(3)), c1 }, 1);
        return conv_seg.call(dropout.call(sep_bottleneck.call(y))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// PSPNet's pyramid pooling head (Zhao et al. 2017; mmseg <c>PSPHead</c>, key names kept): on the last stage, adaptive average
/// pooling to 1, 2, 3, 6 with a 1x1 ConvModule each (<c>psp_modules.i.1</c>), upsampled and concatenated with the input,
/// a 3x3 <c>bottleneck</c>, dropout, <c>conv_seg</c>. Logits at the last stage's resolution (1/8 with the dilated R18, 1/32 on MiT).
/// </summary>
public sealed class PspHead : SegmentationDecodeHeadBase
{
    public readonly Conv2d conv_seg;
    public readonly Dropout2d dropout;
    public readonly ModuleList<Sequential> psp_modules;
    public readonly CnnConvModule bottleneck;

    /// <summary>The pooling scales.</summary>
    public static readonly int[] PoolScales = { 1, 2, 3, 6 };

    public PspHead(SegformerConfig config) : base(nameof(PspHead))
    {
        int inCh = config.hidden_sizes[^1], c = config.decoder_hidden_size;
        conv_seg = nn.Conv2d(c, config.num_labels, 1);
        dropout = nn.Dropout2d(config.classifier_dropout_prob);
        psp_modules = new ModuleList<Sequential>(PoolScales.Select(s => nn.Sequential(nn.AdaptiveAvgPool2d(s), new CnnConvModule(inCh, c, 1))).ToArray());
        bottleneck = new CnnConvModule(inCh + PoolScales.Length * c, c, 3, 1);
        _stride = config.encoder_type == ZooModule.EncoderResnet18 && config.resnet_dilated ? 8 : 32;
        RegisterComponents();
    }

    private readonly int _stride;

    /// <summary>The last stage's stride: 8 on the dilated ResNet-18, 32 on a plain 4-stage encoder.</summary>
    public override int OutputStride => _stride;

    public override Tensor forward(IReadOnlyList<Tensor> hidden)
    {
        using var scope = NewDisposeScope();
        var x = hidden[^1];
        var outs = new List<Tensor> { x };
        outs.AddRange(psp_modules.Select(m => CnnResize.To(m.call(x), x.size(2), x.size(3))));
        return conv_seg.call(dropout.call(bottleneck.call(cat(outs, 1)))).MoveToOuterDisposeScope();
    }
}

/// <summary>One U-Net decoder step (<c>conv1</c>, <c>conv2</c>): upsample to the skip's size, concatenate, two 3x3 ConvModules.</summary>
public sealed class UnetDecoderBlock : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly CnnConvModule conv1;
    public readonly CnnConvModule conv2;

    public UnetDecoderBlock(int inChannels, int skipChannels, int outChannels) : base(nameof(UnetDecoderBlock))
    {
        conv1 = new CnnConvModule(inChannels + skipChannels, outChannels, 3, 1);
        conv2 = new CnnConvModule(outChannels, outChannels, 3, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor skip)
    {
        using var scope = NewDisposeScope();
        var up = CnnResize.To(x, skip.size(2), skip.size(3));
        return conv2.call(conv1.call(cat(new[] { up, skip }, 1))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A U-Net decoder (Ronneberger et al. 2015) on the four stages of a ResNet-18 encoder, as segmentation_models_pytorch's
/// <c>Unet</c> builds it but stopping at 1/4: from the last stage, three decoder blocks (<c>blocks.0..2</c>: 256, 128, 64
/// channels) each upsample ×2 and fuse the skip of stages 3, 2, 1; then <c>conv_seg</c>. Logits at 1/4.
/// </summary>
public sealed class UnetDecodeHead : SegmentationDecodeHeadBase
{
    public readonly ModuleList<UnetDecoderBlock> blocks;
    public readonly Conv2d conv_seg;

    /// <summary>Widths of the three decoder blocks.</summary>
    public static readonly int[] BlockChannels = { 256, 128, 64 };

    public UnetDecodeHead(SegformerConfig config) : base(nameof(UnetDecodeHead))
    {
        var hs = config.hidden_sizes;
        blocks = new ModuleList<UnetDecoderBlock>(
            new UnetDecoderBlock(hs[3], hs[2], BlockChannels[0]),
            new UnetDecoderBlock(BlockChannels[0], hs[1], BlockChannels[1]),
            new UnetDecoderBlock(BlockChannels[1], hs[0], BlockChannels[2]));
        conv_seg = nn.Conv2d(BlockChannels[2], config.num_labels, 1);
        RegisterComponents();
    }

    public override Tensor forward(IReadOnlyList<Tensor> hidden)
    {
        using var scope = NewDisposeScope();
        var x = hidden[3];
        for (int i = 0; i < 3; i++) x = blocks[i].call(x, hidden[2 - i]);
        return conv_seg.call(x).MoveToOuterDisposeScope();
    }
}
