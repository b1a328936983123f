using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Output of <see cref="SegformerForSemanticSegmentation.forward(Tensor, Tensor?, bool, bool)"/>: logits at 1/4 of the input
/// resolution, the loss when labels were given, and optionally the four stage outputs and every layer's attention
/// probabilities (null for PoolFormer layers, which have none). Disposing it disposes every tensor it holds.
/// </summary>
public sealed record SemanticSegmenterOutput(Tensor logits, Tensor? loss, IReadOnlyList<Tensor>? hidden_states, IReadOnlyList<Tensor?>? attentions) : IDisposable
{
    public void Dispose()
    {
        logits.Dispose();
        loss?.Dispose();
        if (hidden_states is not null) foreach (var t in hidden_states) t.Dispose();
        if (attentions is not null) foreach (var a in attentions) a?.Dispose();
    }
}

/// <summary>
/// SegFormer for semantic segmentation (Xie et al., 2021): the Mix Transformer encoder (<c>segformer</c>) and the all-MLP
/// decoder (<c>decode_head</c>). State-dict keys are exactly Hugging Face's <c>SegformerForSemanticSegmentation</c> ones
/// (<c>segformer.encoder.block.0.0.attention.self.sr.weight</c>, <c>decode_head.linear_c.2.proj.weight</c>, …); with the
/// BoostFormer switches on they are the BoostFormer reference's. <c>forward(x)</c> returns logits [B, num_labels, H/4, W/4];
/// use <see cref="upsample_logits"/> to bring them to the input size.
/// </summary>
public sealed class SegformerForSemanticSegmentation : nn.Module<Tensor, Tensor>
{
    public readonly SegformerModel segformer;
    public readonly SegmentationDecodeHeadBase decode_head;
    public readonly SegformerConfig config;

    public SegformerForSemanticSegmentation(SegformerConfig config) : base(nameof(SegformerForSemanticSegmentation))
    {
        this.config = config.Validate();
        segformer = new SegformerModel(config);
        decode_head = SegformerModules.DecodeHead(config);
        RegisterComponents();
        SegformerInit.InitWeights(this, config);
    }

    /// <summary>
    /// Inference (no autograd) keeps the NCHW maps of the token sequences channels-last (<see cref="SegformerLayout.ToNCHW"/>,
    /// <see cref="SegformerLayout.BatchNorm"/>), where LibTorch's convolutions, pooling, BatchNorm and upsampling run several
    /// times faster; false copies them to NCHW as the Hugging Face graph does. Training is unaffected.
    /// </summary>
    public bool channels_last_inference = true;

    /// <summary>
    /// Switches the engine-level optimisations on or off (all default on; none changes the function the model computes):
    /// <paramref name="sdpa"/>, LibTorch's fused scaled-dot-product attention in every efficient self-attention layer;
    /// <paramref name="fusedDecoder"/>, the decoder's 1x1 fuse and BatchNorm folded into the per-stage projections at
    /// inference, and the encoder's BatchNorms folded into the convolutions before them (<see cref="SegformerLayout.FoldsAtInference"/>);
    /// <paramref name="channelsLast"/>, channels-last maps at inference (<see cref="channels_last_inference"/>). With all
    /// off the model runs the Hugging Face graph as written (the "naive port" the benchmarks compare against).
    /// </summary>
    public SegformerForSemanticSegmentation SetOptimizations(bool sdpa, bool fusedDecoder, bool channelsLast = true)
    {
        foreach (var m in modules().OfType<SegformerEfficientSelfAttention>()) m.use_sdpa = sdpa;
        decode_head.fused_inference = fusedDecoder;
        channels_last_inference = channelsLast;
        return this;
    }

    /// <summary>The decode head's logits, made NCHW-contiguous (a channels-last path ends in a channels-last classifier map).</summary>
    private Tensor Decode(IReadOnlyList<Tensor> hidden)
    {
        var logits = decode_head.call(hidden);
        if (logits.is_contiguous()) return logits;
        var c = logits.contiguous();
        logits.Dispose();
        return c;
    }

    /// <summary>Builds a fresh model from a known name (see <see cref="SegformerConfig.FromName"/>).</summary>
    public static SegformerForSemanticSegmentation FromName(string name, int numLabels = 150) => new(SegformerConfig.FromName(name, numLabels));

