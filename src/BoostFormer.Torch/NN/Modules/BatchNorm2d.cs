namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.nn;

/// <summary>
/// Batch normalisation over the channel dimension of NCHW input (PyTorch's <c>nn.BatchNorm2d</c>).
/// In training it normalises with the batch statistics and, when <c>track_running_stats</c>, updates
/// <c>running_mean</c>/<c>running_var</c> as <c>running = (1 - momentum)·running + momentum·batch</c> (the variance update uses
/// the unbiased batch variance) and increments <c>num_batches_tracked</c>; with <c>momentum = null</c> it keeps a cumulative
/// moving average (factor 1/num_batches_tracked). In eval it normalises with the running statistics (or with batch
/// statistics when it does not track them).
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
    /// <summary>Weight of the new batch statistic in the running average; null means a cumulative moving average.</summary>
    public double? momentum { get; set; }
    public bool affine { get; }
    public bool track_running_stats { get; }

    public BatchNorm2d(long num_features, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool track_running_stats = true) : base(nameof(BatchNorm2d))
    {
        if (num_features <= 0) throw new ArgumentOutOfRangeException(nameof(num_features), num_features, "num_features must be positive");
        this.num_features = num_features;
        this.eps = eps;
        this.momentum = momentum;
        this.affine = affine;
        this.track_running_stats = track_running_stats;
        if (affine)
        {
            using (var w = ones(num_features)) weight = new Parameter(w);
            using (var b = zeros(num_features)) bias = new Parameter(b);
        }
        if (track_running_stats)
        {
            running_mean = zeros(num_features).DetachFromDisposeScope();
            running_var = ones(num_features).DetachFromDisposeScope();
            num_batches_tracked = zeros(Array.Empty<long>(), ScalarType.Int64).DetachFromDisposeScope();
        }
        RegisterComponents();
    }

    /// <summary>Resets the running statistics to mean 0, variance 1 and the batch counter to 0.</summary>
    public void reset_running_stats()
    {
        if (!track_running_stats) return;
        using (no_grad())
        {
            running_mean!.zero_();
            running_var!.fill_(1);
            num_batches_tracked!.zero_();
        }
    }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4) throw new ArgumentException($"BatchNorm2d expects 4-D input (N, C, H, W), got [{string.Join(", ", input.shape)}]", nameof(input));
        var c = input.size(1);
        if (c != num_features) throw new ArgumentException($"BatchNorm2d({num_features}) got input with {c} channels: [{string.Join(", ", input.shape)}]", nameof(input));
        double factor = momentum ?? 0.0;
        if (training && track_running_stats)
        {
            using (no_grad()) num_batches_tracked!.add_(1);
            if (momentum is null)
                factor = 1.0 / num_batches_tracked!.item<long>();
        }
        // As PyTorch: batch statistics in training, or in eval when no running statistics are kept.
        var useBatchStats = training || running_mean is null;
        var passStats = !training || track_running_stats;
        return functional.batch_norm(input, passStats ? running_mean : null, passStats ? running_var : null, weight, bias, useBatchStats, factor, eps);
    }
}
