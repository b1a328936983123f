using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace BoostFormer.Training.Losses;

/// <summary>Conv → BatchNorm → ReLU, named as mmcv's <c>ConvModule</c> (<c>conv</c>, <c>bn</c>).</summary>
public sealed class ConvModule : Module<Tensor, Tensor>
{
    /// <summary>The convolution (no bias: the batch norm follows).</summary>
    public readonly Conv2d conv;
    /// <summary>The batch normalisation.</summary>
    public readonly BatchNorm2d bn;

    /// <summary>A k×k conv with "same" padding, then BN and ReLU.</summary>
    public ConvModule(long inChannels, long outChannels, long kernelSize) : base(nameof(ConvModule))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, padding: kernelSize / 2, bias: false);
        bn = nn.BatchNorm2d(outChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var c = conv.call(input);
        using var b = BoostFormer.Models.SegformerLayout.BatchNorm(bn, c);
        return b.relu();
    }
}

/// <summary>
/// mmsegmentation's <c>FCNHead</c> used as the auxiliary head: <c>num_convs</c> 3×3 ConvModules (conv, BN, ReLU),
/// channel dropout (<c>Dropout2d</c>, p = 0.1) and a 1×1 classifier <c>conv_seg</c>. The state-dict keys match mmseg
/// (<c>convs.0.conv.weight</c>, <c>convs.0.bn.running_mean</c>, <c>conv_seg.weight</c>). In SegFormer training it is fed
/// the encoder's stage-3 output (1/16 resolution); its loss is added with weight 0.4.
/// </summary>
public sealed class FCNHead : Module<Tensor, Tensor>
{
    /// <summary>The 3×3 conv blocks.</summary>
    public readonly ModuleList<ConvModule> convs;
    /// <summary>The 1×1 classifier.</summary>
    public readonly Conv2d conv_seg;

    /// <summary>Creates the head.</summary>
    public FCNHead(long inChannels, long channels, long numClasses, int numConvs = 1, double dropoutRatio = 0.1) : base(nameof(FCNHead))
    {
        if (numConvs < 1) throw new ArgumentOutOfRangeException(nameof(numConvs), numConvs, "FCNHead needs at least one conv");
        if (dropoutRatio < 0 || dropoutRatio >= 1) throw new ArgumentOutOfRangeException(nameof(dropoutRatio), dropoutRatio, "dropout ratio must be in [0, 1)");
        var list = new List<ConvModule>();
        for (int i = 0; i < numConvs; i++) list.Add(new ConvModule(i == 0 ? inChannels : channels, channels, 3));
        convs = new ModuleList<ConvModule>(list.ToArray());
        conv_seg = nn.Conv2d(channels, numClasses, 1);
        // mmseg's BaseDecodeHead.init_weights: normal(std=0.01) classifier, zero bias.
        init.normal_(conv_seg.weight, 0, 0.01);
        init.zeros_(conv_seg.bias!);
        DropoutRatio = dropoutRatio;
        RegisterComponents();
    }

    /// <summary>Probability of zeroing a whole channel during training.</summary>
    public double DropoutRatio { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        foreach (var c in convs) x = c.call(x);
        if (training && DropoutRatio > 0)
        {
            // Dropout2d: one Bernoulli draw per (sample, channel), survivors scaled by 1/(1-p).
            var keep = empty(new[] { x.shape[0], x.shape[1], 1L, 1L }, x.dtype).bernoulli_(1 - DropoutRatio).div_(Scalars.Of(1 - DropoutRatio));
            x = x.mul(keep);
        }
        return conv_seg.call(x).MoveToOuterDisposeScope();
    }
}
