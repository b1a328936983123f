namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.nn;

/// <summary>
/// 2-D convolution over an NCHW input. Weight [out_channels, in_channels/groups, kH, kW]; PyTorch's default
/// initialisation (kaiming uniform with a=√5, bias U(±1/√fan_in)).
/// </summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    public readonly Parameter? bias;
    public long in_channels { get; }
    public long out_channels { get; }
    public long[] kernel_size { get; }
    public long[] stride { get; }
    public long[] padding { get; }
    public long[] dilation { get; }
    public long groups { get; }

    public Conv2d(long in_channels, long out_channels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, long groups = 1, bool bias = true)
        : this(in_channels, out_channels, new[] { kernelSize, kernelSize }, new[] { stride, stride }, new[] { padding, padding }, new[] { dilation, dilation }, groups, bias) { }

    public Conv2d(long in_channels, long out_channels, long[] kernelSize, long[] stride, long[] padding, long[] dilation, long groups = 1, bool bias = true) : base(nameof(Conv2d))
    {
        if (in_channels % groups != 0) throw new ArgumentException($"in_channels ({in_channels}) must be divisible by groups ({groups})");
        if (out_channels % groups != 0) throw new ArgumentException($"out_channels ({out_channels}) must be divisible by groups ({groups})");
        this.in_channels = in_channels;
        this.out_channels = out_channels;
        kernel_size = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
        using (var w = empty(new[] { out_channels, in_channels / groups, kernelSize[0], kernelSize[1] })) weight = new Parameter(w);
        init.kaiming_uniform_(weight, a: Math.Sqrt(5));
        if (bias)
        {
            using (var b = empty(new[] { out_channels })) this.bias = new Parameter(b);
            var (fanIn, _) = init.CalculateFanInAndFanOut(weight);
            var bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
            init.uniform_(this.bias, -bound, bound);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => functional.conv2d(input, weight, bias, stride, padding, dilation, groups);
}
