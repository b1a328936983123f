using System.Reflection;
using System.Runtime.Loader;

namespace BoostFormer.Visualization;

/// <summary>
/// Runs Plotly.NET in a private <see cref="AssemblyLoadContext"/>: BoostFormer.Plotly.dll, Plotly.NET, Plotly.NET.CSharp,
/// their F# dependencies and FSharp.Core 10.1 are loaded from this library's folder into one context, so they bind to
/// each other whatever FSharp.Core the host already runs (the dotnet-interactive tool behind VS Code and Jupyter runs
/// 10.0, and Plotly.NET 6 fails with MissingMethodException when its dependencies bind to two FSharp.Core versions).
/// Only strings cross the boundary.
/// </summary>
internal static class PlotlyContext
{
    /// <summary>Always loaded from this library's folder, even when the host has its own copy (FSharp.Core above all).</summary>
    private static readonly string[] Private = { "BoostFormer.Plotly", "Plotly.NET", "Plotly.NET.CSharp", "FSharp.Core", "Giraffe.ViewEngine", "DynamicObj", "Fable.Core", "Newtonsoft.Json" };

    private static readonly HashSet<string> Platform = new(
        ((AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string) ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(Path.GetFileNameWithoutExtension).OfType<string>(), StringComparer.OrdinalIgnoreCase);

    private sealed class Context(string directory) : AssemblyLoadContext("boostformer-plotly")
    {
        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is null) return null;
            var path = Path.Combine(directory, name.Name + ".dll");
            // Plotly.NET's closure privately; any other dependency found beside the library that the host does not
            // provide, too; everything else (the framework, the host's assemblies) from the default context.
            bool own = Private.Contains(name.Name) || !Platform.Contains(name.Name);
            return own && File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }

    private static readonly Lazy<Type> Figures = new(() =>
    {
        var directory = Path.GetDirectoryName(typeof(PlotlyContext).Assembly.Location) ?? AppContext.BaseDirectory;
        var path = Path.Combine(directory, "BoostFormer.Plotly.dll");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: build the solution (BoostFormer.Lib references BoostFormer.Plotly)", path);
        var assembly = new Context(directory).LoadFromAssemblyPath(path);
        return assembly.GetType("BoostFormer.Plotly.PlotlyFigures", throwOnError: true)!;
    });

    private static object? Call(string method, params object?[] args)
    {
        try { return Figures.Value.GetMethod(method)!.Invoke(null, args); }
        catch (TargetInvocationException e) when (e.InnerException is not null) { throw e.InnerException; }
    }

    /// <summary>The Plotly figure JSON of a chart specification (see BoostFormer.Plotly's <c>PlotlyFigures</c>).</summary>
    public static string FigureJson(string specJson) => (string)Call("FigureJson", specJson)!;

    /// <summary>plotly.js as shipped in the Plotly.NET package: its file name and source.</summary>
    public static (string FileName, string Source) PlotlyJs()
    {
        var r = (string[])Call("PlotlyJs")!;
        return (r[0], r[1]);
    }
}
