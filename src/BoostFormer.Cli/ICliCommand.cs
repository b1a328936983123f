using System.CommandLine;

namespace BoostFormer.Cli;

/// <summary>One verb of the <c>boostformer</c> command. Implementations are discovered by reflection in Program.cs.</summary>
public interface ICliCommand
{
    Command Build();
}
