"""Building blocks shared by the acoustic model (FastSpeech 2 / FastPitch family).

Every block takes a boolean mask (True = real position) and zeroes padded positions
before each convolution wider than one frame, and attention never reads a padded key, so
an item of a padded batch computes exactly what it computes alone (up to float rounding).
Positions that nothing else reads (a pointwise layer's input, a block's output) are left
as they are: the model masks its outputs once. Masks are multiplications and an additive
attention bias, the cheapest form in an exported graph (a ``where`` per tensor cost ~15 %
of the CPU decoder's time). Nothing here loops over the sequence length in Python or
branches on tensor values, so the blocks trace / export (ONNX opset 17+, TensorRT).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "masked_fill_zero",
    "attention_bias",
    "sinusoidal_positions",
    "MultiHeadSelfAttention",
    "ConvFeedForward",
    "FFTBlock",
    "VariancePredictor",
]


def masked_fill_zero(x: Tensor, mask: Tensor) -> Tensor:
    """Zero ``x`` [B, T, ...] where ``mask`` [B, T] is False.

    A multiplication (one cheap op in an exported graph): padded values must be finite,
    which every layer here keeps them (layer norms and finite weights).
    """
    m = mask.reshape(mask.shape + (1,) * (x.dim() - mask.dim()))
    return x * m.to(x.dtype)


#: Added to the attention logits of padded keys: exp(-1e4 - max) is exactly 0 in fp32 and
#: fp16 alike, and unlike -inf a row without any real key stays finite (uniform weights).
_MASKED_LOGIT = -1e4


def attention_bias(mask: Tensor, dtype: torch.dtype) -> Tensor:
    """Additive attention mask [B, 1, 1, T] from a key mask [B, T]: 0 = may attend."""
    return ((~mask).to(dtype) * _MASKED_LOGIT)[:, None, None, :]


def sinusoidal_positions(x: Tensor) -> Tensor:
    """Sinusoidal position encoding [1, T, D] for ``x`` [B, T, D], built on the fly.

    The first D/2 channels are sines, the last D/2 cosines (Vaswani et al. frequencies).
    No table and no maximum length: it is computed from ``torch.arange`` of x's length,
    which stays a dynamic shape under export.
    """
    d = x.shape[-1]
    pos = torch.arange(x.shape[1], device=x.device, dtype=torch.float32).unsqueeze(1)
    idx = torch.arange(0, d, 2, device=x.device, dtype=torch.float32)
    inv_freq = torch.exp(idx * (-math.log(10000.0) / d))
    angles = pos * inv_freq.unsqueeze(0)  # [T, D/2]
    pe = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    return pe.unsqueeze(0).to(x.dtype)


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention on [B, T, D] with a key padding mask (SDPA)."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [B, H, T, Dh]
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attention_bias(mask, q.dtype), dropout_p=self.dropout if self.training else 0.0
        )
        y = y.transpose(1, 2).reshape(b, t, d)
        return self.out(y)


class ConvFeedForward(nn.Module):
    """Conv1d(k0) -> ReLU -> Conv1d(k1) position-wise network of FastSpeech."""

    def __init__(self, d_model: int, ffn_dim: int, kernels: tuple[int, int], dropout: float) -> None:
        super().__init__()
        k0, k1 = kernels
        self.conv1 = nn.Conv1d(d_model, ffn_dim, k0, padding=(k0 - 1) // 2)
        self.conv2 = nn.Conv1d(ffn_dim, d_model, k1, padding=(k1 - 1) // 2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = torch.relu(self.conv1(masked_fill_zero(x, mask).transpose(1, 2)))
        if self.conv2.kernel_size[0] > 1:  # a pointwise conv reads no neighbour: no mask
            h = h * mask.unsqueeze(1).to(h.dtype)
        return self.dropout(self.conv2(h).transpose(1, 2))


class FFTBlock(nn.Module):
    """Feed-forward Transformer block (post-LN): attention + LN, conv FFN + LN."""

    def __init__(
        self, d_model: int, n_heads: int, ffn_dim: int, kernels: tuple[int, int], dropout: float
    ) -> None:
        super().__init__()
        self.attn = MultiHeadSelfAttention(d_model, n_heads, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.ffn = ConvFeedForward(d_model, ffn_dim, kernels, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """[B, T, D] -> [B, T, D]; padded positions of the output are not zeroed."""
        x = self.norm1(x + self.dropout(self.attn(x, mask)))
        return self.norm2(x + self.ffn(x, mask))


class VariancePredictor(nn.Module):
    """2 x [Conv1d, ReLU, LayerNorm, Dropout] + Linear -> 1; output [B, T], 0 at padding."""

    def __init__(
        self, d_model: int, filter_size: int, kernel: int, dropout: float, bias_init: float = 0.0
    ) -> None:
        super().__init__()
        pad = (kernel - 1) // 2
        self.conv1 = nn.Conv1d(d_model, filter_size, kernel, padding=pad)
        self.norm1 = nn.LayerNorm(filter_size)
        self.conv2 = nn.Conv1d(filter_size, filter_size, kernel, padding=pad)
        self.norm2 = nn.LayerNorm(filter_size)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(filter_size, 1)
        # Small output weights: an untrained model predicts ~bias_init everywhere.
        nn.init.normal_(self.proj.weight, std=0.01)
        nn.init.constant_(self.proj.bias, bias_init)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = self.conv1(masked_fill_zero(x, mask).transpose(1, 2))
        h = self.dropout(self.norm1(torch.relu(h).transpose(1, 2)))
        h = self.conv2(masked_fill_zero(h, mask).transpose(1, 2))
        h = self.dropout(self.norm2(torch.relu(h).transpose(1, 2)))
        return self.proj(h).squeeze(-1).masked_fill(~mask, 0.0)
