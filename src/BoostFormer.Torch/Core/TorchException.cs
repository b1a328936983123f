namespace BoostFormer.Torch;

/// <summary>An error raised inside libtorch (a <c>c10::Error</c> or C++ exception), carrying libtorch's own message.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }
}
