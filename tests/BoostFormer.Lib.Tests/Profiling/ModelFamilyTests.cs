using BoostFormer.Models;
using BoostFormer.Profiling;

namespace BoostFormer.Lib.Tests.Profiling;

/// <summary>The family table: every named model and zoo module has a row, measured numbers agree with the profiler, files are written.</summary>
public class ModelFamilyTests
{
    [Fact]
    public void Family_lists_every_named_model_and_every_zoo_module()
    {
        var entries = ModelFamily.Entries();
        entries.Where(e => e.Group == "model").Select(e => e.Name).Should().Contain(ZooModels.Names).And.Contain("segformer-b0", "boostformer-b0");
        entries.Where(e => e.Group == "module").Should().HaveCount(ZooModule.All.Count);
        entries.Single(e => e.Name == "segnext-t").ReferenceParams.Should().Be("4.3M");
        ModelFamily.Entries(11).Should().OnlyContain(e => e.ReferenceParams == null, "the published figures are for ADE20K's 150 classes");
    }

    [Fact]
    public void Family_rows_are_measured_and_written()
    {
        var only = ModelFamily.Entries(5).Where(e => e.Name is "nota-final" or "pspnet-r18" || e.Name.Contains("DEST Mix-FFN")).ToList();
        var table = ModelFamily.Run(new AblationOptions { Input = new InputSize(64, 64), Classes = 5, Runs = 0 }, null, only);
        table.Rows.Should().HaveCount(3);
        var nota = table.Row("nota-final");
        using (var m = SegformerForSemanticSegmentation.FromName("nota-final", 5)) nota.Params.Should().Be(m.parameter_count());
        nota.MacsAll.Should().Be(nota.MacsConvLinear + nota.MatmulMacs);
        nota.MatmulMacs.Should().BeGreaterThan(0);
        nota.OutputStride.Should().Be(8);
        table.Row("pspnet-r18").MatmulMacs.Should().Be(0);
        var dir = Directory.CreateTempSubdirectory("bf-family-").FullName;
        try
        {
            var (md, csv) = table.WriteTo(dir);
            File.ReadAllText(md).Should().Contain("| nota-final | model |").And.Contain("boostformer ablate --family");
            File.ReadAllLines(csv).Should().HaveCount(4);
        }
        finally { Directory.Delete(dir, true); }
    }
}
