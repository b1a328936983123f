using BoostFormer.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Models;

public class SegformerModelTests
{
    [Theory]
    [InlineData("segformer-b0", 3_752_694L)]
    [InlineData("segformer-b1", 13_715_798L)]
    [InlineData("segformer-b2", 27_461_974L)]
    [InlineData("segformer-b3", 47_337_814L)]
    [InlineData("segformer-b4", 64_108_374L)]
    [InlineData("segformer-b5", 84_708_694L)]
    [InlineData("boostformer-b2", 17_576_602L)]
    public void Parameter_counts_match_the_published_models(string name, long expected)
    {
        using var model = SegformerForSemanticSegmentation.FromName(name, 150);
        model.parameter_count().Should().Be(expected);
    }

    [Fact]
    public void Boostformer_b0_has_the_fixture_count_minus_the_unused_fuse_conv()
    {
        // The reference defines decode_head.linear_fuse (256 x 1024 x 1 x 1 = 262,144) but never uses it; we do not create it.
        var fixture = TestPaths_Boost();
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(fixture, "config.json")))!;
        var fixtureCount = json["parameter_count"]!.GetValue<long>();
        using var model = SegformerForSemanticSegmentation.FromName("boostformer-b0", 150);
        model.parameter_count().Should().Be(fixtureCount - 256L * 1024);
    }

    private static string TestPaths_Boost() => BoostFormer.Tests.TestPaths.ParityFixtures().First(d => Path.GetFileName(d).StartsWith("boostformer-b0"));

    [Fact]
    public void State_dict_keys_are_hugging_face_keys()
    {
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0");
        var keys = model.state_dict().Keys.ToHashSet();
        keys.Should().Contain(new[]
        {
            "segformer.encoder.patch_embeddings.0.proj.weight", "segformer.encoder.patch_embeddings.3.layer_norm.bias",
            "segformer.encoder.block.0.0.attention.self.sr.weight", "segformer.encoder.block.0.0.attention.self.layer_norm.weight",
            "segformer.encoder.block.0.1.attention.output.dense.weight", "segformer.encoder.block.1.1.mlp.dwconv.dwconv.weight",
            "segformer.encoder.block.3.1.mlp.dense2.bias", "segformer.encoder.layer_norm.3.weight",
            "decode_head.linear_c.2.proj.weight", "decode_head.linear_fuse.weight", "decode_head.batch_norm.running_var",
            "decode_head.batch_norm.num_batches_tracked", "decode_head.classifier.bias",
        });
        keys.Should().NotContain("segformer.encoder.block.3.0.attention.self.sr.weight"); // R = 1 in the last stage
        keys.Should().NotContain("decode_head.linear_fuse.bias");
    }

    [Fact]
    public void State_dict_keys_equal_the_segformer_fixture_keys()
    {
        var dir = BoostFormer.Tests.TestPaths.ParityFixtures().First(d => Path.GetFileName(d).StartsWith("segformer-b0"));
        var (entries, _, _) = BoostFormer.IO.Safetensors.ReadHeader(Path.Combine(dir, "weights.safetensors"));
        using var model = new SegformerForSemanticSegmentation(SegformerConfig.FromJson(Path.Combine(dir, "config.json")));
        model.state_dict().Keys.Should().BeEquivalentTo(entries.Select(e => e.Name));
    }

    [Fact]
    public void State_dict_keys_equal_the_boostformer_fixture_keys_except_the_unused_fuse_conv()
    {
        var dir = TestPaths_Boost();
        var (entries, _, _) = BoostFormer.IO.Safetensors.ReadHeader(Path.Combine(dir, "weights.safetensors"));
        using var model = new SegformerForSemanticSegmentation(SegformerConfig.FromJson(Path.Combine(dir, "config.json")));
        model.state_dict().Keys.Should().BeEquivalentTo(entries.Select(e => e.Name).Where(n => n != "decode_head.linear_fuse.weight"));
    }

    [Fact]
    public void Forward_gives_quarter_resolution_logits_hidden_states_and_attentions()
    {
        manual_seed(1);
        using var scope = NewDisposeScope();
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0", 19);
        model.eval();
        var x = randn(2, 3, 64, 96);
        using var _ = no_grad();
        var logits = model.call(x);
        logits.shape.Should().Equal(2, 19, 16, 24);
        using var o = model.forward(x, null, output_hidden_states: true, output_attentions: true);
        o.hidden_states!.Select(h => h.shape).Should().BeEquivalentTo(new[]
        {
            new long[] { 2, 32, 16, 24 }, new long[] { 2, 64, 8, 12 }, new long[] { 2, 160, 4, 6 }, new long[] { 2, 256, 2, 3 },
        }, opts => opts.WithStrictOrdering());
        o.attentions!.Count.Should().Be(8);
        // Stage 1: 16x24 = 384 queries over (16/8)x(24/8) = 6 reduced keys; one head.
        o.attentions[0]!.shape.Should().Equal(2, 1, 384, 6);
        o.attentions[7]!.shape.Should().Equal(2, 8, 6, 6);
        using var rowSums = o.attentions[3]!.sum(-1);
        (rowSums - 1).abs().max().item<float>().Should().BeLessThan(1e-5f);
        // output_attentions takes the explicit attention path (the plain call uses scaled_dot_product_attention): same
        // function, float rounding apart
        (o.logits - logits).abs().max().item<float>().Should().BeLessThan(1e-5f);
        var up = SegformerForSemanticSegmentation.upsample_logits(o.logits, 64, 96);
        up.shape.Should().Equal(2, 19, 64, 96);
        SegformerForSemanticSegmentation.predict_classes(o.logits, 64, 96).shape.Should().Equal(2, 64, 96);
    }

    [Fact]
    public void Loss_ignores_255_and_matches_upsampled_cross_entropy()
    {
        manual_seed(2);
        using var scope = NewDisposeScope();
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0", 5);
        model.eval();
        var x = randn(1, 3, 64, 64);
        var labels = randint(0, 5, new long[] { 1, 64, 64 });
        labels[0, 0] = tensor(255L);
        using var o = model.forward(x, labels);
        var manual = nn.functional.cross_entropy(SegformerForSemanticSegmentation.upsample_logits(o.logits, 64, 64), labels, ignore_index: 255);
        o.loss!.item<float>().Should().BeApproximately(manual.item<float>(), 1e-6f);
    }


    [Fact]
    public void Hugging_face_initialisation()
    {
        manual_seed(3);
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0");
        using var scope = NewDisposeScope();
        var sd = model.state_dict();
        sd["segformer.encoder.block.2.0.attention.self.query.weight"].std().item<float>().Should().BeApproximately(0.02f, 0.002f);
        sd["segformer.encoder.block.2.0.attention.self.query.bias"].abs().max().item<float>().Should().Be(0);
        sd["segformer.encoder.layer_norm.1.weight"].min().item<float>().Should().Be(1);
    }

    [Fact]
    public void Drop_path_decays_linearly_to_the_rate()
    {
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b2");
        var probs = model.segformer.encoder.block.SelectMany(stage => stage).Cast<SegformerLayer>().Select(l => l.drop_path.drop_prob).ToList();
        probs.Should().HaveCount(16);
        probs[0].Should().Be(0);
        probs[^1].Should().BeApproximately(0.1, 1e-12);
        for (int i = 1; i < probs.Count; i++) (probs[i] - probs[i - 1]).Should().BeApproximately(0.1 / 15, 1e-12);
    }

    [Fact]
    public void Drop_path_is_identity_in_eval_and_stochastic_per_sample_in_training()
    {
        using var scope = NewDisposeScope();
        using var dp = new SegformerDropPath(0.5);
        var x = ones(64, 4, 3);
        dp.eval();
        dp.call(x).allclose(x, rtol: 0, atol: 0).Should().BeTrue();
        dp.train();
        manual_seed(0);
        var y = dp.call(x);
        var perSample = y.sum(new long[] { 1, 2 }).ToArray<float>();
        perSample.Should().OnlyContain(v => v == 0 || Math.Abs(v - 24) < 1e-4);
        perSample.Should().Contain(0f).And.Contain(v => v > 0);
    }

    [Fact]
    public void Layer_norm_eps_is_configurable()
    {
        using var hf = SegformerForSemanticSegmentation.FromName("segformer-b0");
        hf.segformer.encoder.layer_norm![0].eps.Should().Be(1e-5);
        using var nv = new SegformerForSemanticSegmentation(SegformerConfig.FromName("segformer-b0") with { layer_norm_eps = 1e-6 });
        nv.segformer.encoder.layer_norm![0].eps.Should().Be(1e-6);
        ((SegformerLayer)nv.segformer.encoder.block[1][0]).layer_norm_1.eps.Should().Be(1e-6);
    }

    [Fact]
    public void Classification_head_pools_the_last_stage()
    {
        manual_seed(4);
        using var scope = NewDisposeScope();
        using var model = new SegformerForImageClassification(SegformerConfig.FromName("mit-b0", 200));
        model.eval();
        var x = randn(3, 3, 64, 64);
        using var _ = no_grad();
        var logits = model.call(x);
        logits.shape.Should().Equal(3, 200);
        using var enc = model.segformer.forward(x);
        var manual = model.classifier.call(enc.last_hidden_state.mean(new long[] { 2, 3 }));
        (manual - logits).abs().max().item<float>().Should().BeLessThan(1e-6f);
        model.state_dict().Keys.Should().Contain("classifier.weight").And.Contain("segformer.encoder.block.0.0.attention.self.query.weight");
    }

    [Fact]
    public void Forward_inside_a_dispose_scope_leaks_no_tensors()
    {
        manual_seed(5);
        foreach (var name in new[] { "segformer-b0", "boostformer-b0" })
        {
            using var model = SegformerForSemanticSegmentation.FromName(name, 7);
            model.eval();
            using var outer = NewDisposeScope();
            var x = randn(1, 3, 64, 64);
            var before = outer.DisposablesCount;
            using (var inner = NewDisposeScope())
            {
                using var o = model.forward(x, null, output_hidden_states: true, output_attentions: true);
                var l = model.call(x);
            }
            outer.DisposablesCount.Should().Be(before, name);
            // Training-mode forward + backward inside a scope leaves nothing in the outer scope either.
            model.train();
            using (var inner = NewDisposeScope())
            {
                var labels = randint(0, 7, new long[] { 1, 64, 64 });
                using var o = model.forward(x, labels);
                o.loss!.backward();
            }
            outer.DisposablesCount.Should().Be(before, name);
            model.zero_grad();
        }
    }

    [Fact]
    public void Config_validation_names_the_problem()
    {
        var act = () => new SegformerForSemanticSegmentation(SegformerConfig.FromName("segformer-b0") with { num_attention_heads = new[] { 1, 2, 3, 8 } });
        act.Should().Throw<ArgumentException>().WithMessage("*160*multiple*3*");
        var bad = () => SegformerConfig.FromName("segformer-b9");
        bad.Should().Throw<ArgumentException>().WithMessage("*segformer-b9*known*");
    }

    [Fact]
    public void From_name_understands_hub_names()
    {
        SegformerConfig.FromName("nvidia/segformer-b2-finetuned-ade-512-512").depths.Should().Equal(3, 4, 6, 3);
        SegformerConfig.FromName("boostformer-b2").IsBoostFormer.Should().BeTrue();
        SegformerConfig.FromName("nvidia/mit-b5").decoder_hidden_size.Should().Be(768);
    }
}

