"""Reference data-parallel training from ``torch.distributed`` primitives (answers lesson 05).

The same code as lesson 05's solutions, importable by the benchmark (``benchmarks/ddp.py``),
the torchrun script (``helpers/ddp_train.py``) and the tests (``grader/tests/test_ddp.py``):

- ``bus_bandwidth``: the all-reduce bus bandwidth ``2(p-1)/p * bytes / seconds``.
- ``broadcast_parameters``, ``average_gradients`` (one all-reduce per gradient),
  ``average_gradients_flat`` (one all-reduce of all gradients flattened).
- ``DDP``: one asynchronous all-reduce per parameter, launched from
  ``register_post_accumulate_grad_hook`` during the backward pass.
- ``assign_buckets`` and ``DDPBucketed``: gradients in buckets of ``bucket_size_mb`` MiB, in
  reverse parameter order, each all-reduced as soon as its last gradient is ready.
- ``zero_memory_per_rank`` and ``ShardedOptimizer`` (ZeRO stage 1).

All gradients are averaged by dividing by the world size before a sum all-reduce (gloo has no
``ReduceOp.AVG``). It answers lesson 05's exercises, so lesson 05's student bundle leaves it
out (``ANSWERS``).
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

ANSWERS = ("05_ddp",)  # answers lesson 05: left out of its student bundle

MiB = 1024 ** 2


def bus_bandwidth(num_bytes: float, seconds: float, world_size: int) -> float:
    """Bus bandwidth (bytes/s) of an all-reduce of ``num_bytes`` per rank taking ``seconds``."""
    return 2 * (world_size - 1) / world_size * num_bytes / seconds


def broadcast_parameters(module: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers to every rank, in place."""
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor, src=src)


def average_gradients(module: nn.Module) -> None:
    """Replace each ``.grad`` by its mean over ranks: one all-reduce per gradient."""
    world_size = dist.get_world_size()
    for p in module.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world_size)


def average_gradients_flat(module: nn.Module) -> None:
    """The same, with a single all-reduce of every gradient flattened into one buffer."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat.div_(dist.get_world_size())
    for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        g.copy_(synced)


class DDP(nn.Module):
    """Overlapped DDP: each gradient's all-reduce starts as soon as it is accumulated."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module
        self.world_size = dist.get_world_size()
        self.handles: list = []
        broadcast_parameters(module)
        for p in module.parameters():
            if p.requires_grad:
                p.register_post_accumulate_grad_hook(self._hook)

    def _hook(self, param: torch.Tensor) -> None:
        param.grad.div_(self.world_size)
        self.handles.append(dist.all_reduce(param.grad, async_op=True))

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def finish_gradient_synchronization(self) -> None:
        for handle in self.handles:
            handle.wait()
        self.handles.clear()


def assign_buckets(param_bytes: list[int], bucket_size_bytes: float) -> list[list[int]]:
    """Indices of parameters per bucket, walking the parameters in reverse order; a bucket is
    closed as soon as its size reaches ``bucket_size_bytes``."""
    buckets, current, size = [], [], 0
    for i in reversed(range(len(param_bytes))):
        current.append(i)
        size += param_bytes[i]
        if size >= bucket_size_bytes:
            buckets.append(current)
            current, size = [], 0
    if current:
        buckets.append(current)
    return buckets


class DDPBucketed(nn.Module):
    """Overlapped DDP with gradients all-reduced in buckets of ``bucket_size_mb`` MiB."""

    def __init__(self, module: nn.Module, bucket_size_mb: float):
        super().__init__()
        self.module = module
        self.world_size = dist.get_world_size()
        broadcast_parameters(module)
        params = [p for p in module.parameters() if p.requires_grad]
        sizes = [p.numel() * p.element_size() for p in params]
        self.buckets = [[params[i] for i in b] for b in assign_buckets(sizes, bucket_size_mb * MiB)]
        self.bucket_of = {id(p): b for b, bucket in enumerate(self.buckets) for p in bucket}
        self.on_train_batch_start()
        for p in params:
            p.register_post_accumulate_grad_hook(self._hook)

    def on_train_batch_start(self) -> None:
        self.ready = [0] * len(self.buckets)
        self.pending: list = []  # (handle, flat buffer, bucket index)

    def _hook(self, param: torch.Tensor) -> None:
        b = self.bucket_of[id(param)]
        self.ready[b] += 1
        if self.ready[b] == len(self.buckets[b]):
            self._launch(b)

    def _launch(self, b: int) -> None:
        flat = _flatten_dense_tensors([p.grad for p in self.buckets[b]])
        flat.div_(self.world_size)
        self.pending.append((dist.all_reduce(flat, async_op=True), flat, b))

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def finish_gradient_synchronization(self) -> None:
        for handle, flat, b in self.pending:
            handle.wait()
            grads = [p.grad for p in self.buckets[b]]
            for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
                g.copy_(synced)
        self.on_train_batch_start()


def zero_memory_per_rank(num_params: int, world_size: int, stage: int) -> dict[str, float]:
    """Bytes per rank of fp32 parameters, gradients and AdamW state (2 fp32 moments) under
    ZeRO ``stage`` 0 (plain DDP), 1 (optimizer state sharded), 2 (+ gradients), 3 (+ params)."""
    params, grads, optimizer = 4.0 * num_params, 4.0 * num_params, 8.0 * num_params
    if stage >= 1:
        optimizer /= world_size
    if stage >= 2:
        grads /= world_size
    if stage >= 3:
        params /= world_size
    return {"params": params, "grads": grads, "optimizer": optimizer}


class ShardedOptimizer(torch.optim.Optimizer):
    """ZeRO stage 1: rank r keeps the state of, and steps, parameters i with i % world_size == r
    (i counts the parameters of all groups in order); then every parameter is broadcast
    from its owner."""

    def __init__(self, params, optimizer_cls, **kwargs):
        self.optimizer_cls, self.kwargs = optimizer_cls, kwargs
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.owners: list = []          # (parameter, owning rank), in order
        self.local_optimizer = None
        super().__init__(params, kwargs)

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        mine = []
        for p in group["params"]:
            owner = len(self.owners) % self.world_size
            self.owners.append((p, owner))
            if owner == self.rank:
                mine.append(p)
        local = {k: v for k, v in group.items() if k != "params"} | {"params": mine}
        if self.local_optimizer is None:
            self.local_optimizer = self.optimizer_cls([local], **self.kwargs)
        else:
            self.local_optimizer.add_param_group(local)

    @torch.no_grad()
    def step(self, closure=None):
        loss = self.local_optimizer.step(closure)
        for p, owner in self.owners:
            dist.broadcast(p.data, src=owner)
        return loss

    def state_dict(self):
        """This rank's shard of the optimizer state (each rank saves its own, as ZeRO does)."""
        return self.local_optimizer.state_dict()
