"""The CPU a benchmark runs on, and the cap that makes an AVX-512 machine measure as an AVX2 one.

Used by `bench_finetune.py` and `bench_compare.py`: each side runs natively and once with every
library's instruction set capped to AVX2 (`--isa native,avx2`, the default), so a 2-core AVX-512
server can say what an AVX2 laptop sees. The cap is a set of environment variables, set in the
child process before any library loads (each is read once, at start-up):

- `ONEDNN_MAX_CPU_ISA=AVX2`: oneDNN's dispatcher (TensorFlow's matmuls and convolutions,
  PyTorch's mkldnn ops, the oneDNN inside jaxlib). Verified in oneDNN's
  `doc/performance_considerations/dispatcher_control.md` (uxlfoundation/oneDNN, formerly
  oneapi-src: "limit processor features oneDNN is able to detect", values SSE41 ... AVX2 ...
  AVX512_CORE ...); oneDNN reads it as prefix `ONEDNN_` + `MAX_CPU_ISA`, both strings present in
  this venv's `tensorflow/libtensorflow_cc.so.2`, `torch/lib/libtorch_cpu.so` and
  `jaxlib/libjax_common.so`. Effect checked with `ONEDNN_VERBOSE=1`: TensorFlow prints
  `onednn_verbose,...,info,cpu,isa:Intel AVX2` with the cap.
- `MKL_ENABLE_INSTRUCTIONS=AVX2`: oneMKL, which PyTorch's CPU wheel links for its float GEMMs
  (`torch.__config__.show()`: BLAS_INFO=mkl). Verified in Intel's oneMKL developer guide
  ("Instruction Set Specific Dispatching on Intel Architectures": the variable selects the ISA
  code path; "This feature is not available on non-Intel processors": on AMD it does nothing,
  and oneMKL takes its generic path there anyway); the string is in `libtorch_cpu.so`.
  `MKL_VERBOSE=1` names the code path on the first call (an AMD EPYC reads
  "Intel(R) Architecture processors").
- `ATEN_CPU_CAPABILITY=avx2`: PyTorch's own vectorised kernels. Verified in pytorch/pytorch
  `aten/src/ATen/native/DispatchStub.cpp` (`compute_cpu_capability` reads it with `getenv`, an
  invalid value is ignored with a warning; "avx2", "avx512", "default" are strings in
  `libtorch_cpu.so`); `torch.backends.cpu.get_cpu_capability()` returns the choice (checked:
  "DEFAULT" with `ATEN_CPU_CAPABILITY=default`, "AVX2" with avx2).
- `XLA_FLAGS=--xla_cpu_max_isa=AVX2`: XLA:CPU's LLVM code generation (jax; TensorFlow only
  under `jit_compile`). Verified in openxla/xla `xla/debug_options_flags.cc` ("Maximum ISA that
  XLA:CPU LLVM backend will codegen ... Available values: SSE4_2, AVX, AVX2, AVX512,
  AVX512_VNNI, AVX512_BF16, AMX, and AMX_FP16") and in this venv's `jaxlib/libjax_common.so`
  (flag name and the log line "`xla_cpu_max_isa` is set. Will not use features newer than: ").
  jax aborts on an unknown flag name (`Unknown flag in XLA_FLAGS`, checked) and only warns on an
  unknown value (`Unknown CPU ISA`), so `isa_evidence` reads XLA's own log line. Kernels that
  XLA calls from libraries (Eigen, YNNPACK) are not covered by this flag as far as we checked.

TensorFlow's own (non-oneDNN) kernels are compiled for the wheel's baseline, not dispatched at
run time: its start-up log says so ("To enable the following instructions: AVX2 FMA, in other
operations, rebuild TensorFlow", on this AVX2 machine), so no variable caps or uncaps them.
"""

import os
import re
import subprocess
import sys

CAP = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
}
XLA_CAP = "--xla_cpu_max_isa=AVX2"
ISA_SETTINGS = ("native", "avx2")
NO_AVX512 = "this CPU has no AVX-512: the capped run equals the native one"


def cpu_model_and_flags(path="/proc/cpuinfo"):
    """The CPU's model name and whether it has avx2, avx512f, avx512_bf16 and amx (any amx_*)."""
    model, flags = "unknown", set()
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown":
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return {
        "model": model,
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx": any(flag.startswith("amx") for flag in flags),
    }


