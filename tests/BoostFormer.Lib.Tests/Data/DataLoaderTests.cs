using BoostFormer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Data;

public class DataLoaderTests
{
    private sealed class FakeBatch : IDisposable
    {
        public required int[] Indices { get; init; }
        public required double[] Draws { get; init; }
        public bool Disposed;
        public static int Live;
        public void Dispose() { if (!Disposed) { Disposed = true; Interlocked.Decrement(ref Live); } }
    }

    private static FakeBatch Build(BatchRequest r, int delayMs = 0)
    {
        if (delayMs > 0) Thread.Sleep(delayMs * (1 + r.BatchIndex % 3));
        Interlocked.Increment(ref FakeBatch.Live);
        return new FakeBatch { Indices = r.Indices, Draws = r.Indices.Select(i => r.SampleRng(i).NextDouble()).ToArray() };
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void Same_seed_gives_same_batches_whatever_the_threads(int workers)
    {
        var reference = new DataLoader<FakeBatch>(53, r => Build(r), new LoaderOptions { BatchSize = 5, Seed = 9, Workers = 0 });
        var loader = new DataLoader<FakeBatch>(53, r => Build(r, 2), new LoaderOptions { BatchSize = 5, Seed = 9, Workers = workers, Prefetch = 3 });
        var a = reference.Epoch(2).ToList();
        var b = loader.Epoch(2).ToList();
        b.Select(x => x.Indices).Should().BeEquivalentTo(a.Select(x => x.Indices), o => o.WithStrictOrdering());
        b.Select(x => x.Draws).Should().BeEquivalentTo(a.Select(x => x.Draws), o => o.WithStrictOrdering());
        a.Count.Should().Be(10, "drop_last drops the 3 leftover samples");
        a.SelectMany(x => x.Indices).Distinct().Count().Should().Be(50);
        foreach (var x in a.Concat(b)) x.Dispose();
    }

    [Fact]
    public void Shuffle_depends_on_seed_and_epoch_and_drop_last_can_be_off()
    {
        LoaderOptions O(long seed, bool shuffle = true, bool dropLast = true) => new() { BatchSize = 4, Seed = seed, Shuffle = shuffle, DropLast = dropLast };
        var l1 = new DataLoader<FakeBatch>(30, r => Build(r), O(1));
        l1.Order(0).Should().Equal(new DataLoader<FakeBatch>(30, r => Build(r), O(1)).Order(0));
        l1.Order(0).Should().NotEqual(l1.Order(1));
        l1.Order(0).Should().NotEqual(new DataLoader<FakeBatch>(30, r => Build(r), O(2)).Order(0));
        l1.Order(0).Order().Should().Equal(Enumerable.Range(0, 30));
        var seq = new DataLoader<FakeBatch>(30, r => Build(r), O(1, shuffle: false, dropLast: false));
        seq.BatchCount.Should().Be(8);
        var all = seq.Epoch(0).ToList();
        all.SelectMany(b => b.Indices).Should().Equal(Enumerable.Range(0, 30));
        all[^1].Indices.Should().HaveCount(2);
        foreach (var b in all) b.Dispose();
    }

    [Fact]
    public void Stopping_early_disposes_prefetched_batches_and_stops_workers()
    {
        int built = 0;
        var loader = new DataLoader<FakeBatch>(400, r => { Interlocked.Increment(ref built); return Build(r, 1); },
            new LoaderOptions { BatchSize = 2, Workers = 3, Prefetch = 4 });
        var live0 = FakeBatch.Live;
        var taken = new List<FakeBatch>();
        foreach (var b in loader.Epoch(0))
        {
            taken.Add(b);
            if (taken.Count == 3) break;
        }
        built.Should().BeLessOrEqualTo(3 + 4 + 3, "the queue is bounded by prefetch");
        var after = built;
        Thread.Sleep(50);
        built.Should().Be(after, "workers stopped");
        taken.Should().OnlyContain(b => !b.Disposed, "batches handed out belong to the consumer");
        (FakeBatch.Live - live0).Should().BeGreaterThanOrEqualTo(3);
        foreach (var b in taken) b.Dispose();
    }

    [Fact]
    public void Cancellation_stops_the_epoch()
    {
        using var cts = new CancellationTokenSource();
        var loader = new DataLoader<FakeBatch>(100, r => Build(r, 5), new LoaderOptions { BatchSize = 2, Workers = 2 });
        var got = new List<FakeBatch>();
        var act = () =>
        {
            foreach (var b in loader.Epoch(0, cts.Token)) { got.Add(b); if (got.Count == 2) cts.Cancel(); }
        };
        act.Should().Throw<OperationCanceledException>();
        got.Should().HaveCount(2);
        foreach (var b in got) b.Dispose();
    }

    [Fact]
    public void Worker_errors_reach_the_consumer_at_their_batch()
    {
        var loader = new DataLoader<FakeBatch>(20, r => r.BatchIndex == 3 ? throw new IOException("bad file x.png") : Build(r),
            new LoaderOptions { BatchSize = 2, Workers = 2, Shuffle = false });
        var got = new List<FakeBatch>();
        var act = () => { foreach (var b in loader.Epoch(0)) got.Add(b); };
        act.Should().Throw<IOException>().WithMessage("bad file x.png");
        got.Should().HaveCount(3);
        foreach (var b in got) b.Dispose();
    }

    [Fact]
    public void Segmentation_batches_are_deterministic_tensors()
    {
        var ds = new SyntheticSceneDataset(5, 12, 96, 128, seed: 2);
        var pipe = SegPipeline.Train(64, 64, scaleLong: 256, scaleShort: 96);
        SegBatch[] Run(int workers) => Loaders.Segmentation(ds, pipe, new LoaderOptions { BatchSize = 4, Seed = 5, Workers = workers }).Epoch(0).ToArray();
        var a = Run(0);
        var b = Run(3);
        a.Should().HaveCount(3);
        for (int i = 0; i < a.Length; i++)
        {
            a[i].Images.shape.Should().Equal(4, 3, 64, 64);
            a[i].Labels.shape.Should().Equal(4, 64, 64);
            a[i].Labels.dtype.Should().Be(ScalarType.Int64);
            a[i].Images.allclose(b[i].Images, rtol: 0, atol: 0).Should().BeTrue();
            a[i].Labels.allclose(b[i].Labels, rtol: 0, atol: 0).Should().BeTrue();
            a[i].Labels.ToArray<long>().Should().OnlyContain(v => v < 5 || v == 255);
        }
        foreach (var x in a.Concat(b)) x.Dispose();
    }

    [Fact]
    public void Classification_batches_on_TinyImageNet()
    {
        var ds = new TinyImageNetDataset(DataTestPaths.Tiny, "val");
        var loader = Loaders.Classification(ds, new ClsTransform { Size = 64 }, new MixupCutmix(), new LoaderOptions { BatchSize = 16, Seed = 3, Workers = 2 });
        using var b = loader.Epoch(0).First();
        b.Images.shape.Should().Equal(16, 3, 64, 64);
        b.Targets.shape.Should().Equal(16, ds.NumClasses);
        using var sums = b.Targets.sum(1);
        sums.ToArray<float>().Should().OnlyContain(v => Math.Abs(v - 1) < 1e-4);
        b.Labels.ToArray<long>().Should().Equal(b.Indices.Select(i => (long)ds.LabelOf(i)));
    }

    /// <summary>
    /// Data-parallel shards of mixed classification batches: mixup/cutmix pair sample i with sample N − 1 − i of the
    /// global batch, so the shards of 2 and 4 ranks, stacked, must be the single-process batch bit for bit (images, soft
    /// targets, labels, λ) — not each shard mixed with its own reverse.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Classification_shards_with_mixup_stack_to_the_single_process_batch(int world)
    {
        var ds = new TinyImageNetDataset(DataTestPaths.Tiny, "val");
        var transform = new ClsTransform { Size = 32, EraseProb = 0.25 };
        var options = new LoaderOptions { BatchSize = 8, Seed = 7, Workers = 0 };
        for (int batch = 0; batch < 3; batch++)
        {
            using var whole = Loaders.Classification(ds, transform, new MixupCutmix(), options).Epoch(0).Skip(batch).First();
            var shards = Enumerable.Range(0, world)
                .Select(r => Loaders.Classification(ds, transform, new MixupCutmix(), options with { Shard = (r, world) }).Epoch(0).Skip(batch).First()).ToList();
            try
            {
                shards.Should().OnlyContain(s => s.Images.shape[0] == 8 / world);
                shards.SelectMany(s => s.Indices).Should().Equal(whole.Indices);
                shards.Should().OnlyContain(s => s.Lambda == whole.Lambda);
                using var images = cat(shards.Select(s => s.Images).ToList(), 0);
                using var targets = cat(shards.Select(s => s.Targets).ToList(), 0);
                using var labels = cat(shards.Select(s => s.Labels).ToList(), 0);
                images.ToArray<float>().Should().Equal(whole.Images.ToArray<float>());
                targets.ToArray<float>().Should().Equal(whole.Targets.ToArray<float>());
                labels.ToArray<long>().Should().Equal(whole.Labels.ToArray<long>());
            }
            finally { foreach (var s in shards) s.Dispose(); }
        }
    }
}

public class LoaderBadInputTests
{
    [Fact]
    public void Loader_names_the_bad_file_or_skips_it_when_asked()
    {
        using var t = DataTestPaths.SmallCamVid(4);
        var ds = new CamVidDataset(t.Path, "val");
        var victim = ds.Pairs[2].Image;
        File.WriteAllBytes(victim, File.ReadAllBytes(victim)[..500]);
        var pipe = SegPipeline.Train(64, 64, scaleLong: 128, scaleShort: 96);
        var opts = new LoaderOptions { BatchSize = 2, Workers = 2, Shuffle = false };
        var act = () => { foreach (var b in Loaders.Segmentation(ds, pipe, opts).Epoch(0)) b.Dispose(); };
        act.Should().Throw<BoostFormer.IO.ImageDecodeException>().WithMessage($"*{victim}*");

        var log = new BadSampleLog();
        var batches = Loaders.Segmentation(ds, pipe, opts, log).Epoch(0).ToList();
        batches.Should().HaveCount(2);
        batches[1].Paths.Should().Equal(ds.Pairs[3].Image, ds.Pairs[3].Image);
        log.Items.Should().ContainSingle().Which.Path.Should().Be(victim);
        foreach (var b in batches) b.Dispose();
    }
}
