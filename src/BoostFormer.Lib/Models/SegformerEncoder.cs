using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>What the encoder computed: the four stage outputs (NCHW, strides 4, 8, 16, 32) and optionally every layer's attention probabilities.</summary>
public sealed record SegformerEncoderOutput(IReadOnlyList<Tensor> hidden_states, IReadOnlyList<Tensor?>? attentions) : IDisposable
{
    /// <summary>The last stage's output [B, C4, H/32, W/32].</summary>
    public Tensor last_hidden_state => hidden_states[^1];

    public void Dispose()
    {
        foreach (var t in hidden_states) t.Dispose();
        if (attentions is not null) foreach (var a in attentions) a?.Dispose();
    }
}

/// <summary>
/// The Mix Transformer (MiT) encoder: for each stage a patch embedding (<c>patch_embeddings.i</c>), its layers
/// (<c>block.i.j</c>) and a closing LayerNorm (<c>layer_norm.i</c>, absent in the BoostFormer reference; in the Next-ViT
/// hybrid, <see cref="NextvitHybrid"/>, applied after each transformer layer instead). Drop-path probabilities grow
/// linearly from 0 to <c>drop_path_rate</c> over all layers.
/// </summary>
public sealed class SegformerEncoder : nn.Module
{
    public readonly ModuleList<SegformerPatchEmbeddingsBase> patch_embeddings;
    public readonly ModuleList<ModuleList<SegformerEncoderLayerBase>> block;
    public readonly ModuleList<LayerNorm>? layer_norm;
    public readonly SegformerConfig config;
    // The ResNet-18 of encoder_type "resnet18" (held in an array so it is not registered as a child: its own children are
    // registered directly under the encoder, giving torchvision's keys segformer.encoder.conv1, …layer4.1.bn2).
    private readonly ResNet18Backbone[] _resnet = Array.Empty<ResNet18Backbone>();

    /// <summary>The ResNet-18 backbone when <see cref="SegformerConfig.encoder_type"/> is <c>resnet18</c>, else null.</summary>
    public ResNet18Backbone? Resnet => _resnet.Length > 0 ? _resnet[0] : null;

    public SegformerEncoder(SegformerConfig config) : base(nameof(SegformerEncoder))
    {
        this.config = config.Validate();
        if (config.encoder_type == ZooModule.EncoderResnet18)
        {
            patch_embeddings = new ModuleList<SegformerPatchEmbeddingsBase>();
            block = new ModuleList<ModuleList<SegformerEncoderLayerBase>>();
            _resnet = new[] { new ResNet18Backbone(config.num_channels, config.resnet_dilated) };
            foreach (var (name, child) in _resnet[0].named_children()) register_module(name, child);
            return;
        }
        var total = config.depths.Sum();
        var dpr = Enumerable.Range(0, total).Select(i => total > 1 ? config.drop_path_rate * i / (total - 1) : 0.0).ToArray();
        patch_embeddings = new ModuleList<SegformerPatchEmbeddingsBase>();
        block = new ModuleList<ModuleList<SegformerEncoderLayerBase>>();
        if (config.encoder_layer_norm) layer_norm = new ModuleList<LayerNorm>();
        var cur = 0;
        for (int i = 0; i < config.num_encoder_blocks; i++)
        {
            patch_embeddings.append(SegformerModules.PatchEmbeddings(config, i));
            var layers = new ModuleList<SegformerEncoderLayerBase>();
            for (int j = 0; j < config.depths[i]; j++) layers.append(SegformerModules.EncoderLayer(config, i, dpr[cur + j], j));
            block.append(layers);
            cur += config.depths[i];
            layer_norm?.append(nn.LayerNorm(config.hidden_sizes[i], config.layer_norm_eps));
        }
        RegisterComponents();
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) foreach (var r in _resnet) r.Dispose();
    }

    /// <summary>Runs the four stages on <paramref name="pixel_values"/> [B, 3, H, W].</summary>
    public SegformerEncoderOutput forward(Tensor pixel_values, bool output_attentions = false)
    {
        if (pixel_values.dim() != 4 || pixel_values.size(1) != config.num_channels)
            throw new ArgumentException($"pixel_values must be [B, {config.num_channels}, H, W], got [{string.Join(", ", pixel_values.shape)}]", nameof(pixel_values));
        if (Resnet is { } resnet) return new SegformerEncoderOutput(resnet.call(pixel_values), output_attentions ? new List<Tensor?>() : null);
        using var scope = NewDisposeScope();
        var hidden = new List<Tensor>();
        var attentions = output_attentions ? new List<Tensor?>() : null;
        var x = pixel_values;
        var hybrid = config.encoder_type == ZooModule.EncoderNextvitHybrid;
        for (int i = 0; i < config.num_encoder_blocks; i++)
        {
            var (seq, h, w) = patch_embeddings[i].call(x);
            foreach (var layer in block[i])
            {
                var (next, probs) = layer.call(seq, h, w, output_attentions);
                seq.Dispose();
                seq = next;
                if (attentions is not null) attentions.Add(probs);
                if (hybrid && layer is not NextvitConvBlock && layer_norm is not null)
                {
                    // the Next-ViT hybrid: the stage's LayerNorm after each transformer layer, none after NCBs
                    var ln = layer_norm[i].call(seq);
                    seq.Dispose();
                    seq = ln;
                }
            }
            if (layer_norm is not null && !hybrid)
            {
                var n = layer_norm[i].call(seq);
                seq.Dispose();
                seq = n;
            }
            x = SegformerLayout.ToNCHW(seq, h, w);
            seq.Dispose();
            hidden.Add(x);
        }
        foreach (var t in hidden) t.MoveToOuterDisposeScope();
        if (attentions is not null) foreach (var a in attentions) a?.MoveToOuterDisposeScope();
        return new SegformerEncoderOutput(hidden, attentions);
    }
}

/// <summary>The bare encoder model (<c>segformer</c> in the task models), holding <c>encoder</c>.</summary>
public sealed class SegformerModel : nn.Module
{
    public readonly SegformerEncoder encoder;
    public readonly SegformerConfig config;

    public SegformerModel(SegformerConfig config) : base(nameof(SegformerModel))
    {
        this.config = config;
        encoder = new SegformerEncoder(config);
        RegisterComponents();
    }

    public SegformerEncoderOutput forward(Tensor pixel_values, bool output_attentions = false) => encoder.forward(pixel_values, output_attentions);
}
