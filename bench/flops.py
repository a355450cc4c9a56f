"""FLOP model shared by every benchmark peer (and mirrored by `rnn bench`).

Only the GEMM work is counted; one multiply-add = 2 FLOPs. Elementwise work
(bias add, tanh, its derivative, the loss, Adam) is ignored.

Forward, per layer l (in_0 = input_size, in_l = H for l > 0), for T steps of a
batch of B sequences:

    2 * T * B * H * (in_l + H)        # x_t W_ih^T  +  h_{t-1} W_hh^T

plus the linear head applied at every step (H -> output_size):

    2 * T * B * H * output_size

Backward is counted as 2 x forward (for each GEMM of the forward pass there are
two of the same size in the backward pass: the input gradient dX / dh_{t-1} and
the weight gradient dW_ih / dW_hh / dW_head). A training step is therefore

    train_flops = 3 * forward_flops

Example: (H, B, T, L) = (512, 64, 64, 2), input 32, output 1:
    forward = 2*64*64*512*(32+512) + 2*64*64*512*(512+512) + 2*64*64*512*1
            = 6_580_862_976 FLOPs ; train = 19_742_588_928 FLOPs
"""

INPUT_SIZE = 32
OUTPUT_SIZE = 1
GEMM_N = 1024  # the reference GEMM is (N x N) @ (N x N)


def forward_flops(hidden_size, batch, seq_len, num_layers,
                  input_size=INPUT_SIZE, output_size=OUTPUT_SIZE):
    """FLOPs of one forward pass (all layers + head)."""
    h, b, t = hidden_size, batch, seq_len
    total = 0
    for layer in range(num_layers):
        in_l = input_size if layer == 0 else h
        total += 2 * t * b * h * (in_l + h)
    total += 2 * t * b * h * output_size
    return total


def train_flops(hidden_size, batch, seq_len, num_layers,
                input_size=INPUT_SIZE, output_size=OUTPUT_SIZE):
    """FLOPs of one training step: forward + backward (= 2 x forward)."""
    return 3 * forward_flops(hidden_size, batch, seq_len, num_layers,
                             input_size, output_size)


def gemm_flops(n=GEMM_N):
    """FLOPs of one (n x n) @ (n x n) matrix product."""
    return 2 * n * n * n


if __name__ == "__main__":
    from common import CONFIGS
    for (h, b, t, l) in CONFIGS:
        print(f"H={h:5d} B={b:3d} T={t:4d} L={l}  forward={forward_flops(h, b, t, l):>14,d}"
              f"  train={train_flops(h, b, t, l):>15,d}")
