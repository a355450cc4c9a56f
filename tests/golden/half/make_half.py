#!/usr/bin/env python3
"""Half-precision state_dicts, as PyTorch users save them (`module.half().state_dict()`,
`.bfloat16()`), and PyTorch's own float64 outputs for them: the golden files of
`tests/it/golden.rs::half_precision_state_dicts_run_to_pytorchs_numbers`.

    python3 tests/golden/half/make_half.py        # rewrites the files beside this script

For each case: `NAME.safetensors` (the bare state_dict in F16 or BF16, exactly as
`safetensors.torch.save_file` writes it) and `NAME.io.safetensors` (x [T, B, in], h0, c0 for an
LSTM, and PyTorch's output and h_n, computed in float64 by the same module with its
half-precision weights widened, so the only rounding left is float64's). Needs torch and
safetensors.
"""

from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent

CASES = [
    # name, module, dtype
    ("lstm_2l_f16", lambda: torch.nn.LSTM(3, 4, num_layers=2), torch.float16),
    ("gru_1l_bidir_bf16", lambda: torch.nn.GRU(3, 5, bidirectional=True), torch.bfloat16),
    ("rnn_1l_relu_f16", lambda: torch.nn.RNN(2, 3, nonlinearity="relu"), torch.float16),
]


def main() -> None:
    for i, (name, make, dtype) in enumerate(CASES):
        torch.manual_seed(100 + i)
        module = make().to(dtype)
        save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(OUT / f"{name}.safetensors"))
        wide = module.double()
        dirs = 2 if wide.bidirectional else 1
        x = torch.randn(6, 2, wide.input_size, dtype=torch.float64)
        h0 = torch.randn(wide.num_layers * dirs, 2, wide.hidden_size, dtype=torch.float64)
        io = {"x": x, "h0": h0}
        with torch.no_grad():
            if isinstance(wide, torch.nn.LSTM):
                c0 = torch.randn_like(h0)
                io["c0"] = c0
                y, (h_n, _) = wide(x, (h0, c0))
            else:
                y, h_n = wide(x, h0)
        io.update(output=y, h_n=h_n)
        save_file({k: v.contiguous() for k, v in io.items()}, str(OUT / f"{name}.io.safetensors"),
                  metadata={"torch": torch.__version__})
        print(f"{name}: {dtype}, {sum(p.numel() for p in module.parameters())} parameters")


if __name__ == "__main__":
    main()
