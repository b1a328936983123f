using TorchSharp;
using BoostFormer.Training.Losses;
using static TorchSharp.torch;
using static BoostFormer.Lib.Tests.Training.TrainingFixtures;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>Each loss option against PyTorch (Fixtures/make_training_fixtures.py); tolerance 1e-5 relative.</summary>
public class LossTests
{
    private static double Loss(SegmentationLossOptions o, bool withAux = false)
    {
        using var scope = NewDisposeScope();
        using var loss = new SegmentationLoss(o, K);
        var x = Logits();
        Tensor? aux = withAux ? x.mul(0.5).add(0.25).flip(3) : null;
        return loss.Compute(x, Labels(), aux).item<float>();
    }

    private static void Close(double actual, string key) => actual.Should().BeApproximately(D(key), 1e-5 * Math.Max(1, Math.Abs(D(key))), key);

    [Fact] public void Cross_entropy_ignores_255_after_bilinear_upsampling() => Close(Loss(new()), "ce");
    [Fact] public void Class_weights() => Close(Loss(new() { ClassWeights = ClassWeights }), "ce_weighted");
    [Fact] public void Label_smoothing() => Close(Loss(new() { LabelSmoothing = 0.1 }), "ce_smooth");
    [Fact] public void Class_weights_with_label_smoothing() => Close(Loss(new() { ClassWeights = ClassWeights, LabelSmoothing = 0.1 }), "ce_weighted_smooth");
    [Fact] public void Ohem_threshold_07_min_kept_10() => Close(Loss(new() { Ohem = new OhemOptions(0.7, 10) }), "ohem_thresh07_min10");
    [Fact] public void Ohem_threshold_03_min_kept_50() => Close(Loss(new() { Ohem = new OhemOptions(0.3, 50) }), "ohem_thresh03_min50");
    [Fact] public void Ohem_without_threshold_keeps_largest_losses() => Close(Loss(new() { Ohem = new OhemOptions(null, 20) }), "ohem_nothresh_min20");
    [Fact] public void Ohem_without_threshold_with_class_weights() => Close(Loss(new() { Ohem = new OhemOptions(null, 20), ClassWeights = ClassWeights }), "ohem_nothresh_min20_weighted");
    [Fact] public void Auxiliary_loss_is_added_with_weight_04() => Close(Loss(new(), withAux: true), "ce_plus_aux04");

    [Theory]
    [InlineData(0.7, 10, "ohem_thresh07_min10_kept")]
    [InlineData(0.3, 50, "ohem_thresh03_min50_kept")]
    public void Ohem_keeps_the_same_pixels_as_mmseg(double thresh, int minKept, string key)
    {
        using var scope = NewDisposeScope();
        using var loss = new SegmentationLoss(new() { Ohem = new OhemOptions(thresh, minKept) }, K);
        var up = nn.functional.interpolate(Logits(), size: new long[] { H, W }, mode: InterpolationMode.Bilinear, align_corners: false);
        var wgt = loss.OhemWeights(up, Labels(), new OhemOptions(thresh, minKept));
        wgt.sum().item<float>().Should().Be((float)D(key));
    }

    [Fact]
    public void Cross_entropy_gradient_matches_pytorch()
    {
        using var scope = NewDisposeScope();
        using var loss = new SegmentationLoss(new(), K);
        var x = Logits().requires_grad_();
        loss.Compute(x, Labels()).backward();
        var g = x.grad!;
        g.abs().sum().item<float>().Should().BeApproximately((float)D("ce_grad_sum_abs"), 1e-5f);
        var first = g.flatten().slice(0, 0, 6, 1).ToArray<float>();
        var exp = A("ce_grad_first");
        for (int i = 0; i < 6; i++) ((double)first[i]).Should().BeApproximately(exp[i], 1e-6);
    }

    [Fact]
    public void Bad_options_are_rejected_with_the_option_name()
    {
        var act = () => new SegmentationLoss(new() { ClassWeights = new float[] { 1, 2 } }, K);
        act.Should().Throw<ArgumentException>().WithMessage("*ClassWeights has 2 entries*5 classes*");
    }

    [Fact]
    public void FCNHead_has_mmseg_keys_and_output_shape()
    {
        using var scope = NewDisposeScope();
        using var head = new FCNHead(160, 32, 11);
        head.state_dict().Keys.Should().Contain(new[] { "convs.0.conv.weight", "convs.0.bn.weight", "convs.0.bn.running_mean", "conv_seg.weight", "conv_seg.bias" });
        head.state_dict().Keys.Should().NotContain("convs.0.conv.bias");
        var y = head.call(randn(2, 160, 8, 8));
        y.shape.Should().Equal(2, 11, 8, 8);
    }
}

public class SoftTargetLossTests
{
    [Fact]
    public void Soft_target_cross_entropy_matches_pytorch_probability_targets()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var zi = Enumerable.Range(0, 24).Select(i => (float)(Math.Sin(i * 0.9) * 3.0)).ToArray();
        var ti = Enumerable.Range(0, 24).Select(i => (float)(Math.Cos(i * 0.4) + 1.5)).ToArray();
        var z = TorchSharp.torch.tensor(zi, new long[] { 4, 6 });
        var t = TorchSharp.torch.tensor(ti, new long[] { 4, 6 });
        t = t.div(t.sum(1, true));
        var v = BoostFormer.Training.PretrainTrainer.SoftTargetCrossEntropy(z, t).item<float>();
        ((double)v).Should().BeApproximately(TrainingFixtures.D("soft_ce"), 1e-5);
        ((double)v).Should().BeApproximately(TrainingFixtures.D("soft_ce_torch"), 1e-5);
    }
}
