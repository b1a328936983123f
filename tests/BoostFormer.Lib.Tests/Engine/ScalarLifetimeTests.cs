using Mono.Cecil;
using Mono.Cecil.Cil;
using TorchSharp;
using Xunit.Abstractions;

namespace BoostFormer.Lib.Tests.Engine;

/// <summary>
/// Guards against TorchSharp 0.107's implicit <see cref="Scalar"/> temporaries. TorchSharp passes a temporary Scalar
/// (made from a number, e.g. the <c>alpha = 1</c> of <c>Tensor.add(Tensor)</c>) to native code by handle only and never
/// keeps it alive; a Scalar has a finalizer, so when another thread allocates during the native call the GC can free it
/// mid-call and LibTorch fails ("Expected false to be true … toFloat"). The library therefore makes every Scalar through
/// <see cref="Scalars"/> (cached for the process, or disposed by the caller after the call). This test reads the IL of
/// TorchSharp and of the library: it finds every TorchSharp method that makes a Scalar from a number without disposing it
/// (directly or through another such method), and fails listing each library method that calls one, or converts a number
/// to a Scalar implicitly itself.
/// </summary>
public sealed class ScalarLifetimeTests(ITestOutputHelper output)
{
    [Fact]
    public void Library_never_passes_an_unrooted_temporary_scalar_to_torchsharp()
    {
        var unsafeMethods = UnsafeTorchSharpMethods(out var torchSharpTotal);
        torchSharpTotal.Should().BeGreaterThan(1000, "the scan must see TorchSharp's methods");
        unsafeMethods.Should().Contain(m => m.Contains("Tensor::add(TorchSharp.torch/Tensor)"),
            "Tensor.add(Tensor) makes its alpha = 1 Scalar implicitly in TorchSharp 0.107; if this fails the scan is broken or TorchSharp changed");

        var offenders = new SortedSet<string>(StringComparer.Ordinal);
        var usedTypes = new HashSet<string>(StringComparer.Ordinal);
        using var lib = AssemblyDefinition.ReadAssembly(typeof(BoostFormer.Scalars).Assembly.Location);
        foreach (var method in AllMethods(lib.MainModule))
        {
            if (method.DeclaringType.FullName.StartsWith("BoostFormer.Scalars", StringComparison.Ordinal)) continue;
            foreach (var ins in method.Body.Instructions)
            {
                if (ins.Operand is not MethodReference callee) continue;
                var key = Key(callee);
                if (IsScalarFromNumber(callee) || unsafeMethods.Contains(key))
                    offenders.Add($"{method.DeclaringType.FullName}::{method.Name} calls {key}");
                if (callee.DeclaringType.Scope.Name.StartsWith("TorchSharp", StringComparison.Ordinal))
                {
                    usedTypes.Add(Strip(callee.DeclaringType).FullName);
                    usedTypes.Add(Strip(callee.ReturnType).FullName);
                }
            }
        }
        // Virtual calls (a module's forward through Module.call, an optimiser's step) run the override of the type the
        // library made — declared on that type or inherited from one of its TorchSharp base classes (BatchNorm2d runs
        // BatchNorm.forward, whose num_batches_tracked.add_(1) makes a Scalar): every such override must be safe too.
        using (var ts = AssemblyDefinition.ReadAssembly(typeof(torch).Assembly.Location))
            foreach (var used in usedTypes.ToList())
                for (var t = ts.MainModule.GetType(used)?.BaseType; t is not null && t.Scope.Name.StartsWith("TorchSharp", StringComparison.Ordinal); )
                {
                    usedTypes.Add(Strip(t).FullName);
                    TypeDefinition? def;
                    try { def = t.Resolve(); } catch (AssemblyResolutionException) { def = null; }
                    t = def?.BaseType;
                }
        foreach (var key in unsafeMethods)
        {
            var type = key[..key.IndexOf("::", StringComparison.Ordinal)];
            var name = key[(key.IndexOf("::", StringComparison.Ordinal) + 2)..];
            if (usedTypes.Contains(type) && VirtualOverrides.Contains(name[..name.IndexOf('(')]) && !ReachedOnlyInEvalMode.Contains(key))
                offenders.Add($"the library uses {type}, whose {name} makes an unrooted Scalar");
        }
        foreach (var o in offenders) output.WriteLine(o);
        offenders.Should().BeEmpty("every Scalar passed to TorchSharp must be rooted (BoostFormer.Scalars); offenders:\n" + string.Join("\n", offenders));
    }