    /// <summary>
    /// Builds a model from a checkpoint: a folder with <c>config.json</c> and <c>model.safetensors</c> /
    /// <c>pytorch_model.bin</c> / <c>weights.safetensors</c> (Hugging Face or our own layout), or a single weights file with
    /// <paramref name="config"/> given. Returns the model (eval mode) and the load report; the load is strict except for
    /// known-unused keys.
    /// </summary>
    public static (SegformerForSemanticSegmentation model, CheckpointLoadReport report) FromCheckpoint(string path, SegformerConfig? config = null)
    {
        if (config is null)
        {
            var cfg = Directory.Exists(path) ? Path.Combine(path, "config.json") : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "config.json");
            if (!File.Exists(cfg)) throw new FileNotFoundException($"{path}: no config given and no config.json next to the weights", cfg);
            config = SegformerConfig.FromJson(cfg);
        }
        var model = new SegformerForSemanticSegmentation(config);
        try
        {
            var report = CheckpointImport.LoadInto(model, path, strict: true);
            model.eval();
            return (model, report);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Logits [B, num_labels, H/4, W/4].</summary>
    public override Tensor forward(Tensor pixel_values)
    {
        using var layout = SegformerLayout.InferencePaths(channels_last_inference, decode_head.fused_inference);
        using var enc = segformer.forward(pixel_values);
        return Decode(enc.hidden_states);
    }

    /// <summary>
    /// Logits, plus the loss (cross-entropy of the logits bilinearly upsampled to the label size, ignoring
    /// <c>semantic_loss_ignore_index</c>) when <paramref name="labels"/> [B, H, W] are given, and optionally the stage outputs
    /// and attention probabilities.
    /// </summary>
    public SemanticSegmenterOutput forward(Tensor pixel_values, Tensor? labels, bool output_hidden_states = false, bool output_attentions = false)
    {
        using var layout = SegformerLayout.InferencePaths(channels_last_inference, decode_head.fused_inference);
        var enc = segformer.forward(pixel_values, output_attentions);
        try
        {
            var logits = Decode(enc.hidden_states);
            Tensor? loss = null;
            if (labels is not null) loss = SegformerLoss.SemanticLoss(logits, labels, config.semantic_loss_ignore_index);
            var hs = output_hidden_states ? enc.hidden_states : null;
            if (!output_hidden_states) foreach (var t in enc.hidden_states) t.Dispose();
            return new SemanticSegmenterOutput(logits, loss, hs, enc.attentions);
        }
        catch
        {
            enc.Dispose();
            throw;
        }
    }

    /// <summary>Bilinear (align_corners=false) resize of logits to <paramref name="height"/>×<paramref name="width"/>, as HF does before argmax or loss.</summary>
    public static Tensor upsample_logits(Tensor logits, long height, long width) =>
        nn.functional.interpolate(logits, new[] { height, width }, mode: InterpolationMode.Bilinear, align_corners: false);

    /// <summary>Per-pixel class predictions [B, H, W] at <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static Tensor predict_classes(Tensor logits, long height, long width)
    {
        using var up = upsample_logits(logits, height, width);
        return up.argmax(1);
    }
}

/// <summary>The semantic-segmentation loss of SegFormer.</summary>
public static class SegformerLoss
{
    /// <summary>Cross-entropy of <paramref name="logits"/> upsampled bilinearly (align_corners=false) to the size of
    /// <paramref name="labels"/> [B, H, W], ignoring <paramref name="ignore_index"/>, mean over the other pixels.</summary>
    public static Tensor SemanticLoss(Tensor logits, Tensor labels, long ignore_index = 255)
    {
        if (labels.dim() != 3) throw new ArgumentException($"labels must be [B, H, W], got [{string.Join(", ", labels.shape)}]", nameof(labels));
        using var up = SegformerForSemanticSegmentation.upsample_logits(logits, labels.size(1), labels.size(2));
        return nn.functional.cross_entropy(up, labels, ignore_index: ignore_index);
    }
}

/// <summary>
/// SegFormer encoder with an image-classification head (for ImageNet-style pretraining): the last stage output is averaged
/// over all positions and classified by a linear layer (<c>classifier</c>), as Hugging Face's
/// <c>SegformerForImageClassification</c>. The encoder keys (<c>segformer.encoder.…</c>) match the segmentation model's.
/// </summary>
public sealed class SegformerForImageClassification : nn.Module<Tensor, Tensor>
{
    public readonly SegformerModel segformer;
    public readonly Linear classifier;
    public readonly SegformerConfig config;

    public SegformerForImageClassification(SegformerConfig config) : base(nameof(SegformerForImageClassification))
    {
        this.config = config.Validate();
        segformer = new SegformerModel(config);
        classifier = nn.Linear(config.hidden_sizes[^1], config.num_labels);
        RegisterComponents();
        SegformerInit.InitWeights(this, config);
    }

    /// <summary>Class logits [B, num_labels].</summary>
    public override Tensor forward(Tensor pixel_values)
    {
        using var enc = segformer.forward(pixel_values);
        using var pooled = enc.last_hidden_state.mean(new long[] { 2, 3 });
        return classifier.call(pooled);
    }
}

/// <summary>Hugging Face's SegFormer initialisation.</summary>
public static class SegformerInit
{
    /// <summary>Linear and conv weights ~ N(0, initializer_range) with zero bias; LayerNorm (and GroupNorm) weight 1, bias 0 (HF <c>_init_weights</c>).
    /// BatchNorm, layer scales and decoder weights keep their constructor values.</summary>
    public static void InitWeights(nn.Module model, SegformerConfig config)
    {
        using var _ = no_grad();
        foreach (var (_, m) in model.named_modules_with_root())
        {
            switch (m)
            {
                case Linear l:
                    nn.init.normal_(l.weight, 0, config.initializer_range);
                    if (l.bias is not null) nn.init.zeros_(l.bias);
                    break;
                case Conv2d c:
                    nn.init.normal_(c.weight, 0, config.initializer_range);
                    if (c.bias is not null) nn.init.zeros_(c.bias);
                    break;
                case LayerNorm ln:
                    if (ln.weight is not null) nn.init.ones_(ln.weight);
                    if (ln.bias is not null) nn.init.zeros_(ln.bias);
                    break;
                case GroupNorm gn:
                    // PyTorch's GroupNorm.reset_parameters (TorchSharp 0.107 leaves the affine parameters uninitialised)
                    if (gn.weight is not null) nn.init.ones_(gn.weight);
                    if (gn.bias is not null) nn.init.zeros_(gn.bias);
                    break;
            }
        }
    }
}
