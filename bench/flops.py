"""FLOP model shared by every benchmark peer (and mirrored by `rnn bench`,
`rnn::bench::BenchShape::forward_flops(cell)`).

Only the GEMM work is counted; one multiply-add = 2 FLOPs. Elementwise work
(bias add, tanh / sigmoid and their derivatives, the gate products of LSTM and
GRU, the loss, Adam) is not counted in the GFLOP/s figures (see
`elementwise_flops` below for how small it is).

A cell has G gate blocks stacked in W_ih [G*H, in] and W_hh [G*H, H]:
G = 1 for the Elman RNN, 4 for the LSTM (i, f, g, o), 3 for the GRU (r, z, n).

Forward, per layer l (in_0 = input_size, in_l = H for l > 0), for T steps of a
batch of B sequences:

    2 * T * B * G * H * (in_l + H)    # x_t W_ih^T  +  h_{t-1} W_hh^T

plus the linear head applied at every step (H -> output_size):

    2 * T * B * H * output_size

Backward is counted as 2 x forward (for each GEMM of the forward pass there are
two of the same size in the backward pass: the input gradient dX / dh_{t-1} and
the weight gradient dW_ih / dW_hh / dW_head). A training step is therefore

    train_flops = 3 * forward_flops

Example: (H, B, T, L) = (512, 64, 64, 2), input 32, output 1, Elman:
    forward = 2*64*64*512*(32+512) + 2*64*64*512*(512+512) + 2*64*64*512*1
            = 6_580_862_976 FLOPs ; train = 19_742_588_928 FLOPs
The LSTM counts 4x and the GRU 3x the layer terms (the head is the same).
"""

INPUT_SIZE = 32
OUTPUT_SIZE = 1
GEMM_N = 1024  # the reference GEMM is (N x N) @ (N x N)

CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}

# Elementwise FLOPs per hidden unit per step of the forward pass (informational,
# NOT part of forward_flops / train_flops): bias adds, activations and gate math,
# an activation counting 1.
#   rnn : bias 1, tanh 1                                               = 2
#   lstm: bias 4, sigmoid 3, tanh(g) 1, c = f*c + i*g 3,
#         tanh(c) 1, h = o*tanh(c) 1                                   = 13
#   gru : bias 6 (b_ih, b_hh kept apart), r/z pre-activation adds 2,
#         sigmoid 2, r*(W_hn h + b_hn) 1, + x_n 1, tanh 1,
#         h = (1-z)*n + z*h 4                                          = 17
ELEMENTWISE_PER_UNIT = {"rnn": 2, "lstm": 13, "gru": 17}


def gates(cell="rnn"):
    try:
        return GATES[cell]
    except KeyError:
        raise ValueError(f"unknown cell {cell!r}; expected one of {CELLS}") from None


def forward_flops(hidden_size, batch, seq_len, num_layers, cell="rnn",
                  input_size=INPUT_SIZE, output_size=OUTPUT_SIZE):
    """GEMM FLOPs of one forward pass (all layers + head) of `cell`."""
    h, b, t, g = hidden_size, batch, seq_len, gates(cell)
    total = 0
    for layer in range(num_layers):
        in_l = input_size if layer == 0 else h
        total += 2 * t * b * g * h * (in_l + h)
    total += 2 * t * b * h * output_size
    return total


def train_flops(hidden_size, batch, seq_len, num_layers, cell="rnn",
                input_size=INPUT_SIZE, output_size=OUTPUT_SIZE):
    """GEMM FLOPs of one training step: forward + backward (= 2 x forward)."""
    return 3 * forward_flops(hidden_size, batch, seq_len, num_layers, cell,
                             input_size, output_size)


def elementwise_flops(hidden_size, batch, seq_len, num_layers, cell="rnn"):
    """Elementwise FLOPs of one forward pass (informational only)."""
    return ELEMENTWISE_PER_UNIT[cell] * seq_len * batch * hidden_size * num_layers


def gemm_flops(n=GEMM_N):
    """FLOPs of one (n x n) @ (n x n) matrix product."""
    return 2 * n * n * n


if __name__ == "__main__":
    from common import CONFIGS
    for cell in CELLS:
        print(f"{cell} (G = {gates(cell)})")
        for (h, b, t, l) in CONFIGS:
            fwd = forward_flops(h, b, t, l, cell)
            ew = elementwise_flops(h, b, t, l, cell)
            print(f"  H={h:5d} B={b:3d} T={t:4d} L={l}  forward={fwd:>15,d}"
                  f"  train={train_flops(h, b, t, l, cell):>16,d}"
                  f"  (elementwise, not counted: {ew:,d} = {100 * ew / fwd:.2f}% of forward)")
