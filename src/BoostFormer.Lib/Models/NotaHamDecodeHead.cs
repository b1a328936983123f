using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>The team code's <c>ConvRelu</c> (<c>squeeze</c>): a 1x1 conv without bias (<c>conv</c>) then ReLU (<c>act</c>).</summary>
public sealed class NotaConvRelu : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv;
    public readonly ReLU act;

    public NotaConvRelu(int inChannels, int outChannels) : base(nameof(NotaConvRelu))
    {
        conv = nn.Conv2d(inChannels, outChannels, 1, bias: false);
        act = nn.ReLU();
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var c = conv.call(input);
        return act.call(c);
    }
}

/// <summary>
/// The team code's <c>HamBurger</c> as its final model builds it: no "bread" convs, no "cheese" — relu(NMF(x) + x)
/// (<c>ham</c>: <see cref="HamNmf2D"/>, no parameters).
/// </summary>
public sealed class NotaHamBurger : nn.Module<Tensor, Tensor>
{
    public readonly HamNmf2D ham;

    public NotaHamBurger(HamNmf2D ham) : base(nameof(NotaHamBurger))
    {
        this.ham = ham;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return nn.functional.relu(ham.call(input).add_(input, Scalars.One)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The NOTA team's <c>HamDecoder</c> (final commit 5f69516): stages 2–4 resized bilinearly (align_corners=false) to the
/// 1/8 grid of stage 2 and concatenated (ΣC = 896 for the final model), a 1x1 conv without bias + ReLU to the decoder
/// width (<c>squeeze</c>), the parameter-free HamBurger (<c>ham_attn</c>: relu(NMF(x) + x), rank 64, bases random every
/// forward), then Dropout2d and a 1x1 classifier (<c>classifier.0</c>, <c>classifier.1</c>). Logits at 1/8 resolution.
/// Registration follows the team code: classifier, squeeze, ham_attn.
/// </summary>
public sealed class NotaHamDecodeHead : SegmentationDecodeHeadBase
{
    public readonly Sequential classifier;
    public readonly NotaConvRelu squeeze;
    public readonly NotaHamBurger ham_attn;

    public NotaHamDecodeHead(SegformerConfig config) : base(nameof(NotaHamDecodeHead))
    {
        var d = config.decoder_hidden_size;
        classifier = nn.Sequential(nn.Dropout2d(config.classifier_dropout_prob), nn.Conv2d(d, config.num_labels, 1));
        squeeze = new NotaConvRelu(config.hidden_sizes.Skip(1).Sum(), d);
        ham_attn = new NotaHamBurger(new HamNmf2D(config.ham_rank, config.ham_train_steps, config.ham_eval_steps, eps: 1e-7));
        RegisterComponents();
    }

    public override int OutputStride => 8;

    public override Tensor forward(IReadOnlyList<Tensor> encoder_hidden_states)
    {
        using var scope = NewDisposeScope();
        var x = HamHeads.ConcatAtStage2(encoder_hidden_states);
        return classifier.call(ham_attn.call(squeeze.call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>What the HamBurger heads share.</summary>
internal static class HamHeads
{
    /// <summary>Stages 2–4 resized bilinearly (align_corners=false) to stage 2's grid and concatenated along channels.</summary>
    public static Tensor ConcatAtStage2(IReadOnlyList<Tensor> hidden)
    {
        if (hidden.Count != 4) throw new ArgumentException($"the HamBurger heads take four stage outputs, got {hidden.Count}");
        var size = new[] { hidden[1].size(2), hidden[1].size(3) };
        var maps = new List<Tensor>();
        for (int i = 1; i < 4; i++)
        {
            var t = hidden[i];
            if (t.size(2) == size[0] && t.size(3) == size[1]) maps.Add(t);
            else
            {
                var up = nn.functional.interpolate(t, size, mode: InterpolationMode.Bilinear, align_corners: false);
                if (Profiling.OpCount.Active) Profiling.OpCount.Other("upsample", up.numel());
                maps.Add(up);
            }
        }
        return cat(maps, 1);
    }
}
