namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.nn;

/// <summary>
/// Batch normalisation over the channel dimension of NCHW input. In training it normalises with batch statistics and
/// updates <c>running_mean</c>/<c>running_var</c> with <c>momentum</c> (and counts <c>num_batches_tracked</c>); in eval it
/// uses the running statistics.
/// </summary>
public sealed class BatchNorm2d : Module<Tensor, Tensor>
{
    public readonly Parameter? weight;
    public readonly Parameter? bias;
    public readonly Tensor? running_mean;
    public readonly Tensor? running_var;
    public readonly Tensor? num_batches_tracked;
    public long num_features { get; }
    public double eps { get; }
    public double momentum { get; }

    public BatchNorm2d(long num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true, bool track_running_stats = true) : base(nameof(BatchNorm2d))
    {
        this.num_features = num_features;
        this.eps = eps;
        this.momentum = momentum;
        if (affine)
        {
            using (var w = ones(num_features)) weight = new Parameter(w);
            using (var b = zeros(num_features)) bias = new Parameter(b);
        }
        if (track_running_stats)
        {
            running_mean = zeros(num_features).DetachFromDisposeScope();
            running_var = ones(num_features).DetachFromDisposeScope();
            num_batches_tracked = zeros(new long[] { }, ScalarType.Int64).DetachFromDisposeScope();
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4) throw new ArgumentException($"BatchNorm2d expects 4-D input (N, C, H, W), got [{string.Join(", ", input.shape)}]");
        var useBatchStats = training || running_mean is null;
        if (training && num_batches_tracked is not null)
            using (no_grad()) num_batches_tracked.add_(1);
        return functional.batch_norm(input, running_mean, running_var, weight, bias, useBatchStats, momentum, eps);
    }
}
