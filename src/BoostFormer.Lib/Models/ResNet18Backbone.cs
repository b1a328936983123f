using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// torchvision's ResNet <c>BasicBlock</c> with its key names (<c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>,
/// <c>downsample.0/1</c>); the 3x3 convs may be dilated (as mmseg's ResNet-D8 backbones do) without changing any key.
/// </summary>
public sealed class ResNetBasicBlock : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv1;
    public readonly BatchNorm2d bn1;
    public readonly Conv2d conv2;
    public readonly BatchNorm2d bn2;
    public readonly Sequential? downsample;

    public ResNetBasicBlock(int inplanes, int planes, int stride, int dilation) : base(nameof(ResNetBasicBlock))
    {
        conv1 = nn.Conv2d(inplanes, planes, 3, stride, padding: dilation, dilation: dilation, bias: false);
        bn1 = nn.BatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, 1, padding: dilation, dilation: dilation, bias: false);
        bn2 = nn.BatchNorm2d(planes);
        register_module(nameof(conv1), conv1);
        register_module(nameof(bn1), bn1);
        register_module(nameof(conv2), conv2);
        register_module(nameof(bn2), bn2);
        if (stride != 1 || inplanes != planes)
        {
            downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias: false), nn.BatchNorm2d(planes));
            register_module(nameof(downsample), downsample);
        }
    }

    /// <summary>Registered by hand: the downsample branch is optional.</summary>
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(SegformerLayout.BatchNorm(bn1, conv1.call(x)));
        y = SegformerLayout.BatchNorm(bn2, conv2.call(y));
        var identity = downsample is null ? x : SegformerLayout.Sequential(downsample, x);
        return nn.functional.relu(y.add_(identity, Scalars.One)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// ResNet-18 without its classifier, in torchvision's layout and key names (<c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>,
/// …, <c>layer4.1.bn2</c>), so torchvision's <c>resnet18</c> weights load. Returns the outputs of layer1–4 (strides 4, 8,
/// 16, 32, or 4, 8, 8, 8 with <c>dilated</c>: layer3 and layer4 keep stride 1 with dilations 2 and 4, mmseg's "D8").
/// </summary>
public sealed class ResNet18Backbone : nn.Module<Tensor, IReadOnlyList<Tensor>>
{
    public readonly Conv2d conv1;
    public readonly BatchNorm2d bn1;
    public readonly ReLU relu;
    public readonly MaxPool2d maxpool;
    public readonly Sequential layer1, layer2, layer3, layer4;

    /// <summary>Channels of layer1–4.</summary>
    public static readonly int[] Channels = { 64, 128, 256, 512 };

    public ResNet18Backbone(int in_channels = 3, bool dilated = false) : base(nameof(ResNet18Backbone))
    {
        conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias: false);
        bn1 = nn.BatchNorm2d(64);
        relu = nn.ReLU();
        maxpool = nn.MaxPool2d(3, 2, 1);
        Sequential Layer(int inplanes, int planes, int stride, int dilation) =>
            nn.Sequential(new ResNetBasicBlock(inplanes, planes, stride, dilation), new ResNetBasicBlock(planes, planes, 1, dilation));
        layer1 = Layer(64, 64, 1, 1);
        layer2 = Layer(64, 128, 2, 1);
        layer3 = dilated ? Layer(128, 256, 1, 2) : Layer(128, 256, 2, 1);
        layer4 = dilated ? Layer(256, 512, 1, 4) : Layer(256, 512, 2, 1);
        RegisterComponents();
    }

    public override IReadOnlyList<Tensor> forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var s = maxpool.call(relu.call(SegformerLayout.BatchNorm(bn1, conv1.call(x))));
        var c1 = layer1.call(s);
        var c2 = layer2.call(c1);
        var c3 = layer3.call(c2);
        var c4 = layer4.call(c3);
        var outs = new[] { c1, c2, c3, c4 };
        foreach (var o in outs) o.MoveToOuterDisposeScope();
        return outs;
    }
}
