using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

[Collection(ProcessWideSettings.Name)]
public class ThreadSettingsTests
{
    [Fact]
    public void ThreadsCanBeSetAndRead()
    {
        var n = get_num_threads();
        try
        {
            set_num_threads(1);
            get_num_threads().Should().Be(1);
        }
        finally
        {
            set_num_threads(n);
        }
        get_num_threads().Should().Be(n);
    }
}
