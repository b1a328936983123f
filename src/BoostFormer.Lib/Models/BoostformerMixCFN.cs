using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// The mixed depthwise conv of Mix-CFN (<c>mixconv</c>): the channels are split in half; the first half goes through a 3x3
/// depthwise conv (<c>conv_3</c>), the second through a 5x5 one (<c>conv_5</c>), and the halves are concatenated.
/// </summary>
public sealed class BoostformerMixConv : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv_3;
    public readonly Conv2d conv_5;
    public int channels { get; }

    public BoostformerMixConv(int channels) : base(nameof(BoostformerMixConv))
    {
        if (channels % 2 != 0) throw new ArgumentException($"Mix-CFN splits channels in half; {channels} is odd", nameof(channels));
        this.channels = channels;
        var half = channels / 2;
        conv_3 = nn.Conv2d(half, half, 3, 1, 1, groups: half);
        conv_5 = nn.Conv2d(half, half, 5, 1, 2, groups: half);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var parts = input.split(channels / 2, 1);
        var a = conv_3.call(parts[0]);
        var b = conv_5.call(parts[1]);
        return cat(new[] { a, b }, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>Holder of <see cref="BoostformerMixConv"/> so the keys read <c>mlp.dwconv.mixconv.conv_3</c> as in the reference.</summary>
public sealed class BoostformerMixDWConv : nn.Module<Tensor, Tensor>
{
    public readonly BoostformerMixConv mixconv;

    public BoostformerMixDWConv(int channels) : base(nameof(BoostformerMixDWConv))
    {
        mixconv = new BoostformerMixConv(channels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => mixconv.call(input);
}

/// <summary>
/// BoostFormer's Mix-CFN (switch e), computed on the NCHW map of the tokens: 1x1 conv, BatchNorm (<c>norm_1</c>), mixed
/// 3x3/5x5 depthwise conv (<c>dwconv.mixconv</c>), BatchNorm (<c>norm_2</c>), GELU, 1x1 conv. The reference names the two
/// 1x1 convs <c>conv1</c>/<c>conv2</c> inside PoolFormer layers and <c>conv_1</c>/<c>conv_2</c> inside attention layers;
/// the constructor's <c>underscoreNames</c> picks the second spelling.
/// </summary>
public sealed class BoostformerMixCFN : SegformerMapMlpBase
{
    public readonly Conv2d conv_in;
    public readonly BatchNorm2d norm_1;
    public readonly BoostformerMixDWConv dwconv;
    public readonly BatchNorm2d norm_2;
    public readonly GELU act;
    public readonly Conv2d conv_out;

    /// <summary>
    /// The submodules are registered by hand in the constructor (the 1x1 convs under the reference's names), so the
    /// field-based registration is turned off: it would register them a second time under their field names.
    /// </summary>
    protected override void RegisterComponents() { }

    public BoostformerMixCFN(int in_features, int hidden_features, bool underscoreNames, double batch_norm_eps = 1e-5) : base(nameof(BoostformerMixCFN))
    {
        conv_in = nn.Conv2d(in_features, hidden_features, 1);
        norm_1 = nn.BatchNorm2d(hidden_features, batch_norm_eps);
        dwconv = new BoostformerMixDWConv(hidden_features);
        norm_2 = nn.BatchNorm2d(hidden_features, batch_norm_eps);
        act = nn.GELU();
        conv_out = nn.Conv2d(hidden_features, in_features, 1);
        // Registration order follows the reference state dict: conv_1, norm_1, dwconv, norm_2, conv_2 (act has no state).
        register_module(underscoreNames ? "conv_1" : "conv1", conv_in);
        register_module(nameof(norm_1), norm_1);
        register_module(nameof(dwconv), dwconv);
        register_module(nameof(norm_2), norm_2);
        register_module(nameof(act), act);
        register_module(underscoreNames ? "conv_2" : "conv2", conv_out);
    }

    protected override Tensor ForwardMap(Tensor map)
    {
        using var scope = NewDisposeScope();
        if (SegformerLayout.FoldsAtInference && SegformerLayout.IsPlainInference(this))
            return Folded(map).MoveToOuterDisposeScope();
        var h = conv_in.call(map);
        h = SegformerLayout.BatchNorm(norm_1, h);
        h = dwconv.call(h);
        h = SegformerLayout.BatchNorm(norm_2, h);
        h = act.call(h);
        return conv_out.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The inference graph with both BatchNorms folded: norm_1 into the 1x1 conv before it, and the two half-channel
    /// depthwise convs merged into one 5×5 depthwise conv over all channels (the 3×3 kernels zero-padded to 5×5, which
    /// adds only exact zero products) with norm_2 folded into it. Two convs and GELU instead of two convs, a split, two
    /// convs, a concatenation and two BatchNorms.
    /// </summary>
    private Tensor Folded(Tensor map)
    {
        var (s1, t1) = SegformerLayout.AffineOf(norm_1);
        var w1 = conv_in.weight!.mul(s1.view(-1, 1, 1, 1));
        var b1 = conv_in.bias is { } cb ? cb.mul(s1).add(t1, Scalars.One) : t1;
        var h = nn.functional.conv2d(map, w1, b1);
        var mix = dwconv.mixconv;
        var (s2, t2) = SegformerLayout.AffineOf(norm_2);
        var k3 = nn.functional.pad(mix.conv_3.weight!, new long[] { 1, 1, 1, 1 });
        var wd = cat(new[] { k3, mix.conv_5.weight! }, 0).mul(s2.view(-1, 1, 1, 1));
        var bd = cat(new[] { mix.conv_3.bias!, mix.conv_5.bias! }, 0).mul(s2).add(t2, Scalars.One);
        h = nn.functional.conv2d(h, wd, bd, padding: new long[] { 2, 2 }, groups: mix.channels);
        h = act.call(h);
        return conv_out.call(h);
    }
}

/// <summary>
/// The Mix-FFN written with 1x1 convs on the NCHW map of the tokens (<c>conv1</c>, 3x3 depthwise <c>dwconv</c>, GELU,
/// <c>conv2</c>): the MLP of a PoolFormer layer when Mix-CFN (switch e) is off. Mathematically the SegFormer Mix-FFN.
/// </summary>
public sealed class BoostformerConvMixFFN : SegformerMapMlpBase
{
    public readonly Conv2d conv1;
    public readonly Conv2d dwconv;
    public readonly GELU act;
    public readonly Conv2d conv2;

    public BoostformerConvMixFFN(int in_features, int hidden_features) : base(nameof(BoostformerConvMixFFN))
    {
        conv1 = nn.Conv2d(in_features, hidden_features, 1);
        dwconv = nn.Conv2d(hidden_features, hidden_features, 3, 1, 1, groups: hidden_features);
        act = nn.GELU();
        conv2 = nn.Conv2d(hidden_features, in_features, 1);
        RegisterComponents();
    }

    protected override Tensor ForwardMap(Tensor map)
    {
        using var scope = NewDisposeScope();
        var h = conv1.call(map);
        h = dwconv.call(h);
        h = act.call(h);
        return conv2.call(h).MoveToOuterDisposeScope();
    }
}
