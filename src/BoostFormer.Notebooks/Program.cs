using BoostFormer.Notebooks;

// `dotnet BoostFormer.Notebooks.dll kernel`: the kernel process of `boostformer notebooks run` (see KernelHost). The
// runner starts it with the notebook's folder as current directory and the parameters in the environment.
if (args is [KernelProtocol.KernelVerb])
    return await KernelHost.RunAsync(Console.OpenStandardInput(), Console.OpenStandardOutput());
Console.Error.WriteLine($"usage: dotnet BoostFormer.Notebooks.dll {KernelProtocol.KernelVerb}   (started by `boostformer notebooks run`; it reads cells as JSON lines on standard input)");
return 2;
