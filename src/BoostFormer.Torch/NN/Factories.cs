using BoostFormer.Torch.Modules;

namespace BoostFormer.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static Linear Linear(long inFeatures, long outFeatures, bool hasBias = true) => new(inFeatures, outFeatures, hasBias);
        public static Conv2d Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, long groups = 1, bool bias = true) =>
            new(inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias);
        public static LayerNorm LayerNorm(long normalizedShape, double eps = 1e-5) => new(normalizedShape, eps);
        public static LayerNorm LayerNorm(long[] normalizedShape, double eps = 1e-5) => new(normalizedShape, eps);
        public static BatchNorm2d BatchNorm2d(long numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool track_running_stats = true) =>
            new(numFeatures, eps, momentum, affine, track_running_stats);
        public static Dropout Dropout(double p = 0.5) => new(p);
        public static GELU GELU() => new();
        public static ReLU ReLU(bool inplace = false) => new(inplace);
        public static Identity Identity() => new();
        public static AvgPool2d AvgPool2d(long kernelSize, long? stride = null, long padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
            new(kernelSize, stride, padding, ceilMode, countIncludePad);
        public static AdaptiveAvgPool2d AdaptiveAvgPool2d(long outputSize) => new(outputSize);
        public static AdaptiveAvgPool2d AdaptiveAvgPool2d(long[] outputSize) => new(outputSize);
        public static MaxPool2d MaxPool2d(long kernelSize, long? stride = null, long padding = 0, long dilation = 1, bool ceilMode = false) =>
            new(kernelSize, stride, padding, dilation, ceilMode);
        public static ModuleList<T> ModuleList<T>(params T[] modules) where T : Module => new(modules);
        public static Sequential Sequential(params Module<Tensor, Tensor>[] modules) => new(modules);
    }
}
