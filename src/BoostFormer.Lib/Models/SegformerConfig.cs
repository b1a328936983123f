using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace BoostFormer.Models;

/// <summary>
/// Configuration of a SegFormer (Mix Transformer encoder + all-MLP decoder) with the field names of Hugging Face's
/// <c>SegformerConfig</c>, plus the BoostFormer ablation switches. Defaults are SegFormer-B0 for ADE20K (150 classes); every
/// switch off is the published SegFormer, every switch on (and <see cref="encoder_layer_norm"/> off) is the BoostFormer
/// reference. Build one with <see cref="FromName"/> (<c>segformer-b0..b5</c>, <c>boostformer-b0..b5</c>, <c>mit-b0..b5</c>)
/// or <see cref="FromJson"/>, and derive ablations with <c>with { mix_cfn = true }</c>.
/// </summary>
public sealed record SegformerConfig
{
    /// <summary>Input channels (3 for RGB).</summary>
    public int num_channels { get; init; } = 3;
    /// <summary>Number of encoder stages (4).</summary>
    public int num_encoder_blocks { get; init; } = 4;
    /// <summary>Layers per stage.</summary>
    public int[] depths { get; init; } = { 2, 2, 2, 2 };
    /// <summary>Sequence-reduction ratio R of the efficient self-attention per stage (reduction conv with kernel = stride = R).</summary>
    public int[] sr_ratios { get; init; } = { 8, 4, 2, 1 };
    /// <summary>Channel width per stage.</summary>
    public int[] hidden_sizes { get; init; } = { 32, 64, 160, 256 };
    /// <summary>Kernel size of each stage's overlapping patch embedding (padding = k // 2).</summary>
    public int[] patch_sizes { get; init; } = { 7, 3, 3, 3 };
    /// <summary>Stride of each stage's patch embedding.</summary>
    public int[] strides { get; init; } = { 4, 2, 2, 2 };
    /// <summary>Attention heads per stage.</summary>
    public int[] num_attention_heads { get; init; } = { 1, 2, 5, 8 };
    /// <summary>Mix-FFN expansion ratio per stage.</summary>
    public int[] mlp_ratios { get; init; } = { 4, 4, 4, 4 };
    /// <summary>Activation of the Mix-FFN (only "gelu" is supported, as in every released checkpoint).</summary>
    public string hidden_act { get; init; } = "gelu";
    /// <summary>Dropout after the attention output projection and the Mix-FFN.</summary>
    public double hidden_dropout_prob { get; init; }
    /// <summary>Dropout on the attention probabilities.</summary>
    public double attention_probs_dropout_prob { get; init; }
    /// <summary>Dropout before the decoder's classifier.</summary>
    public double classifier_dropout_prob { get; init; } = 0.1;
    /// <summary>Stochastic depth: drop-path probability of the last layer (linear decay from 0 over all layers).</summary>
    public double drop_path_rate { get; init; } = 0.1;
    /// <summary>Std of the normal initialisation of linear and conv weights.</summary>
    public double initializer_range { get; init; } = 0.02;
    /// <summary>LayerNorm epsilon: 1e-5 as in Hugging Face (PyTorch's default); 1e-6 as in the original NVlabs code.</summary>
    public double layer_norm_eps { get; init; } = 1e-5;
    /// <summary>BatchNorm epsilon.</summary>
    public double batch_norm_eps { get; init; } = 1e-5;
    /// <summary>Width of the all-MLP decoder (256 for B0/B1, 768 for B2–B5).</summary>
    public int decoder_hidden_size { get; init; } = 256;
    /// <summary>Number of classes (150 for ADE20K).</summary>
    public int num_labels { get; init; } = 150;
    /// <summary>Label value ignored by the loss.</summary>
    public long semantic_loss_ignore_index { get; init; } = 255;