    internal static HashSet<string> UnsafeTorchSharpMethods(out int total)
    {
        using var ts = AssemblyDefinition.ReadAssembly(typeof(torch).Assembly.Location);
        var calls = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var bad = new HashSet<string>(StringComparer.Ordinal);
        total = 0;
        foreach (var method in AllMethods(ts.MainModule))
        {
            total++;
            var key = Key(method);
            var targets = new HashSet<string>(StringComparer.Ordinal);
            bool makes = false, disposes = false;
            foreach (var ins in method.Body.Instructions)
            {
                if (ins.Operand is not MethodReference callee) continue;
                if (IsScalarFromNumber(callee)) makes = true;
                else if (callee.DeclaringType.FullName == "TorchSharp.Scalar" && callee.Name == "Dispose") disposes = true;
                else targets.Add(Key(callee));
            }
            if (makes && !disposes) bad.Add(key);
            calls[key] = targets;
        }
        // Callers of an unsafe method are unsafe too (the temporary is made inside the callee): fixed point.
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (m, targets) in calls)
                if (!bad.Contains(m) && targets.Any(bad.Contains)) { bad.Add(m); changed = true; }
        }
        return bad;
    }

    private static readonly HashSet<string> VirtualOverrides = ["forward", "step", "call"];

    // TorchSharp's BatchNorm.forward makes its Scalar only in training mode (num_batches_tracked.add_(1)). The library runs
    // training-mode BatchNorm through SegformerLayout.BatchNorm instead; which module a virtual call reaches is not visible
    // in IL, so BatchNormTrainingPathTests checks it by running every model and zoo module in training mode with a hook on
    // every BatchNorm's own forward.
    private static readonly HashSet<string> ReachedOnlyInEvalMode = ["TorchSharp.Modules.BatchNorm::forward(TorchSharp.torch/Tensor)"];

    private static TypeReference Strip(TypeReference t) => t is GenericInstanceType g ? g.ElementType : t;

    private static bool IsScalarFromNumber(MethodReference m)
    {
        var type = m.DeclaringType.FullName;
        if (type == "TorchSharp.Scalar" && m.Name == "op_Implicit") return true;
        return type == "TorchSharp.ScalarExtensionMethods" && m.Name == "ToScalar";
    }

    private static string Key(MethodReference m)
    {
        var declaring = m.DeclaringType is GenericInstanceType g ? g.ElementType : m.DeclaringType;
        var element = m is GenericInstanceMethod gm ? gm.ElementMethod : m;
        return $"{declaring.FullName}::{element.Name}({string.Join(",", element.Parameters.Select(p => p.ParameterType.FullName))})";
    }

    private static IEnumerable<MethodDefinition> AllMethods(ModuleDefinition module)
    {
        foreach (var type in module.GetTypes())
            foreach (var method in type.Methods)
                if (method.HasBody) yield return method;
    }
}

/// <summary>
/// The failure the IL check prevents, as it happened: SegFormer training steps (forward with drop path, loss, backward,
/// clipping, AdamW) while another thread allocates, as data-loader workers do. With TorchSharp's own AdamW and
/// <c>Tensor.add(Tensor)</c> this failed within a fraction of a second ("Expected false to be true … toFloat").
/// </summary>
[Collection(ProcessWideSettings.Name)]
public sealed class ScalarLifetimeStressTests
{
    [Fact]
    public void Training_steps_survive_a_thread_that_allocates_all_the_time()
    {
        torch.manual_seed(0);
        using var model = new BoostFormer.Models.SegformerForSemanticSegmentation(
            BoostFormer.Models.SegformerConfig.FromName("segformer-b0", 5) with { drop_path_rate = 0.1 });
        model.train();
        using var opt = BoostFormer.Training.Optimization.TrainingOptimizer.AdamW(
            new[] { new BoostFormer.Training.Optimization.NamedParamGroup("all", model.named_parameters().ToList(), 1e-3, 0.01) });
        using var x = torch.randn(2, 3, 32, 32);
        using var y = torch.randint(0, 5, new long[] { 2, 32, 32 });
        using var stop = new CancellationTokenSource();
        long allocated = 0;
        var churn = new Thread(() =>
        {
            var keep = new List<byte[]>();
            while (!stop.IsCancellationRequested)
            {
                keep.Add(new byte[200_000]);
                if (keep.Count > 64) keep.Clear();
                if (Interlocked.Increment(ref allocated) % 16 == 0) Thread.Sleep(1);
            }
        }) { IsBackground = true };
        churn.Start();
        try
        {
            for (int steps = 0; steps < 20; steps++)
            {
                using var scope = torch.NewDisposeScope();
                opt.ZeroGrad();
                var logits = model.call(x);
                var loss = BoostFormer.Models.SegformerLoss.SemanticLoss(logits, y);
                loss.backward();
                BoostFormer.Training.Optimization.GradientClipping.ClipGradNorm(model.parameters(), 1.0);
                opt.Step();
                float.IsFinite(loss.item<float>()).Should().BeTrue();
            }
            // Many small calls give the GC many chances: layer pieces and metrics that made implicit Scalars before.
            using var dropPath = new BoostFormer.Models.SegformerDropPath(0.2);
            dropPath.train();
            using var cm = new BoostFormer.Metrics.ConfusionMatrix(5);
            using var small = torch.randn(4, 8, 4);
            using var labels = torch.randint(0, 5, new long[] { 8, 8 });
            for (int i = 0; i < 100_000; i++)
            {
                using var scope = torch.NewDisposeScope();
                dropPath.call(small);
                if (i % 10 == 0) cm.Update(labels, labels);
            }
        }
        finally { stop.Cancel(); churn.Join(); }
        Interlocked.Read(ref allocated).Should().BeGreaterThan(1000, "the allocating thread must have run alongside");
    }
}
