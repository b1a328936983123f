namespace BoostFormer.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>In-place parameter initialisers (PyTorch's <c>torch.nn.init</c>); all run without recording gradients.</summary>
        public static class init
        {
            public static (long fanIn, long fanOut) CalculateFanInAndFanOut(Tensor t)
            {
                var s = t.shape;
                if (s.Length < 2) throw new ArgumentException("fan in and fan out can not be computed for a tensor with fewer than 2 dimensions");
                long receptive = 1;
                for (int i = 2; i < s.Length; i++) receptive *= s[i];
                return (s[1] * receptive, s[0] * receptive);
            }

            public static Tensor zeros_(Tensor t) { using (no_grad()) t.zero_(); return t; }
            public static Tensor ones_(Tensor t) { using (no_grad()) t.fill_(1.0); return t; }
            public static Tensor constant_(Tensor t, Scalar v) { using (no_grad()) t.fill_(v); return t; }
            public static Tensor normal_(Tensor t, double mean = 0, double std = 1) { using (no_grad()) t.normal_(mean, std); return t; }
            public static Tensor uniform_(Tensor t, double a = 0, double b = 1) { using (no_grad()) t.uniform_(a, b); return t; }

            /// <summary>
            /// Normal(mean, std) truncated to [a, b], sampled by inverse CDF exactly as PyTorch's <c>trunc_normal_</c>.
            /// </summary>
            public static Tensor trunc_normal_(Tensor t, double mean = 0, double std = 1, double a = -2, double b = 2)
            {
                static double NormCdf(double x) => (1 + Erf(x / Math.Sqrt(2))) / 2;
                using (no_grad())
                {
                    var l = NormCdf((a - mean) / std);
                    var u = NormCdf((b - mean) / std);
                    t.uniform_(2 * l - 1, 2 * u - 1);
                    t.erfinv_();
                    t.mul_(std * Math.Sqrt(2));
                    t.add_(mean);
                    t.clamp_(a, b);
                }
                return t;
            }

            private static double Erf(double x)
            {
                // Abramowitz–Stegun 7.1.26 is too coarse for bounds; use a series/continued-fraction pair via MathF-free code.
                double sign = Math.Sign(x);
                x = Math.Abs(x);
                if (x < 3)
                {
                    double sum = x, term = x, x2 = x * x;
                    for (int n = 1; n < 200; n++)
                    {
                        term *= -x2 / n;
                        var add = term / (2 * n + 1);
                        sum += add;
                        if (Math.Abs(add) < 1e-17) break;
                    }
                    return sign * 2 / Math.Sqrt(Math.PI) * sum;
                }
                // Continued fraction for erfc at large x.
                double f = 0;
                for (int n = 60; n >= 1; n--) f = n / 2.0 / (x + f);
                var erfc = Math.Exp(-x * x) / Math.Sqrt(Math.PI) / (x + f);
                return sign * (1 - erfc);
            }

            public static double calculate_gain(string nonlinearity, double? param = null) => nonlinearity switch
            {
                "linear" or "conv2d" or "sigmoid" => 1.0,
                "tanh" => 5.0 / 3,
                "relu" => Math.Sqrt(2.0),
                "leaky_relu" => Math.Sqrt(2.0 / (1 + Math.Pow(param ?? 0.01, 2))),
                "selu" => 3.0 / 4,
                _ => throw new ArgumentException($"unsupported nonlinearity {nonlinearity}"),
            };

            /// <summary>He initialisation: N(0, gain/sqrt(fan)).</summary>
            public static Tensor kaiming_normal_(Tensor t, double a = 0, string mode = "fan_in", string nonlinearity = "leaky_relu")
            {
                var (fi, fo) = CalculateFanInAndFanOut(t);
                var std = calculate_gain(nonlinearity, a) / Math.Sqrt(mode == "fan_in" ? fi : fo);
                return normal_(t, 0, std);
            }

            /// <summary>He uniform initialisation: U(-b, b) with b = gain·sqrt(3/fan).</summary>
            public static Tensor kaiming_uniform_(Tensor t, double a = 0, string mode = "fan_in", string nonlinearity = "leaky_relu")
            {
                var (fi, fo) = CalculateFanInAndFanOut(t);
                var bound = calculate_gain(nonlinearity, a) * Math.Sqrt(3.0 / (mode == "fan_in" ? fi : fo));
                return uniform_(t, -bound, bound);
            }

            /// <summary>Glorot uniform: U(-b, b) with b = gain·sqrt(6/(fan_in+fan_out)).</summary>
            public static Tensor xavier_uniform_(Tensor t, double gain = 1.0)
            {
                var (fi, fo) = CalculateFanInAndFanOut(t);
                var bound = gain * Math.Sqrt(6.0 / (fi + fo));
                return uniform_(t, -bound, bound);
            }

            public static Tensor xavier_normal_(Tensor t, double gain = 1.0)
            {
                var (fi, fo) = CalculateFanInAndFanOut(t);
                return normal_(t, 0, gain * Math.Sqrt(2.0 / (fi + fo)));
            }
        }
    }
}