    // ------------------------------------------------------------------ BoostFormer switches
    /// <summary>(a) Pooling patch embedding: average pooling (patch kernel/stride/padding, count_include_pad=false), 1x1 conv, LayerNorm.</summary>
    public bool pooling_patch_embedding { get; init; }
    /// <summary>(b) PoolFormer token-mixer layers (BatchNorm norms, layer scale) in the stages of <see cref="poolformer_stages"/>.</summary>
    public bool poolformer_blocks { get; init; }
    /// <summary>Stages that become PoolFormer layers when <see cref="poolformer_blocks"/> is on (0-based; the reference: stages 1–2 = 0, 1).</summary>
    public int[] poolformer_stages { get; init; } = { 0, 1 };
    /// <summary>Initial value of the PoolFormer layer scales.</summary>
    public double layer_scale_init_value { get; init; } = 1e-5;
    /// <summary>(c) Pooled key/value attention in the stages of <see cref="pooled_kv_stages"/>: keys and values from the input
    /// adaptively average-pooled to <see cref="kv_pool_size"/>², then LayerNorm and GELU (instead of the reduction conv).</summary>
    public bool pooled_kv_attention { get; init; }
    /// <summary>Stages with pooled key/value attention when <see cref="pooled_kv_attention"/> is on (the reference: stages 3–4 = 2, 3).</summary>
    public int[] pooled_kv_stages { get; init; } = { 2, 3 };
    /// <summary>Output size of the key/value adaptive pooling.</summary>
    public int kv_pool_size { get; init; } = 7;
    /// <summary>(d) No attention output projection (SelfOutput), with the reference layer order
    /// <c>x = x + attn(x); x = layer_norm_2(x + mlp(layer_norm_1(x)))</c>.</summary>
    public bool remove_self_output { get; init; }
    /// <summary>(e) Mix-CFN: 1x1 conv, BatchNorm, half the channels through a 3x3 and half through a 5x5 depthwise conv,
    /// concatenated, BatchNorm, GELU, 1x1 conv.</summary>
    public bool mix_cfn { get; init; }
    /// <summary>(f) Weighted-sum decoder: per-stage learned scalars weight the upsampled stage features, which are summed
    /// (no concatenation, no fuse conv).</summary>
    public bool weighted_sum_decoder { get; init; }
    /// <summary>A LayerNorm closing each encoder stage (SegFormer has one; the BoostFormer reference has none).</summary>
    public bool encoder_layer_norm { get; init; } = true;

