using BoostFormer.Notebooks;

namespace BoostFormer.Lib.Tests.Notebooks;

/// <summary>Parameters read the process environment, which these tests change: they run alone.</summary>
[CollectionDefinition(nameof(ParametersTests), DisableParallelization = true)]
public class ParametersCollection { }

[Collection(nameof(ParametersTests))]
public class ParametersTests
{
    [Fact]
    public void Parameter_resolution_follows_param_then_environment()
    {
        var dir = NotebookTestSupport.TempDir("nb-root");
        ParameterSet.Resolve("ci", new Dictionary<string, string> { ["data"] = dir }).DataRoot.Should().Be(Path.GetFullPath(dir));
        var act = () => ParameterSet.Resolve("ci", new Dictionary<string, string> { ["data"] = Path.Combine(dir, "missing") });
        act.Should().Throw<DirectoryNotFoundException>().WithMessage("*--param data=*missing*does not exist*");
        var bad = () => new ParameterSet("huge", null);
        bad.Should().Throw<ArgumentException>().WithMessage("*unknown scale 'huge'*");
        new ParameterSet("CI", null).Scale.Should().Be(RunScale.Ci);
        RunScales.Names.Should().Equal("ci", "demo", "full");
        var badKey = () => new ParameterSet("ci", null, new Dictionary<string, string> { ["max-steps"] = "1" });
        badKey.Should().Throw<ArgumentException>().WithMessage("*max-steps*only letters, digits and '_'*BOOSTFORMER_PARAM_*");
        using (Parameters.Use(new ParameterSet("ci", null, new Dictionary<string, string> { ["n"] = "x" })))
        {
            var conv = () => Parameters.Get("n", 3);
            conv.Should().Throw<ArgumentException>().WithMessage("*n=x is not a valid Int32*");
        }
    }

    [Fact]
    public void The_environment_of_a_set_gives_back_the_same_set()
    {
        var dir = NotebookTestSupport.TempDir("nb-env");
        var set = new ParameterSet("full", dir, new Dictionary<string, string> { ["epochs"] = "7", ["Lr"] = "0.5", ["data"] = dir });
        // BOOSTFORMER_DATA is left alone: data tests running in parallel read it.
        var names = new[] { ParameterSet.ScaleVariable, "BOOSTFORMER_PARAM_EPOCHS", "BOOSTFORMER_PARAM_LR", "BOOSTFORMER_PARAM_STALE" };
        var saved = names.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("BOOSTFORMER_PARAM_STALE", "from an earlier run");
            var env = set.ToEnvironment();
            env["BOOSTFORMER_PARAM_STALE"].Should().BeNull("a parameter the set does not have is removed");
            env.Should().NotContainKey("BOOSTFORMER_PARAM_DATA", "the data root has its own variable");
            env[ParameterSet.DataVariable].Should().Be(dir);
            foreach (var (name, value) in env.Where(kv => kv.Key != ParameterSet.DataVariable)) Environment.SetEnvironmentVariable(name, value);
            var back = ParameterSet.FromEnvironment();
            back.Scale.Should().Be(RunScale.Full);
            back.Values.Should().BeEquivalentTo(new Dictionary<string, string> { ["EPOCHS"] = "7", ["LR"] = "0.5" });
            back.Values["epochs"].Should().Be("7", "keys are case-insensitive");

            var none = new ParameterSet("ci", null).ToEnvironment();
            none[ParameterSet.DataVariable].Should().BeNull("no data root removes an inherited BOOSTFORMER_DATA");
        }
        finally
        {
            foreach (var (name, value) in saved) Environment.SetEnvironmentVariable(name, value);
        }
    }
}
