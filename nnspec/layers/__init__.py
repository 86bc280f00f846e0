"""The layer registry: kind name -> LayerType. One line per kind."""
from . import attention, conv, dense, elementwise, embedding, merge, norm, pool, recurrent, reshape
from .base import LayerType, ShapeProblem

REGISTRY = {
    "conv": conv.LAYER,
    "dense": dense.LAYER,
    "maxpool": pool.MAXPOOL,
    "avgpool": pool.AVGPOOL,
    "globalmaxpool": pool.GLOBAL_MAXPOOL,
    "globalavgpool": pool.GLOBAL_AVGPOOL,
    "flatten": reshape.FLATTEN_LAYER,
    "reshape": reshape.RESHAPE_LAYER,
    "upsample": reshape.UPSAMPLE_LAYER,
    "dropout": elementwise.DROPOUT_LAYER,
    "batchnorm": norm.BATCHNORM_LAYER,
    "layernorm": norm.LAYERNORM_LAYER,
    "rnn": recurrent.RNN,
    "lstm": recurrent.LSTM,
    "gru": recurrent.GRU,
    "attention": attention.LAYER,
    "embedding": embedding.LAYER,
    "add": merge.ADD,
    "concat": merge.CONCAT,
    **elementwise.ACTIVATION_LAYERS,  # relu, softmax, ... as layers of their own
}

__all__ = ["REGISTRY", "LayerType", "ShapeProblem"]