    // ------------------------------------------------------------------ other published modules (the model zoo)
    /// <summary>
    /// The token mixer of attention layers (<c>attention.self</c>): <c>efficient</c> (SegFormer's efficient
    /// self-attention), <c>lsra</c> (PVTv2 linear spatial-reduction attention: keys/values from a 7×7 adaptive pool,
    /// 1x1 conv, LayerNorm, GELU, one fused <c>kv</c> projection), <c>dest</c> (DEST simplified attention: max over
    /// keys, no value projection), <c>msca</c> (SegNeXt multi-scale convolutional attention), <c>shen_efficient</c> (Efficient
    /// Attention of Shen et al.: softmax-normalised keys and queries, a global d_k×d_v context, linear in N), <c>xca</c> (the
    /// whole layer becomes an XCiT block: cross-covariance attention, LPI, layer scales) and <c>irmb</c> (the whole layer
    /// becomes EMO's inverted residual mobile block, window attention in stages 3–4) and <c>swin</c> (Swin's window
    /// attention, shifted in the odd layers, with its own projection in place of the output projection). See <see cref="ZooModule"/>.
    /// </summary>
    public string attention_type { get; init; } = ZooModule.AttentionEfficient;
    /// <summary>The attention output projection (<c>attention.output.dense</c>, SegFormer's SelfOutput) after the token
    /// mixer. The NOTA team's final model has none (with SegFormer's residual order, unlike BoostFormer's switch d).</summary>
    public bool attention_output { get; init; } = true;
    /// <summary>The channel mixer (<c>mlp</c>): <c>mix_ffn</c> (SegFormer) or <c>dest_mix_ffn</c> (DEST's: 1x1 conv, BatchNorm,
    /// 3x3 depthwise conv, BatchNorm, ReLU, 1x1 conv).</summary>
    public string mlp_type { get; init; } = ZooModule.MlpMixFfn;
    /// <summary>The decoder: <c>all_mlp</c> (SegFormer; or the weighted sum with switch f), <c>ham</c> (the NOTA team's
    /// HamDecoder: stages 2–4 at 1/8, 1x1 squeeze + ReLU, parameter-free HamBurger, classifier) or <c>light_ham</c>
    /// (SegNeXt's LightHamHead), <c>lawin</c> (the Lawin Transformer's ASPP decoder with window attention on
    /// multi-scale contexts, width <see cref="decoder_hidden_size"/>, stages 2–4 projected to <see cref="lawin_embed_dim"/>),
    /// or the CNN heads <c>deeplabv3plus</c>, <c>psp</c>, <c>unet</c>.</summary>
    public string decoder_type { get; init; } = ZooModule.DecoderAllMlp;
    /// <summary>The encoder family: <c>mit</c> (Mix Transformer, the layers chosen by the other fields), <c>mscan</c>
    /// (SegNeXt's MSCAN: conv stem, BatchNorm blocks with MSCA and layer scales), <c>resnet18</c>, or <c>nextvit_hybrid</c>
    /// (the NOTA team's Next-ViT-style stages: NextPatchEmbed, NCBs, a transformer layer of the other fields last —
    /// <see cref="NextvitHybrid"/>).</summary>
    public string encoder_type { get; init; } = ZooModule.EncoderMit;
    /// <summary>With the ResNet-18 encoder: layer3 and layer4 keep stride 1 with dilations 2 and 4 (output stride 8, mmseg's "D8").</summary>
    public bool resnet_dilated { get; init; }
    /// <summary>Rank R of the HamBurger's NMF (MD_R): 64 in the team's decoder, 16 in SegNeXt-T.</summary>
    public int ham_rank { get; init; } = 64;
    /// <summary>Multiplicative-update steps of the NMF in training (6).</summary>
    public int ham_train_steps { get; init; } = 6;
    /// <summary>Multiplicative-update steps of the NMF at inference (6 in the team's decoder, 7 in SegNeXt).</summary>
    public int ham_eval_steps { get; init; } = 6;
    /// <summary>Width of the LightHamHead's Hamburger (<c>ham_channels</c>; its output width is <see cref="decoder_hidden_size"/>).</summary>
    public int ham_channels { get; init; } = 256;
    /// <summary>Key (and query) channels d_k of Efficient Attention (<c>attention_type</c> <c>shen_efficient</c>; the NOTA team's 64).</summary>
    public int ea_key_channels { get; init; } = 64;
    /// <summary>Value channels d_v of Efficient Attention (the NOTA team's 32).</summary>
    public int ea_value_channels { get; init; } = 32;
    /// <summary>XCiT layers (<c>attention_type</c> <c>xca</c>) with the local patch interaction (LPI) branch; off = XCA only, as the CV-16 team's <c>SegformerXCA</c>.</summary>
    public bool xca_lpi { get; init; } = true;
    /// <summary>Initial value of the XCiT layer scales γ (<c>eta</c>: 1.0 for XCiT's 12-layer models, 1e-5 for its 24-layer ones).</summary>
    public double xca_layer_scale_init { get; init; } = 1.0;
    /// <summary>Window side M of the iRMB window attention in stages 3–4 (<c>attention_type</c> <c>irmb</c>; EMO's 7).</summary>
    public int irmb_window_size { get; init; } = 7;
    /// <summary>Width E the Lawin decoder (<c>decoder_type</c> <c>lawin</c>) projects stages 2–4 to before fusing them (the
    /// reference's <c>embed_dim</c>: 768 in its code, 512 as the NOTA team meant to use it).</summary>
    public int lawin_embed_dim { get; init; } = 512;
    /// <summary>Window side M of Swin's window attention (<c>attention_type</c> <c>swin</c>; 7, the odd layers of a stage shifted by M/2).</summary>
    public int swin_window_size { get; init; } = 7;

