namespace BoostFormer.Notebooks;

/// <summary>
/// The sizes of the notebooks' training runs at one <see cref="RunScale"/>: what <c>03-pretrain-tinyimagenet</c> and
/// <c>04-finetune-camvid</c> train and what the analysis notebooks measure. One record per scale, so that the scales table
/// of <c>00-tour</c> is the one the runs use. <see cref="RunScale.Demo"/> is sized so that every notebook together runs in
/// about 30 minutes on a 2-core CPU; <see cref="RunScale.Ci"/> in a few minutes; <see cref="RunScale.Full"/> is the
/// papers' schedule.
/// </summary>
public sealed record ScaleSettings
{
    /// <summary>The scale these settings belong to.</summary>
    public required RunScale Scale { get; init; }
    /// <summary>What the scale is for, in a few words.</summary>
    public required string Purpose { get; init; }
    /// <summary>Tiny-ImageNet pretraining iterations (03).</summary>
    public required long PretrainIterations { get; init; }
    /// <summary>Pretraining batch size (03).</summary>
    public required int PretrainBatch { get; init; }
    /// <summary>Validation images of the pretraining evaluation, or null for the whole split (03).</summary>
    public required int? PretrainValImages { get; init; }
    /// <summary>CamVid fine-tuning iterations per model (04).</summary>
    public required long FinetuneIterations { get; init; }
    /// <summary>Fine-tuning batch size (04).</summary>
    public required int FinetuneBatch { get; init; }
    /// <summary>Side of the square fine-tuning crops (04).</summary>
    public required int FinetuneCrop { get; init; }
    /// <summary>Training images used for fine-tuning, or null for the whole split (04).</summary>
    public required int? FinetuneTrainImages { get; init; }
    /// <summary>Validation images, or null for the whole split (04, 08).</summary>
    public required int? ValImages { get; init; }
    /// <summary>Iterations per run of the comparison notebooks 10–12 (model zoo, distillation, training tricks), batch and crop as <see cref="FinetuneBatch"/> and <see cref="FinetuneCrop"/>.</summary>
    public long CompareIterations { get; init; }
    /// <summary>Validation images of the comparison notebooks 10–12, or null for the whole split.</summary>
    public int? CompareValImages { get; init; }

    /// <summary>The settings of <paramref name="scale"/>.</summary>
    public static ScaleSettings For(RunScale scale) => scale switch
    {
        RunScale.Ci => new()
        {
            Scale = scale, Purpose = "CI: proves every pipeline in minutes; numbers are meaningless",
            PretrainIterations = 12, PretrainBatch = 16, PretrainValImages = 202,
            FinetuneIterations = 6, FinetuneBatch = 2, FinetuneCrop = 128, FinetuneTrainImages = 8, ValImages = 4,
            CompareIterations = 4, CompareValImages = 4,
        },
        RunScale.Demo => new()
        {
            Scale = scale, Purpose = "the default: every notebook in about 30 minutes on a 2-core CPU",
            PretrainIterations = 600, PretrainBatch = 64, PretrainValImages = 1000,
            FinetuneIterations = 300, FinetuneBatch = 4, FinetuneCrop = 256, FinetuneTrainImages = null, ValImages = null,
            CompareIterations = 60, CompareValImages = 32,
        },
        _ => new()
        {
            Scale = scale, Purpose = "the papers' schedules (days on a CPU)",
            PretrainIterations = 470_000, PretrainBatch = 128, PretrainValImages = null,
            FinetuneIterations = 160_000, FinetuneBatch = 8, FinetuneCrop = 512, FinetuneTrainImages = null, ValImages = null,
            CompareIterations = 160_000, CompareValImages = null,
        },
    };

    /// <summary>The settings of the current run's scale (<see cref="Parameters.Scale"/>).</summary>
    public static ScaleSettings Current => For(Parameters.Scale);

    /// <summary>The settings of every scale, smallest first.</summary>
    public static IReadOnlyList<ScaleSettings> All => Enum.GetValues<RunScale>().Select(For).ToList();

    /// <summary>Pretraining images seen (iterations × batch).</summary>
    public long PretrainImagesSeen => PretrainIterations * PretrainBatch;
    /// <summary>Fine-tuning crops seen per model (iterations × batch).</summary>
    public long FinetuneCropsSeen => FinetuneIterations * FinetuneBatch;
}