// libtorch's generator is global: tests that need two identical random sequences must not run beside other tests.
[Collection(GlobalRngCollection.Name)]
public class SegformerDeterminismTests
{
    [Fact]
    public void Same_seed_builds_the_same_model()
    {
        manual_seed(42);
        using var a = SegformerForSemanticSegmentation.FromName("segformer-b0");
        manual_seed(42);
        using var b = SegformerForSemanticSegmentation.FromName("segformer-b0");
        using var scope = NewDisposeScope();
        foreach (var (k, t) in a.state_dict())
            t.allclose(b.state_dict()[k], rtol: 0, atol: 0).Should().BeTrue(k);
    }
}

public class SegformerConfigTests
{
    [Fact]
    public void Json_round_trip_keeps_every_field()
    {
        var dir = Directory.CreateTempSubdirectory("bf-cfg-").FullName;
        try
        {
            var c = SegformerConfig.FromName("boostformer-b3", 19) with { drop_path_rate = 0.2, kv_pool_size = 5, layer_norm_eps = 1e-6 };
            c.Save(Path.Combine(dir, "config.json"));
            SegformerConfig.FromJson(Path.Combine(dir, "config.json")).Should().BeEquivalentTo(c);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Hugging_face_config_keeps_the_eps_its_modules_actually_use()
    {
        var dir = Directory.CreateTempSubdirectory("bf-cfg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), """
            {"model_type": "segformer", "hidden_sizes": [64, 128, 320, 512], "depths": [3, 4, 6, 3], "decoder_hidden_size": 768,
             "layer_norm_eps": 1e-06, "id2label": {"0": "a", "1": "b", "2": "c"}}
            """);
            var c = SegformerConfig.FromJson(Path.Combine(dir, "config.json"));
            c.layer_norm_eps.Should().Be(1e-5);
            c.num_labels.Should().Be(3);
            c.depths.Should().Equal(3, 4, 6, 3);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Bad_json_names_the_file()
    {
        var dir = Directory.CreateTempSubdirectory("bf-cfg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), "{\"depths\": [1, 2]}");
            var act = () => SegformerConfig.FromJson(Path.Combine(dir, "config.json"));
            act.Should().Throw<InvalidDataException>().WithMessage("*config.json*depths*4*");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void From_checkpoint_folder_builds_and_loads_the_fixture_model()
    {
        var dir = BoostFormer.Tests.TestPaths.ParityFixtures().First(d => Path.GetFileName(d).StartsWith("boostformer-b0"));
        var (model, report) = SegformerForSemanticSegmentation.FromCheckpoint(dir);
        using (model)
        {
            model.config.IsBoostFormer.Should().BeTrue();
            model.training.Should().BeFalse();
            report.ignored.Should().Equal("decode_head.linear_fuse.weight");
        }
    }
}
