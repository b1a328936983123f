using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>The depthwise 3x3 conv of <see cref="DestMixFFN"/> (<c>dwconv.dwconv</c>, the team code's <c>SegformerDWConv</c>), on NCHW maps.</summary>
public sealed class DestDWConv : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d dwconv;

    public DestDWConv(int dim) : base(nameof(DestDWConv))
    {
        dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups: dim, bias: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => dwconv.call(input);
}

/// <summary>
/// DEST's Mix-FFN (arXiv 2204.13791) as the NOTA team's <c>DestMixFFN</c> writes it, on the NCHW map of the tokens:
/// 1x1 conv (<c>conv1</c>, C → rC), BatchNorm (<c>batch_norm1</c>), depthwise 3x3 (<c>dwconv.dwconv</c>), BatchNorm
/// (<c>batch_norm2</c>), ReLU (<c>activation</c>), dropout, 1x1 conv (<c>conv2</c>), dropout. SegFormer's Mix-FFN is
/// Linear → DW → GELU → Linear with no norms. One layer with LSRA: 12C² + 71C parameters.
/// </summary>
public sealed class DestMixFFN : SegformerMapMlpBase
{
    public readonly Conv2d conv1;
    public readonly BatchNorm2d batch_norm1;
    public readonly DestDWConv dwconv;
    public readonly BatchNorm2d batch_norm2;
    public readonly ReLU activation;
    public readonly Conv2d conv2;
    public readonly Dropout dropout;

    public DestMixFFN(int in_features, int hidden_features, double hidden_dropout_prob = 0, double batch_norm_eps = 1e-5) : base(nameof(DestMixFFN))
    {
        conv1 = nn.Conv2d(in_features, hidden_features, 1);
        batch_norm1 = nn.BatchNorm2d(hidden_features, batch_norm_eps);
        dwconv = new DestDWConv(hidden_features);
        batch_norm2 = nn.BatchNorm2d(hidden_features, batch_norm_eps);
        activation = nn.ReLU();
        conv2 = nn.Conv2d(hidden_features, in_features, 1);
        dropout = nn.Dropout(hidden_dropout_prob);
        RegisterComponents();
    }

    protected override Tensor ForwardMap(Tensor map)
    {
        using var scope = NewDisposeScope();
        var h = SegformerLayout.BatchNorm(batch_norm1, conv1.call(map));
        h = SegformerLayout.BatchNorm(batch_norm2, dwconv.call(h));
        h = dropout.call(activation.call(h));
        return dropout.call(conv2.call(h)).MoveToOuterDisposeScope();
    }
}
