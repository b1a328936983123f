using System.Runtime.CompilerServices;

// The binding's tests exercise internal plumbing (Op lookup, native errors) directly.
[assembly: InternalsVisibleTo("BoostFormer.Torch.Tests")]
