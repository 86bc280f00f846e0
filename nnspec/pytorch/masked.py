"""The torch engine's layers over a masked sequence (embedding mask_zero=true),
as the numpy engine computes them (engine/layers/: steps.py, pool_global.py,
attention.py): masks are (batch, time) bool, True where a step is seen."""
import torch
import torch.nn.functional as F


def recurrent(run, x, mask, sequences, split=None):
    """A recurrent layer over a masked sequence (embedding mask_zero=true), as
    the numpy engine's, whose masked steps keep the state: the cell over each
    row's seen steps alone. They are moved to the front of their row (in order:
    a seen step's place is the count of seen steps up to it) and run packed
    (pack_padded_sequence), and every state goes back to its step, zeros at the
    masked. A row with no step seen runs one zero step (pack takes no empty
    row) whose state is dropped: its last state is 0, as the numpy engine's."""
    from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
    n, t, _ = x.shape
    rows, steps = mask.nonzero(as_tuple=True)
    place = (mask.long().cumsum(1) - 1)[rows, steps]
    front = x.new_zeros(x.shape).index_put((rows, place), x[rows, steps])
    lengths = mask.sum(1)
    packed = pack_padded_sequence(front, lengths.clamp(min=1).cpu(), batch_first=True,
                                  enforce_sorted=False)
    data = run(packed.data, packed.batch_sizes)
    out = pad_packed_sequence(PackedSequence(data, *packed[1:]), batch_first=True,
                             total_length=t)[0]
    if sequences:
        return out.new_zeros(n, t, out.shape[-1]).index_put((rows, steps), out[rows, place])
    last = out[torch.arange(n, device=x.device), lengths.clamp(min=1) - 1]
    if split is not None:  # the backward direction's last state: after the first seen step
        last = torch.cat([last[:, :split], out[:, 0, split:]], dim=1)
    return last * (lengths > 0)[:, None].to(last.dtype)


def attention(q, k, v, mask, causal):
    """Attention's heads (batch, heads, time, d) where masked steps are no keys; a
    query that sees no key (a causal one before the first seen step, or a row
    with none seen) gets zeros, not NaN."""
    t = q.shape[2]
    sees = mask[:, None, None, :]
    if causal:
        sees = sees & torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
    some = sees.any(-1, keepdim=True)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=sees | ~some) * some


def global_pool(reduce, over_seen):
    """A global pool's builder (modules.BUILDERS): reduce(x, axes), or over_seen(x,
    seen) over a masked sequence."""
    def build(node, in_shape, w, net):
        axes = tuple(range(1, len(in_shape)))
        return lambda x, mask=None: reduce(x, dim=axes) if mask is None else \
            over_seen(x, mask[..., None])
    return build


def max_pool(x, seen):
    """The max over the seen steps of (batch, time, features); 0 where none is."""
    return torch.where(seen.any(1), x.masked_fill(~seen, float("-inf")).amax(1), 0)


def mean_pool(x, seen):
    return (x * seen).sum(1) / seen.sum(1).clamp(min=1).to(x.dtype)
