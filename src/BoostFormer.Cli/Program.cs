using System.CommandLine;
using System.Reflection;
using BoostFormer.Cli;

// The `boostformer` command: every verb is a class implementing ICliCommand in Commands/ (discovered here), each a thin
// layer over the library.
// Start the engine first: a missing or unloadable native library is one clear line, not a type-initializer trace.
try { BoostFormer.Engine.Initialize(); }
catch (InvalidOperationException e) { return ExitCodes.Fail(e.Message, ExitCodes.Failure); }
var root = new RootCommand("BoostFormer workbook: SegFormer/BoostFormer models, data, training, profiling and notebooks on TorchSharp (LibTorch).");
foreach (var t in typeof(ICliCommand).Assembly.GetTypes()
             .Where(t => typeof(ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
             .OrderBy(t => t.Name))
{
    var cmd = (ICliCommand)Activator.CreateInstance(t)!;
    root.Subcommands.Add(cmd.Build());
}
var parsed = root.Parse(args);
var code = await parsed.InvokeAsync();
// Exit codes (ExitCodes): a command line that does not parse is bad usage (2), like every verb's invalid input.
return parsed.Errors.Count > 0 ? ExitCodes.Usage : code;