    /// <summary>True when the encoder is built of the Mix Transformer's attention/PoolFormer layers (not MSCAN).</summary>
    [JsonIgnore]
    public bool IsMitEncoder => encoder_type == ZooModule.EncoderMit;

    /// <summary>True when stage <paramref name="stage"/> is built of PoolFormer layers.</summary>
    public bool IsPoolFormerStage(int stage) => poolformer_blocks && poolformer_stages.Contains(stage);
    /// <summary>True when stage <paramref name="stage"/> uses pooled key/value attention.</summary>
    public bool IsPooledKvStage(int stage) => pooled_kv_attention && pooled_kv_stages.Contains(stage);

    /// <summary>True when every BoostFormer switch is on (<see cref="BoostformerSwitch.All"/>).</summary>
    [JsonIgnore]
    public bool IsBoostFormer => BoostformerSwitch.All.All(s => s.IsOn(this));

    /// <summary>Checks the numbers are consistent; throws <see cref="ArgumentException"/> naming the field.</summary>
    public SegformerConfig Validate()
    {
        void Len(int[] a, string name)
        {
            if (a is null || a.Length != num_encoder_blocks)
                throw new ArgumentException($"SegformerConfig.{name} must have {num_encoder_blocks} entries (num_encoder_blocks), got {(a is null ? "null" : a.Length.ToString(CultureInfo.InvariantCulture))}");
        }
        Len(depths, nameof(depths)); Len(sr_ratios, nameof(sr_ratios)); Len(hidden_sizes, nameof(hidden_sizes));
        Len(patch_sizes, nameof(patch_sizes)); Len(strides, nameof(strides)); Len(num_attention_heads, nameof(num_attention_heads));
        Len(mlp_ratios, nameof(mlp_ratios));
        for (int i = 0; i < num_encoder_blocks; i++)
        {
            if (hidden_sizes[i] <= 0 || depths[i] < 0 || strides[i] <= 0 || patch_sizes[i] <= 0 || sr_ratios[i] <= 0 || mlp_ratios[i] <= 0 || num_attention_heads[i] <= 0)
                throw new ArgumentException($"SegformerConfig: stage {i} has a non-positive size (hidden {hidden_sizes[i]}, depth {depths[i]}, stride {strides[i]}, patch {patch_sizes[i]}, sr {sr_ratios[i]}, mlp {mlp_ratios[i]}, heads {num_attention_heads[i]})");
            if (hidden_sizes[i] % num_attention_heads[i] != 0)
                throw new ArgumentException($"SegformerConfig: hidden size {hidden_sizes[i]} of stage {i} is not a multiple of the number of attention heads ({num_attention_heads[i]})");
            if (mix_cfn && hidden_sizes[i] * mlp_ratios[i] % 2 != 0)
                throw new ArgumentException($"SegformerConfig: Mix-CFN splits channels in half, but stage {i} has {hidden_sizes[i] * mlp_ratios[i]} hidden channels");
        }
        if (pooled_kv_attention && kv_pool_size <= 0) throw new ArgumentException($"SegformerConfig.kv_pool_size must be positive with pooled_kv_attention, got {kv_pool_size}");
        if (num_labels <= 0) throw new ArgumentException($"SegformerConfig.num_labels must be positive, got {num_labels}");
        if (decoder_hidden_size <= 0) throw new ArgumentException($"SegformerConfig.decoder_hidden_size must be positive, got {decoder_hidden_size}");
        ZooModule.ValidateChoices(this);
        if (ham_rank <= 0 || ham_train_steps < 0 || ham_eval_steps < 0 || ham_channels <= 0)
            throw new ArgumentException($"SegformerConfig: ham_rank ({ham_rank}) and ham_channels ({ham_channels}) must be positive and the NMF step counts ({ham_train_steps}, {ham_eval_steps}) non-negative");
        if (hidden_act != "gelu") throw new ArgumentException($"SegformerConfig.hidden_act '{hidden_act}' is not supported (only 'gelu')");
        if (drop_path_rate is < 0 or >= 1) throw new ArgumentException($"SegformerConfig.drop_path_rate must be in [0, 1), got {drop_path_rate}");
        return this;
    }

