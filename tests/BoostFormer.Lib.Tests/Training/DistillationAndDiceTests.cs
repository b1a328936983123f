using BoostFormer.Training;
using BoostFormer.Training.Losses;
using BoostFormer.Training.Tracking;
using TorchSharp;
using static TorchSharp.torch;
using static BoostFormer.Lib.Tests.Models.ZooModelTests;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>
/// Dice, CE + Dice and channel-wise distillation against values PyTorch computed (Models/Fixtures/dice_cwd.safetensors,
/// written by generate_zoo_fixtures.py), and the teacher–student trainer.
/// </summary>
public class DistillationAndDiceTests
{
    [Fact]
    public void Dice_loss_and_its_gradient_match_pytorch()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("dice_cwd.safetensors");
        var logits = fx["logits"].detach().requires_grad_(true);
        var dice = SegmentationLoss.DiceLoss(logits, fx["labels"]);
        MaxAbs(dice.reshape(1), fx["dice"]).Should().BeLessThan(1e-6);
        dice.backward();
        MaxAbs(logits.grad!, fx["dice_grad"]).Should().BeLessThan(1e-6);
    }

    [Fact]
    public void Cross_entropy_plus_dice_is_registered_like_the_other_losses()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("dice_cwd.safetensors");
        using var ceDice = new SegmentationLoss(new SegmentationLossOptions { Kind = SegmentationLossKind.CrossEntropyDice }, 5);
        MaxAbs(ceDice.Compute(fx["logits"], fx["labels"]).reshape(1), fx["ce_dice"]).Should().BeLessThan(1e-5);
        using var dice = new SegmentationLoss(new SegmentationLossOptions { Kind = SegmentationLossKind.Dice }, 5);
        MaxAbs(dice.Compute(fx["logits"], fx["labels"]).reshape(1), fx["dice"]).Should().BeLessThan(1e-6);
        // at half the label resolution the logits are upsampled first, as for cross-entropy
        var small = fx["logits"].narrow(2, 0, 3).narrow(3, 0, 4);
        dice.Compute(small, fx["labels"]).item<float>().Should().BeInRange(0f, 1f);
        FluentActions.Invoking(() => new SegmentationLoss(new SegmentationLossOptions { DiceWeight = -1 }, 5)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Channel_wise_distillation_and_its_gradient_match_pytorch()
    {
        using var scope = NewDisposeScope();
        var fx = Fixture("dice_cwd.safetensors");
        var student = fx["logits"].detach().requires_grad_(true);
        var teacher = fx["teacher"].detach().requires_grad_(true);
        var loss = ChannelWiseDistillation.Loss(student, teacher, new DistillationOptions(4.0, 3.0));
        MaxAbs(loss.reshape(1), fx["cwd"]).Should().BeLessThan(1e-5);
        loss.backward();
        MaxAbs(student.grad!, fx["cwd_grad"]).Should().BeLessThan(1e-6);
        teacher.grad.Should().BeNull("the teacher is detached");
        MaxAbs(ChannelWiseDistillation.Loss(fx["logits"], fx["teacher"], new DistillationOptions(1.0, 1.0)).reshape(1), fx["cwd_tau1"]).Should().BeLessThan(1e-5);
        ChannelWiseDistillation.Loss(fx["teacher"], fx["teacher"], new DistillationOptions()).item<float>().Should().BeApproximately(0f, 1e-6f);
        FluentActions.Invoking(() => ChannelWiseDistillation.Loss(fx["logits"], fx["teacher"], new DistillationOptions(0, 1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Teacher_student_training_adds_the_cwd_loss_and_leaves_the_teacher_unchanged()
    {
        using var dir = new TempDir();
        const int k = 4;
        var data = new SyntheticScenes(5, k, 32, 8, 2);
        manual_seed(3);
        using var teacher = new TinySegNet(k, width: 24);
        var before = teacher.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
        manual_seed(1);
        using var student = new TinySegNet(k);
        using var store = RunStore.Open(System.IO.Path.Combine(dir.Path, "runs.db"));
        var options = new SegmentationTrainerOptions
        {
            Iterations = 4, LearningRate = 3e-3, WarmupIterations = 1, Seed = 11, DataSeed = 5, OutputDirectory = dir.Path, RunName = "student",
            Distillation = new DistillationOptions(4.0, 3.0),
        };
        var id = new SegmentationTrainer(student, options, teacher).Run(data, null, store);
        var cwd = store.Series(id, "train", "loss_cwd");
        cwd.Should().HaveCount(4);
        cwd.Should().OnlyContain(p => p.value > 0);
        var total = store.Series(id, "train", "loss");
        var main = store.Series(id, "train", "loss_main");
        for (int i = 0; i < 4; i++) total[i].value.Should().BeApproximately(main[i].value + cwd[i].value, 1e-4);
        foreach (var (key, v) in teacher.state_dict()) MaxAbs(v, before[key]).Should().Be(0, key);
        teacher.training.Should().BeFalse();

        FluentActions.Invoking(() => new SegmentationTrainer(student, options)).Should().Throw<ArgumentException>().WithMessage("*teacher*");
        using var wrong = new TinySegNet(k + 1);
        FluentActions.Invoking(() => new SegmentationTrainer(student, options, wrong)).Should().Throw<ArgumentException>().WithMessage("*classes*");
    }
}