def describe_cpu(info=None):
    """One line for the top of a benchmark's output: the model and its instruction sets."""
    info = info or cpu_model_and_flags()
    flags = ", ".join(
        f"{name} {'yes' if info[name] else 'no'}"
        for name in ("avx2", "avx512f", "avx512_bf16", "amx")
    )
    return f"CPU: {info['model']}, {os.cpu_count()} cores visible; {flags}"


def capped_env(env):
    """A copy of `env` with every library capped to AVX2 (see the module docstring)."""
    env = dict(env, **CAP)
    flags = [f for f in env.get("XLA_FLAGS", "").split() if "xla_cpu_max_isa" not in f]
    env["XLA_FLAGS"] = " ".join([*flags, XLA_CAP])
    return env


def env_for(setting, env):
    """The environment of a child run in `setting` ("native" or "avx2")."""
    return capped_env(env) if setting == "avx2" else dict(env)


def isa_settings(requested, info=None):
    """The settings to run for `--isa` (e.g. "native,avx2") and a note for the output.

    Without AVX-512 the two settings are the same machine: asked for both, run once (capped, so
    the evidence shows the cap set) and call it avx2."""
    names = [name.strip() for name in requested.split(",") if name.strip()]
    if not names or any(name not in ISA_SETTINGS for name in names):
        raise SystemExit(f"--isa: choose from {', '.join(ISA_SETTINGS)} (comma-separated)")
    names = [name for name in ISA_SETTINGS if name in names]
    info = info or cpu_model_and_flags()
    if info["avx512f"]:
        return names, ""
    return (["avx2"] if len(names) == 2 else names), NO_AVX512


PROBES = {
    # ATen's choice, then one MKL SGEMM (MKL_VERBOSE names its code path).
    "torch": "import torch\n"
    "print('ATEN', torch.backends.cpu.get_cpu_capability(), flush=True)\n"
    "(torch.ones(64, 64) @ torch.ones(64, 64)).sum().item()\n",
    # One oneDNN matmul (ONEDNN_VERBOSE prints the ISA oneDNN dispatches to).
    "tensorflow": "import tensorflow as tf\n"
    "float(tf.reduce_sum(tf.matmul(tf.ones((8, 8)), tf.ones((8, 8)))))\n",
    # One XLA compilation (its VLOG(1) line says whether xla_cpu_max_isa is set).
    "jax": "import jax.numpy as jnp\nfloat((jnp.ones((8, 8)) @ jnp.ones((8, 8))).sum())\n",
}


def isa_evidence(backend, env=None):
    """What the libraries of `backend` dispatch to under `env` (default: this process's).

    Runs a tiny probe in a subprocess with the same environment plus the libraries' verbose
    switches, so the benchmark's own process stays quiet; returns one line."""
    env = dict(os.environ if env is None else env)
    env.update(
        ONEDNN_VERBOSE="1",
        MKL_VERBOSE="1",
        TF_CPP_MIN_LOG_LEVEL="0",
        TF_CPP_VMODULE="cpu_compiler=1",
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", PROBES[backend]],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    except subprocess.TimeoutExpired:
        return f"{backend}: probe timed out"
    text = out.stdout + out.stderr
    found = []
    if backend == "torch":
        aten = re.search(r"^ATEN (\S+)", text, re.M)
        mkl = re.search(r"MKL_VERBOSE oneMKL .*? architecture (.*?), Lnx", text)
        found.append(f"ATen {aten.group(1) if aten else '?'}")
        found.append(f"MKL path: {mkl.group(1) if mkl else '?'}")
    if backend == "tensorflow":
        isa = re.search(r"onednn_verbose,.*?info,cpu,isa:(.*)", text)
        found.append(f"oneDNN isa: {isa.group(1).strip() if isa else '?'}")
    if backend == "jax":
        isa = re.search(r"Will not use features newer than: (\S+)", text)
        bad = re.search(r"Unknown CPU ISA: (\S+)", text)
        if bad:
            found.append(f"XLA ignored xla_cpu_max_isa={bad.group(1)} (unknown value)")
        found.append(f"XLA max ISA: {isa.group(1) if isa else 'not set (every host feature)'}")
    if out.returncode:
        found.append(f"probe failed (exit {out.returncode}): {text.strip()[-300:]}")
    return f"{backend}: " + "; ".join(found)


if __name__ == "__main__":
    print(describe_cpu())
    for setting in ISA_SETTINGS:
        for backend in PROBES:
            print(f"{setting}: {isa_evidence(backend, env_for(setting, os.environ))}")
