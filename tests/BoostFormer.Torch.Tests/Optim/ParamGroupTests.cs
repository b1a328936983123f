using BoostFormer.Torch.Modules;
using static BoostFormer.Torch.torch;
using static BoostFormer.Torch.torch.optim;

namespace BoostFormer.Torch.Tests.Optim;

public class OptimParamGroupTests
{
    private static nn.Parameter Param(params float[] values)
    {
        using var t = tensor(values);
        return new nn.Parameter(t);
    }

    private static void SetGrad(Tensor p, params float[] g)
    {
        using var t = tensor(g);
        p.grad = t;
    }

    [Fact]
    public void AdamWGroupsUseTheirOwnLrAndWeightDecay()
    {
        using var decayed = Param(1f, -2f, 4f);
        using var noDecay = Param(1f, -2f, 4f);
        using var frozenLr = Param(1f, -2f, 4f);
        using var opt = optim.AdamW(new[]
        {
            new ParamGroup(new[] { decayed }, name: "decay"),
            new ParamGroup(new[] { noDecay }, weight_decay: 0, name: "no_decay"),
            new ParamGroup(new[] { frozenLr }, lr: 0, name: "lr0"),
        }, lr: 0.1, weight_decay: 0.5);
        opt.param_groups.Select(g => g.lr).Should().Equal(0.1, 0.1, 0.0);
        opt.param_groups.Select(g => g.weight_decay).Should().Equal(0.5, 0.0, 0.5);
        opt.param_groups[1]["beta2"].Should().Be(0.999, "unset options take the optimizer's defaults");

        // A zero gradient leaves only the decoupled weight decay: p *= 1 - lr*wd.
        foreach (var p in new[] { decayed, noDecay, frozenLr }) SetGrad(p, 0, 0, 0);
        opt.step();
        decayed.ToArray<float>().Should().Equal(1f * 0.95f, -2f * 0.95f, 4f * 0.95f);
        noDecay.ToArray<float>().Should().Equal(1f, -2f, 4f);
        frozenLr.ToArray<float>().Should().Equal(1f, -2f, 4f);

        // A unit gradient at step 1 moves each element by lr (m̂ = g, v̂ = g², denom ≈ |g|): the 10× group moves 10× further.
        opt.param_groups[1].lr = 1.0;
        foreach (var p in new[] { decayed, noDecay, frozenLr }) SetGrad(p, 1, 1, 1);
        var before = noDecay.ToArray<float>();
        opt.step();
        var after = noDecay.ToArray<float>();
        // Second step for this parameter: m = 0.1, v = 0.001, m̂ = 0.1/0.19, v̂ = 0.001/0.001999 → update ≈ lr·0.7255.
        double mhat = 0.1 / (1 - 0.9 * 0.9), vhat = 0.001 / (1 - 0.999 * 0.999);
        for (int i = 0; i < 3; i++) ((double)before[i] - after[i]).Should().BeApproximately(1.0 * mhat / (Math.Sqrt(vhat) + 1e-8), 1e-6);
    }

    [Fact]
    public void SgdGroupsUseTheirOwnLrAndMomentum()
    {
        using var a = Param(0f, 0f);
        using var b = Param(0f, 0f);
        using var opt = optim.SGD(new[] { new ParamGroup(new[] { a }), new ParamGroup(new[] { b }, lr: 1.0, momentum: 0) }, lr: 0.1, momentum: 0.9);
        for (int k = 0; k < 2; k++)
        {
            SetGrad(a, 1, 2); SetGrad(b, 1, 2);
            opt.step();
        }
        // a: buf = 1, then 0.9+1 = 1.9 → p = -(0.1 + 0.19) g-scaled; b: plain SGD with lr 1 → p = -2 g.
        a.ToArray<float>().Should().Equal(-0.29f, -0.58f);
        b.ToArray<float>().Should().Equal(-2f, -4f);
        opt.state.ContainsKey(a).Should().BeTrue();
        opt.state.ContainsKey(b).Should().BeFalse();
    }

