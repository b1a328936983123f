using System.CommandLine;
using TorchSharp;

namespace BoostFormer.Cli.Commands;

/// <summary><c>boostformer info</c>: the engine's build and threading configuration, and a tiny smoke computation.</summary>
public sealed class InfoCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("info", "Show the engine (TorchSharp, LibTorch, threads) and run a smoke computation.");
        cmd.SetAction(_ =>
        {
            Console.WriteLine(BoostFormer.Engine.Describe());
            Console.WriteLine(BoostFormer.Profiling.CpuFeatures.Current.Describe());
            using var scope = torch.NewDisposeScope();
            var a = torch.randn(256, 256);
            var b = a.matmul(a.t());
            Console.WriteLine($"smoke: (A·Aᵀ) trace = {b.diagonal_sum():F3}, threads = {torch.get_num_threads()}");
            return 0;
        });
        return cmd;
    }
}

internal static class TensorSmokeExtensions
{
    public static double diagonal_sum(this torch.Tensor t)
    {
        using var eye = torch.eye(t.shape[0]);
        using var m = t * eye;
        using var s = m.sum();
        return s.item<float>();
    }
}
