using BoostFormer.Lib.Tests.Notebooks;
using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Visualization;

public class SampleScenesTests
{
    [Fact]
    public void Synthetic_scene_is_deterministic_and_uses_CamVid_classes()
    {
        var a = SampleScenes.Synthetic(96, 64, seed: 3);
        var b = SampleScenes.Synthetic(96, 64, seed: 3);
        (a.Image.Width, a.Image.Height, a.Labels.Length).Should().Be((96, 64, 96 * 64));
        a.Image.Pixels.Should().Equal(b.Image.Pixels);
        a.Labels.Should().Equal(b.Labels);
        a.Labels.Distinct().Should().Contain(new[] { 0, 1, 3, 8 }, "sky, building, road and a car are drawn");
        a.Labels.Should().OnlyContain(l => l >= 0 && l < 11);
        SampleScenes.Synthetic(96, 64, seed: 4).Image.Pixels.Should().NotEqual(a.Image.Pixels);
        a.Grid().Images.Should().HaveCount(3);
    }

    [Fact]
    public void CamVid_sample_matches_the_dataset()
    {
        var root = NotebookTestSupport.DataRoot;
        if (root is null) return; // data-dependent: no data root on this machine
        var s = SampleScenes.CamVid(root, 0);
        (s.Image.Width, s.Image.Height, s.Image.Channels).Should().Be((480, 360, 3));
        s.Labels.Should().OnlyContain(l => l >= 0 && l <= 11, "SegNet CamVid labels are 0..10 plus 11 = void");
        s.Legend().Ids.Should().Contain(3, "the first training frame shows road");
        // The label map is the annotation PNG, decoded independently by the managed decoder.
        var lines = File.ReadAllLines(Path.Combine(root, "camvid", "train.txt"));
        var png = Png.Load(Path.Combine(root, "camvid", lines[0].Split(' ')[1]));
        s.Labels.Should().Equal(png.Pixels.Select(p => (int)p));
        var act = () => SampleScenes.CamVid(root, 100_000);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*train.txt has 367 pairs*");
    }
}
