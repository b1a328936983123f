using System.Text.Json.Nodes;
using BoostFormer.Data;
using BoostFormer.Models;
using BoostFormer.Training;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Training.Evaluation;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>
/// The model configuration is the record of what was trained: jobs take a full config, runs and checkpoints store it, and
/// a checkpoint alone rebuilds its model — also from the short records written before (<c>{model, num_labels, drop_path_rate}</c>).
/// </summary>
[Collection(GlobalRngCollection.Name)]
public class ModelRecordTests
{
    private const string LegacyRecord = """{"model":"boostformer-b0","num_labels":11,"drop_path_rate":0.2}""";

    /// <summary>A small ablation variant no model name describes: SegFormer-B0 widths, one layer a stage, three switches on.</summary>
    private static SegformerConfig Variant() => SegformerConfig.FromName("segformer-b0") with
    {
        depths = new[] { 1, 1, 1, 1 }, mix_cfn = true, pooled_kv_attention = true, weighted_sum_decoder = true, kv_pool_size = 3,
    };

    [Fact]
    public void A_variant_trained_from_its_config_reloads_from_the_checkpoint_alone_with_the_same_parameter_count()
    {
        using var dir = new TempDir();
        var configPath = Path.Combine(dir.Path, "b0-variant.json");
        Variant().Save(configPath);
        var job = new SegmentationJob
        {
            Model = ModelSpec.FromFile(configPath), Dataset = "synthetic", Synthetic = new(64, 8, 5), CropSize = 64, Scale = (64, 64), BatchSize = 2,
            ValLimit = 1, Workers = 1, Database = Path.Combine(dir.Path, "runs.db"),
            Trainer = new SegmentationTrainerOptions { RunName = "variant", Iterations = 2, WarmupIterations = 1 },
        };
        var id = job.Run();

        var expected = Variant() with { num_labels = 5 };
        using var reference = new SegformerForSemanticSegmentation(expected);
        using var store = RunStore.Open(job.Database);
        ModelSpec.FromRecord(store.Run(id)!.ModelConfigJson)!.Config.ToJson().Should().Be(expected.ToJson(), "the run records the full configuration");
        var checkpoint = store.BestCheckpoint(id)!;
        using (var loaded = TrainedModels.Load(checkpoint))
        {
            loaded.Name.Should().Be("b0-variant", "the name of a config file without a \"model\" field is its file name");
            loaded.Model.config.ToJson().Should().Be(expected.ToJson());
            loaded.Model.parameter_count().Should().Be(reference.parameter_count());
        }
        CheckpointEvaluation.Evaluate(checkpoint, "synthetic", null, "val", limit: 1, syntheticSize: 64, scale: (64, 64)).Parameters
            .Should().Be(reference.parameter_count());
        using var named = SegformerForSemanticSegmentation.FromName("segformer-b0", 5);
        named.parameter_count().Should().NotBe(reference.parameter_count(), "the variant is not the named model");
    }

    [Fact]
    public void Records_written_before_the_full_config_rebuild_from_the_model_name()
    {
        var spec = ModelSpec.FromRecord(LegacyRecord)!;
        spec.Name.Should().Be("boostformer-b0");
        spec.Config.ToJson().Should().Be((SegformerConfig.FromName("boostformer-b0", 11) with { drop_path_rate = 0.2 }).ToJson());
        ModelSpec.SameRecord(LegacyRecord, spec.ToJson()).Should().BeTrue("the short and the full record describe the same model");
        ModelSpec.SameRecord(LegacyRecord, ModelSpec.FromName("boostformer-b0", 12).ToJson()).Should().BeFalse();
        ModelSpec.SameRecord("{}", "{}").Should().BeTrue();
        ModelSpec.FromRecord(null).Should().BeNull();
        ModelSpec.FromRecord("{}").Should().BeNull("a record without a model name is not a SegFormer");
        ModelSpec.FromRecord("not json").Should().BeNull();

        // A checkpoint file with the short record loads into the model its name describes.
        using var dir = new TempDir();
        manual_seed(0);
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0", 5);
        var path = new CheckpointManager(dir.Path).Save(new CheckpointInfo { Iteration = 1, ConfigJson = """{"model":"segformer-b0","num_labels":5,"drop_path_rate":0.1}""" },
            model.state_dict(), null);
        TrainedModels.Recorded(path)!.Name.Should().Be("segformer-b0");
        using var loaded = TrainedModels.Load(path);
        loaded.Model.config.num_labels.Should().Be(5);
        loaded.Model.parameter_count().Should().Be(model.parameter_count());
    }

    [Fact]
    public void The_record_is_the_config_json_with_the_model_name()
    {
        var spec = new ModelSpec("ablation-d", SegformerConfig.FromName("segformer-b2", 19) with { remove_self_output = true, drop_path_rate = 0.3 });
        var json = JsonNode.Parse(spec.ToJson())!.AsObject();
        json["model"]!.GetValue<string>().Should().Be("ablation-d");
        json["remove_self_output"]!.GetValue<bool>().Should().BeTrue();
        json["hidden_sizes"]!.AsArray().Select(x => x!.GetValue<int>()).Should().Equal(64, 128, 320, 512);
        json.ContainsKey("IsBoostFormer").Should().BeFalse();
        var back = ModelSpec.FromRecord(spec.ToJson())!;
        back.Name.Should().Be("ablation-d");
        back.Config.Should().BeEquivalentTo(spec.Config);
        ((ModelSpec)"boostformer-b1").Config.IsBoostFormer.Should().BeTrue();
    }

    [Fact]
    public void A_run_recorded_with_the_short_model_config_is_reused_by_the_same_model_recorded_in_full()
    {
        using var dir = new TempDir();
        var data = new SyntheticScenes(5, 4, 32, 4, 2);
        using var store = RunStore.Open(Path.Combine(dir.Path, "runs.db"));
        long Train(string modelConfig, out SegmentationTrainer trainer)
        {
            manual_seed(1);
            using var model = new TinySegNet(4);
            trainer = new SegmentationTrainer(model, new SegmentationTrainerOptions
            {
                RunName = "old", Iterations = 2, WarmupIterations = 1, OutputDirectory = dir.Path, FolderPerRun = true, ReuseFinished = true, ModelConfigJson = modelConfig,
            });
            return trainer.Run(data, null, store);
        }
        var first = Train(LegacyRecord, out _);
        Train(ModelSpec.FromRecord(LegacyRecord)!.ToJson(), out var again).Should().Be(first);
        again.ReusedRun!.Id.Should().Be(first);
        Train(ModelSpec.FromName("boostformer-b0", 11).ToJson(), out var other).Should().NotBe(first, "another drop path rate is another model");
        other.ReusedRun.Should().BeNull();
    }
}
