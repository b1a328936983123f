using BoostFormer.Profiling;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// The "ham" of HamNet's Hamburger (arXiv 2109.04553): non-negative matrix factorisation of the feature map by
/// multiplicative updates, as SegNeXt's and the NOTA team's <c>NMF2D</c> compute it (spatial, S groups, random bases).
/// X [B·S, D = C/S, N = H·W] ≈ Bs·Coefᵀ with bases Bs [B·S, D, R] drawn from U[0, 1) and L2-normalised over D in every
/// forward, Coef [B·S, N, R] = softmax(XᵀBs) over R; then each step Coef ← Coef ⊙ XᵀBs / (Coef·BsᵀBs + ε),
/// Bs ← Bs ⊙ X·Coef / (Bs·CoefᵀCoef + ε). <b>One-step gradient:</b> the steps run without gradient; one more Coef update and
/// the reconstruction Bs·Coefᵀ carry it. No parameters, no buffers.
/// </summary>
public sealed class HamNmf2D : nn.Module<Tensor, Tensor>
{
    /// <summary>Groups S the channels are split into (MD_S).</summary>
    public int groups { get; }
    /// <summary>Rank R of the factorisation (MD_R).</summary>
    public int rank { get; }
    /// <summary>Multiplicative-update steps in training.</summary>
    public int train_steps { get; }
    /// <summary>Multiplicative-update steps in evaluation.</summary>
    public int eval_steps { get; }
    /// <summary>The ε of the updates' denominators (1e-6 in SegNeXt, 1e-7 in the NOTA team's copy).</summary>
    public double eps { get; }

    public HamNmf2D(int rank, int train_steps, int eval_steps, double eps = 1e-6, int groups = 1) : base(nameof(HamNmf2D))
    {
        if (rank <= 0 || groups <= 0 || train_steps < 0 || eval_steps < 0) throw new ArgumentException($"NMF2D: rank {rank} and groups {groups} must be positive, steps non-negative");
        this.rank = rank; this.groups = groups; this.train_steps = train_steps; this.eval_steps = eval_steps; this.eps = eps;
    }

    /// <summary>Random initial bases [B·S, D, R]: U[0, 1), L2-normalised over D (the global generator).</summary>
    public static Tensor RandomBases(long batchGroups, long d, long r)
    {
        using var u = rand(batchGroups, d, r);
        return nn.functional.normalize(u, p: 2, dim: 1);
    }

    /// <summary>Factorises <paramref name="x"/> [B, C, H, W] from fresh random bases and returns the reconstruction, same shape.</summary>
    public override Tensor forward(Tensor x)
    {
        long b = x.size(0), c = x.size(1);
        if (c % groups != 0) throw new ArgumentException($"NMF2D: {c} channels do not split into {groups} groups");
        using var bases = RandomBases(b * groups, c / groups, rank);
        return Reconstruct(x, bases);
    }

    /// <summary>
    /// The reconstruction of <paramref name="x"/> [B, C, H, W] from the given initial <paramref name="bases"/> [B·S, C/S, R]
    /// (what <see cref="forward"/> does after drawing them; public so tests can compare with a reference).
    /// </summary>
    public Tensor Reconstruct(Tensor x, Tensor bases)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        long bs = b * groups, d = c / groups, n = h * w;
        var X = x.reshape(bs, d, n);
        var steps = training ? train_steps : eval_steps;
        Tensor B, C;
        using (no_grad())
        {
            B = bases.detach();
            C = X.transpose(1, 2).bmm(B).softmax(-1);            // [BS, N, R]
            for (int i = 0; i < steps; i++)
            {
                var num = X.transpose(1, 2).bmm(B);
                var den = C.bmm(B.transpose(1, 2).bmm(B));
                C = C * (num / den.add(Scalars.Of(eps), Scalars.One));
                num = X.bmm(C);
                den = B.bmm(C.transpose(1, 2).bmm(C));
                B = B * (num / den.add(Scalars.Of(eps), Scalars.One));
            }
        }
        // one-step gradient: one more coefficient update and the reconstruction carry the gradient
        var num2 = X.transpose(1, 2).bmm(B);
        var den2 = C.bmm(B.transpose(1, 2).bmm(B));
        var coef = C * (num2 / den2.add(Scalars.Of(eps), Scalars.One));
        var y = B.bmm(coef.transpose(1, 2)).reshape(b, c, h, w);
        if (OpCount.Active)
        {
            long r = rank;
            OpCount.Matmul(bs, n, r, d);                          // initial XᵀBs
            OpCount.Matmul((steps + 1) * bs, n, r, d);            // XᵀBs per coefficient update
            OpCount.Matmul((steps + 1) * bs, r, r, d);            // BsᵀBs
            OpCount.Matmul((steps + 1) * bs, n, r, r);            // Coef·(BsᵀBs)
            OpCount.Matmul(steps * bs, d, r, n);                  // X·Coef
            OpCount.Matmul(steps * bs, r, r, n);                  // CoefᵀCoef
            OpCount.Matmul(steps * bs, d, r, r);                  // Bs·(CoefᵀCoef)
            OpCount.Matmul(bs, d, n, r);                          // Bs·Coefᵀ
        }
        return y.MoveToOuterDisposeScope();
    }
}
