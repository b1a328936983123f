namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.nn;

/// <summary>2-D average pooling (kernel, stride, padding, ceil_mode, count_include_pad as in PyTorch).</summary>
public sealed class AvgPool2d : Module<Tensor, Tensor>
{
    public long[] kernel_size { get; }
    public long[] stride { get; }
    public long[] padding { get; }
    public bool ceil_mode { get; }
    public bool count_include_pad { get; }

    public AvgPool2d(long kernel_size, long? stride = null, long padding = 0, bool ceil_mode = false, bool count_include_pad = true) : base(nameof(AvgPool2d))
    {
        this.kernel_size = new[] { kernel_size, kernel_size };
        this.stride = new[] { stride ?? kernel_size, stride ?? kernel_size };
        this.padding = new[] { padding, padding };
        this.ceil_mode = ceil_mode;
        this.count_include_pad = count_include_pad;
    }

    public override Tensor forward(Tensor input) => functional.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad);
}

/// <summary>Average pooling to a fixed output size, whatever the input size.</summary>
public sealed class AdaptiveAvgPool2d : Module<Tensor, Tensor>
{
    public long[] output_size { get; }
    public AdaptiveAvgPool2d(long output_size) : this(new[] { output_size, output_size }) { }
    public AdaptiveAvgPool2d(long[] output_size) : base(nameof(AdaptiveAvgPool2d)) { this.output_size = output_size; }
    public override Tensor forward(Tensor input) => functional.adaptive_avg_pool2d(input, output_size);
}

/// <summary>2-D max pooling (kernel, stride, padding, dilation, ceil_mode as in PyTorch).</summary>
public sealed class MaxPool2d : Module<Tensor, Tensor>
{
    public long[] kernel_size { get; }
    public long[] stride { get; }
    public long[] padding { get; }
    public long[] dilation { get; }
    public bool ceil_mode { get; }

    public MaxPool2d(long kernel_size, long? stride = null, long padding = 0, long dilation = 1, bool ceil_mode = false) : base(nameof(MaxPool2d))
    {
        this.kernel_size = new[] { kernel_size, kernel_size };
        this.stride = new[] { stride ?? kernel_size, stride ?? kernel_size };
        this.padding = new[] { padding, padding };
        this.dilation = new[] { dilation, dilation };
        this.ceil_mode = ceil_mode;
    }

    public override Tensor forward(Tensor input) => functional.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode);
}