    /// <summary>The SegFormer sizes B0–B5 of the paper (Table 6 / Hugging Face's nvidia/mit-b*).</summary>
    public static SegformerConfig ForVariant(int b, int numLabels = 150)
    {
        var wide = new[] { 64, 128, 320, 512 };
        var c = b switch
        {
            0 => new SegformerConfig { hidden_sizes = new[] { 32, 64, 160, 256 }, depths = new[] { 2, 2, 2, 2 }, decoder_hidden_size = 256 },
            1 => new SegformerConfig { hidden_sizes = wide, depths = new[] { 2, 2, 2, 2 }, decoder_hidden_size = 256 },
            2 => new SegformerConfig { hidden_sizes = wide, depths = new[] { 3, 4, 6, 3 }, decoder_hidden_size = 768 },
            3 => new SegformerConfig { hidden_sizes = wide, depths = new[] { 3, 4, 18, 3 }, decoder_hidden_size = 768 },
            4 => new SegformerConfig { hidden_sizes = wide, depths = new[] { 3, 8, 27, 3 }, decoder_hidden_size = 768 },
            5 => new SegformerConfig { hidden_sizes = wide, depths = new[] { 3, 6, 40, 3 }, decoder_hidden_size = 768 },
            _ => throw new ArgumentOutOfRangeException(nameof(b), b, "SegFormer variants are B0–B5"),
        };
        return c with { num_labels = numLabels };
    }

    /// <summary>All BoostFormer switches on, on top of <paramref name="c"/>'s sizes.</summary>
    public static SegformerConfig WithAllBoostFormerSwitches(SegformerConfig c) => BoostformerSwitch.All.Aggregate(c, (acc, s) => s.Apply(acc));

    /// <summary>Names accepted by <see cref="FromName"/>.</summary>
    public static IReadOnlyList<string> KnownNames { get; } =
        Enumerable.Range(0, 6).SelectMany(i => new[] { $"segformer-b{i}", $"boostformer-b{i}", $"mit-b{i}" }).Concat(ZooModels.Names).ToArray();

