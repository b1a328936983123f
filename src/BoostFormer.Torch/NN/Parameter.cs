namespace BoostFormer.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// A tensor that is a module parameter: a leaf that requires grad by default. It is never owned by a dispose scope —
        /// its module disposes it.
        /// </summary>
        public class Parameter : Tensor
        {
            public Parameter(Tensor data, bool requires_grad = true) : base(DetachedAlias(data))
            {
                DetachFromDisposeScope();
                this.requires_grad = requires_grad;
            }

            private static IntPtr DetachedAlias(Tensor data)
            {
                using var d = data.detach();
                return Native.Check(Native.bf_tensor_alias(d.Handle));
            }
        }
    }
}
