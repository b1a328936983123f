using BoostFormer.Training.Tracking;

namespace BoostFormer.Lib.Tests.Training;

public class MetricSeriesTests
{
    [Fact]
    public void Smoothed_is_a_trailing_mean_thinned_to_the_point_budget()
    {
        var raw = Enumerable.Range(1, 10).Select(i => ((long)i, (double)i)).ToList();
        var all = raw.Smoothed(window: 3, maxPoints: 100);
        all.Select(p => p.value).Should().Equal(1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9);
        all.Select(p => p.step).Should().Equal(raw.Select(p => p.Item1));
        var thin = raw.Smoothed(window: 2, maxPoints: 4);
        thin.Select(p => p.step).Should().Equal(3L, 6L, 9L, 10L);
        thin.Select(p => p.value).Should().Equal(2.5, 5.5, 8.5, 9.5);
    }

    [Fact]
    public void Smoothed_rejects_a_bad_window_and_keeps_an_empty_series_empty()
    {
        new List<(long, double)>().Smoothed(5).Should().BeEmpty();
        var act = () => new List<(long, double)> { (1, 1) }.Smoothed(0);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*window*");
    }
}