    /// <summary>
    /// <c>segformer-b0..b5</c> (SegFormer), <c>boostformer-b0..b5</c> (all BoostFormer switches on with the SegFormer sizes),
    /// <c>mit-b0..b5</c> (same as segformer; the name of encoder-only checkpoints), and the other named models of
    /// <see cref="ZooModels"/> (<c>nota-final</c>, <c>segnext-t</c>). Case-insensitive; "nvidia/" prefixes and
    /// suffixes such as "-finetuned-ade-512-512" are ignored.
    /// </summary>
    public static SegformerConfig FromName(string name, int numLabels = 150)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var n = name.Trim().ToLowerInvariant();
        var slash = n.LastIndexOf('/');
        if (slash >= 0) n = n[(slash + 1)..];
        if (ZooModels.TryFromName(n, numLabels) is { } zoo) return zoo;
        foreach (var (prefix, boost) in new[] { ("segformer-b", false), ("boostformer-b", true), ("mit-b", false) })
        {
            if (!n.StartsWith(prefix, StringComparison.Ordinal) || n.Length <= prefix.Length) continue;
            var digit = n[prefix.Length];
            if (digit < '0' || digit > '5' || (n.Length > prefix.Length + 1 && n[prefix.Length + 1] != '-')) continue;
            var c = ForVariant(digit - '0', numLabels);
            return boost ? WithAllBoostFormerSwitches(c) : c;
        }
        throw new ArgumentException($"unknown model name '{name}'; known: {string.Join(", ", KnownNames)}", nameof(name));
    }

    /// <summary>
    /// Reads a Hugging Face <c>config.json</c>, a parity fixture's <c>config.json</c> or one written by <see cref="Save"/>.
    /// Missing fields keep their defaults; <c>"family": "boostformer"</c> turns every BoostFormer switch on; explicit switch
    /// fields override; <c>id2label</c> gives <c>num_labels</c> when that field is absent; fields we do not model
    /// (<c>architectures</c>, <c>model_type</c>, …) are ignored.
    /// </summary>
    public static SegformerConfig FromJson(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"config file not found: {path}", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        if (root is not JsonObject o) throw new InvalidDataException($"{path}: the config is not a JSON object");
        try { return FromJsonObject(o); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or JsonException)
        { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    // The property names are the JSON field names; fields of Hugging Face configs we do not model are skipped.
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <summary>See <see cref="FromJson"/>.</summary>
    public static SegformerConfig FromJsonObject(JsonObject o)
    {
        var isHfConfig = o["model_type"] is JsonValue mt && mt.TryGetValue<string>(out var type) && type == "segformer";
        var boost = o["family"] is JsonValue fam && fam.TryGetValue<string>(out var family) && family.Equals("boostformer", StringComparison.OrdinalIgnoreCase);
        // Start from the family's defaults, then lay the file's fields over them (null values keep the default).
        var merged = boost ? JsonSerializer.SerializeToNode(WithAllBoostFormerSwitches(new SegformerConfig()), JsonOptions)!.AsObject() : new JsonObject();
        foreach (var (key, value) in o)
        {
            if (value is null) continue;
            // Hugging Face's SegformerConfig carries layer_norm_eps = 1e-6 but its modules use nn.LayerNorm's default 1e-5, so
            // the field is only honoured in our own / fixture configs (no "model_type": "segformer").
            if (isHfConfig && key == nameof(layer_norm_eps)) continue;
            merged[key] = value.DeepClone();
        }
        if (!o.ContainsKey(nameof(num_labels)) && o["id2label"] is JsonObject id2) merged[nameof(num_labels)] = id2.Count;
        var c = merged.Deserialize<SegformerConfig>(JsonOptions) ?? throw new InvalidDataException("the config is null");
        return c.Validate();
    }

    /// <summary>
    /// The configuration as JSON (Hugging Face field names plus the switch fields, and <c>"family"</c> for readers);
    /// <see cref="FromJson"/> reads it back.
    /// </summary>
    public string ToJson() => ToJsonObject().ToJsonString(JsonOptions);

    /// <summary>The configuration as a JSON object (see <see cref="ToJson"/>).</summary>
    public JsonObject ToJsonObject()
    {
        var o = new JsonObject { ["family"] = IsBoostFormer ? "boostformer" : "segformer" };
        foreach (var (key, value) in JsonSerializer.SerializeToNode(this, JsonOptions)!.AsObject().ToList()) o[key] = value?.DeepClone();
        return o;
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> (temp file + rename).</summary>
    public void Save(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, ToJson());
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>A short description of the switches that are on (their <see cref="BoostformerSwitch.Tag"/>s), for tables and logs.</summary>
    public string SwitchSummary()
    {
        var on = BoostformerSwitch.All.Where(s => s.IsOn(this)).Select(s => s.Tag).Concat(ZooModule.All.Where(m => m.IsOn(this)).Select(m => m.Tag)).ToList();
        return on.Count == 0 ? "segformer" : string.Join("+", on);
    }
}