    [Fact]
    public void ParameterWithoutGradientIsSkipped()
    {
        using var p = Param(1f, 2f);
        using var opt = optim.AdamW(new[] { p }, lr: 0.1, weight_decay: 0.5);
        opt.step();
        p.ToArray<float>().Should().Equal(1f, 2f);
        opt.state.Should().BeEmpty();
    }

    [Fact]
    public void ZeroGradSetsToNoneOrZeros()
    {
        using var p = Param(1f, 2f);
        using var opt = optim.SGD(new[] { p }, lr: 0.1);
        SetGrad(p, 3, 4);
        opt.zero_grad(set_to_none: false);
        using (var g = p.grad) g!.ToArray<float>().Should().Equal(0f, 0f);
        opt.zero_grad();
        p.grad.Should().BeNull();
    }

    [Fact]
    public void StepWithClosureComputesTheLossWithGradientsEnabled()
    {
        using var p = Param(3f);
        using var opt = optim.SGD(new[] { p }, lr: 0.25);
        using (no_grad())
        {
            // Even inside no_grad, the closure runs with gradients enabled (PyTorch's step(closure) contract).
            using var loss = opt.step(() =>
            {
                opt.zero_grad();
                var l = (p * p).sum(); // d/dp = 2p = 6
                l.backward();
                return l;
            });
            loss!.item<float>().Should().Be(9f);
        }
        p.ToArray<float>().Should().Equal(3f - 0.25f * 6f);
    }

    [Fact]
    public void BadGroupsAreRejectedWithClearMessages()
    {
        using var p = Param(1f);
        using var q = Param(1f);
        var act1 = () => optim.AdamW(new[] { new ParamGroup(new[] { p }, momentum: 0.9) });
        act1.Should().Throw<ArgumentException>().WithMessage("*AdamW does not have the hyper-parameter 'momentum'*");
        var act2 = () => optim.SGD(new[] { new ParamGroup(new[] { p }), new ParamGroup(new[] { q, p }) }, lr: 0.1);
        act2.Should().Throw<ArgumentException>().WithMessage("*more than one parameter group*");
        var act3 = () => optim.AdamW(new[] { p }, beta1: 1.0);
        act3.Should().Throw<ArgumentException>().WithMessage("Invalid beta parameter at index 0: 1*");
        var act4 = () => optim.SGD(new[] { p }, lr: 0.1, nesterov: true);
        act4.Should().Throw<ArgumentException>().WithMessage("Nesterov momentum requires a momentum and zero dampening*");
        var act5 = () => optim.AdamW(new[] { new ParamGroup(new[] { p }, lr: -1, name: "decoder") });
        act5.Should().Throw<ArgumentException>().WithMessage("Invalid learning rate: -1 (group 'decoder')");
        var act6 = () => optim.AdamW(Array.Empty<Tensor>());
        act6.Should().Throw<ArgumentException>().WithMessage("optimizer got an empty parameter list*");
        using var nonLeaf = p * 2;
        var act7 = () => optim.SGD(new[] { nonLeaf }, lr: 0.1);
        act7.Should().Throw<ArgumentException>().WithMessage("can't optimize a non-leaf Tensor*");
    }

    [Fact]
    public void ModuleParametersCanBeSplitIntoDecayAndNoDecayGroups()
    {
        using var model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2));
        var named = model.named_parameters().ToList();
        var noDecay = named.Where(n => n.name.EndsWith("bias") || n.name.StartsWith("1.")).Select(n => n.parameter).ToList();
        var decay = named.Select(n => n.parameter).Except(noDecay).ToList();
        using var opt = optim.AdamW(new[] { new ParamGroup(decay), new ParamGroup(noDecay, weight_decay: 0) }, lr: 6e-5, weight_decay: 0.01);
        decay.Should().HaveCount(2);
        noDecay.Should().HaveCount(4);
        opt.param_groups.Sum(g => g.Parameters.Count).Should().Be(named.Count);
        opt.add_param_group(new ParamGroup(Array.Empty<Tensor>(), lr: 6e-4));
        opt.param_groups[2].weight_decay.Should().Be(0.01);
    }
}
