using BoostFormer.Data;
using BoostFormer.Models;
using BoostFormer.Tests;
using BoostFormer.Training;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>
/// SegFormer-B0 (random init) overfits a handful of real CamVid training images at small size: after a bounded number
/// of steps the mIoU on those same images (evaluated at the labels' original 480x360 resolution) is high.
/// </summary>
[Collection(GlobalRngCollection.Name)]
public class CamVidOverfitTests
{
    [Fact]
    public void SegFormer_b0_overfits_four_camvid_images()
    {
        var data = new CamVidDataset(TestPaths.Data, "train").First(4);
        var pipeline = new SegPipeline(RandomResize.KeepRatio(128, 96)); // deterministic: every image 128x96
        var source = new DatasetBatchSource(data, pipeline, batchSize: 4, seed: 0, workers: 1);
        manual_seed(0);
        using var model = new SegformerForSemanticSegmentation(SegformerConfig.FromName("segformer-b0", 11) with { drop_path_rate = 0 });
        var options = new SegmentationTrainerOptions { Iterations = 120, LearningRate = 1e-3, HeadLrMultiplier = 1, WarmupIterations = 10, Seed = 0 };
        using var dir = new TempDir();
        using var store = RunStore.Open(Path.Combine(dir.Path, "runs.db"));
        var id = new SegmentationTrainer(new SegformerSegmentationModel(model), options)
            .Run(source, () => DatasetBatchSource.EvalSamples(data, pipeline), store);
        var miou = store.LastEvaluation(id)["miou"];
        var loss = store.Series(id, "train", "loss");
        miou.Should().BeGreaterThan(0.6, $"training mIoU after 120 steps (first loss {loss[0].value:F3}, last {loss[^1].value:F3})");
    }
}
