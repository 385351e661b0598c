"""Trusted cases of lesson 05 (``grader.trusted``): hidden inputs, compared outside the kernel.

Never released (``solutions/`` is not in a bundle) and hidden from students' kernels. Every
graded test cell has cases. The multi-process exercises run through ``on_ranks_case`` (the
``on_ranks`` driver of ``grader.trusted.drivers``): a job of ``helpers.ddp`` on 2 gloo
processes of the CPU, given
the student's function or class, returns each rank's final model state (compared with
float tolerance against the solution's), or the record of ``dist.all_reduce`` calls of one
training step (sizes, async, during backward: compared exactly, so a DDP that synchronizes
after backward, or buckets built in forward order, fail), or the optimizer state each rank
holds (exactly: ZeRO-1 must shard by the rule the contract states).

What the in-kernel tests check that no case does: nothing beyond these; they run the same
jobs on other models and bucket sizes. A case's ``hint`` is what the student reads when it
fails (never its inputs or values).
"""
from grader.trusted import Case, on_ranks_case

TOL = {"rtol": 1e-4, "atol": 1e-5}   # float32 sums in another order (all-reduce vs one batch)


def ranks(job, objects, hint=None, **kwargs):
    """``helpers.ddp.<job>`` on 2 gloo ranks, given the notebook's ``objects`` by name."""
    return on_ranks_case(f"helpers.ddp.{job}", objects=objects, hint=hint, **kwargs)


OVERLAP = ("all-reduce each gradient asynchronously from a hook as it becomes ready during "
           "backward, not after backward")
BUCKETS = "fill buckets in reverse order of the parameters (the order gradients become ready)"


CASES = {
    "test_bus_bandwidth": [
        Case("bus_bandwidth", 1e9, 0.5, 4).close(rtol=1e-12),
        Case("bus_bandwidth", 3 * 2 ** 20, 0.01, 8).close(rtol=1e-12),
        Case("bus_bandwidth", 100, 2, 2).close(rtol=1e-12),
        Case("bus_bandwidth", 1e6, 1.0, 1).close(rtol=1e-12),
    ],
    "test_broadcast_parameters": [
        ranks("broadcast_job", {"broadcast": "broadcast_parameters"}, kind="tied", src=1,
              hint="broadcast every parameter (frozen ones too) and every buffer, from src")
        .close(**TOL),
        ranks("broadcast_job", {"broadcast": "broadcast_parameters"}, kind="lm", src=0)
        .close(**TOL),
    ],
    "test_average_gradients": [
        ranks("train_job", {"sync": "average_gradients"}, kind="tied", steps=2, seed=3,
              same_init=True, hint="average each parameter's .grad over the ranks").close(**TOL),
        ranks("train_job", {"sync": "average_gradients"}, kind="lm", steps=2, seed=4,
              optimizer="adamw", same_init=True).close(**TOL),
    ],
    "test_average_gradients_flat": [
        ranks("train_job", {"sync": "average_gradients_flat"}, kind="tied", steps=2, seed=5,
              same_init=True).close(**TOL),
        ranks("train_job", {"sync": "average_gradients_flat"}, kind="lm", steps=2, seed=6,
              optimizer="adamw", same_init=True).close(**TOL),
    ],
    "test_DDP": [
        ranks("train_job", {"wrapper": "DDP"}, kind="tied", steps=2, seed=7,
              optimizer="adamw", hint="start from rank 0's parameters; average, not sum"
              ).close(**TOL),
        ranks("train_job", {"wrapper": "DDP"}, kind="lm", steps=2, seed=8).close(**TOL),
        ranks("launches_job", {"wrapper": "DDP"}, kind="tied", seed=9, hint=OVERLAP),
    ],
    "test_assign_buckets": [
        Case("assign_buckets", [4, 4, 4], 8)
        .hint("close a bucket as soon as its size reaches the cap"),
        Case("assign_buckets", [3, 1, 4, 1, 5, 9, 2, 6], 7).hint(BUCKETS),
        Case("assign_buckets", [10, 20, 30], 15),
        Case("assign_buckets", [2, 2, 2, 2], 1e9),
        Case("assign_buckets", [6, 1, 1], 2).hint("keep the last, partial bucket"),
    ],
    "test_DDPBucketed": [
        ranks("train_job", {"wrapper": "DDPBucketed"}, kind="tied", steps=3, seed=10,
              wrapper_kwargs={"bucket_size_mb": 0.001}).close(**TOL),
        ranks("train_job", {"wrapper": "DDPBucketed"}, kind="lm", steps=2, seed=11,
              optimizer="adamw", wrapper_kwargs={"bucket_size_mb": 0.02}).close(**TOL),
        ranks("launches_job", {"wrapper": "DDPBucketed"}, kind="lm", seed=12,
              wrapper_kwargs={"bucket_size_mb": 0.01},
              hint=BUCKETS + "; reset them for every step"),
    ],
    "test_zero_memory_per_rank": [
        Case("zero_memory_per_rank", 1000, 4, 0).close(rtol=1e-12),
        Case("zero_memory_per_rank", 1000, 4, 1).close(rtol=1e-12)
        .hint("Adam keeps two moments per parameter"),
        Case("zero_memory_per_rank", 1000, 4, 2).close(rtol=1e-12)
        .hint("stage 2 shards the gradients too, not the parameters"),
        Case("zero_memory_per_rank", 12345, 8, 3).close(rtol=1e-12),
    ],
    "test_ShardedOptimizer": [
        ranks("train_job", {"sharded_cls": "ShardedOptimizer", "sync": "average_gradients"},
              kind="lm", steps=2, seed=13, optimizer="sharded", same_init=True,
              hint="each rank steps its own shard, then each parameter is broadcast from its "
              "owner").close(**TOL),
        ranks("optimizer_state_job", {"sharded_cls": "ShardedOptimizer"}, kind="tied",
              hint="each rank holds the state of its own shard only"),
    ],
}

MUTANTS = {
    "test_bus_bandwidth": [
        "def bus_bandwidth(b, s, p): return b / s",
        "def bus_bandwidth(b, s, p): return 2.0 * b / s",
        "def bus_bandwidth(b, s, p): return (p - 1) / p * b / s",
    ],
    "test_broadcast_parameters": [
        """
        def broadcast_parameters(module, src=0):
            for t in module.parameters():
                dist.broadcast(t.data, src=src)
        """,
        """
        def broadcast_parameters(module, src=0):
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t.data, src=0)
        """,
        """
        def broadcast_parameters(module, src=0):
            for t in list(module.parameters()) + list(module.buffers()):
                if t.requires_grad or t in list(module.buffers()):
                    dist.broadcast(t.data, src=src)
        """,
    ],
    "test_average_gradients": [
        """
        def average_gradients(module):
            for p in module.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
        """,
        """
        def average_gradients(module):   # averages the parameters, not the gradients
            for p in module.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.data)
                    p.data.div_(dist.get_world_size())
        """,
    ],
    "test_average_gradients_flat": [
        """
        def average_gradients_flat(module):
            grads = [p.grad for p in module.parameters() if p.grad is not None]
            flat = _flatten_dense_tensors(grads)
            dist.all_reduce(flat)
            flat.div_(dist.get_world_size())
        """,
        """
        def average_gradients_flat(module):
            grads = [p.grad for p in module.parameters() if p.grad is not None]
            flat = _flatten_dense_tensors(grads)
            dist.all_reduce(flat)
            for g, s in zip(grads, _unflatten_dense_tensors(flat, grads)):
                g.copy_(s)
        """,
    ],
    "test_DDP": [
        """
        class DDP(DDP):   # synchronizes after backward: right numbers, no overlap
            def __init__(self, module):
                nn.Module.__init__(self)
                self.module = module
                broadcast_parameters(module)

            def finish_gradient_synchronization(self):
                average_gradients(self.module)
        """,
        """
        class DDP(DDP):   # forgets to start from rank 0's parameters
            def __init__(self, module):
                nn.Module.__init__(self)
                self.module = module
                self.handles = []
                for p in module.parameters():
                    if p.requires_grad:
                        p.register_post_accumulate_grad_hook(
                            lambda q: self.handles.append(dist.all_reduce(
                                q.grad.div_(dist.get_world_size()), async_op=True)))
        """,
        """
        class DDP(DDP):   # sums instead of averaging
            def __init__(self, module):
                nn.Module.__init__(self)
                self.module = module
                self.handles = []
                broadcast_parameters(module)
                for p in module.parameters():
                    if p.requires_grad:
                        p.register_post_accumulate_grad_hook(
                            lambda q: self.handles.append(dist.all_reduce(q.grad, async_op=True)))
        """,
    ],
    "test_assign_buckets": [
        """
        _right = assign_buckets
        def assign_buckets(sizes, cap):   # forward order
            n = len(sizes)
            return [[n - 1 - i for i in b] for b in _right(sizes[::-1], cap)]
        """,
        """
        def assign_buckets(sizes, cap):   # closes a bucket only past the cap
            buckets, cur, size = [], [], 0
            for i in reversed(range(len(sizes))):
                if cur and size + sizes[i] > cap:
                    buckets.append(cur)
                    cur, size = [], 0
                cur.append(i)
                size += sizes[i]
            return buckets + ([cur] if cur else [])
        """,
        """
        _right = assign_buckets
        def assign_buckets(sizes, cap):   # drops the last, partial bucket
            out = _right(sizes, cap)
            return out[:-1] if sum(map(len, out)) and sum(sizes[i] for i in out[-1]) < cap else out
        """,
    ],
    "test_DDPBucketed": [
        """
        class DDPBucketed(DDPBucketed):   # buckets built in forward order
            def __init__(self, module, bucket_size_mb):
                super().__init__(module, bucket_size_mb)
                params = [p for p in module.parameters() if p.requires_grad]
                sizes = [p.numel() * p.element_size() for p in params][::-1]
                n = len(params)
                forward = [[n - 1 - i for i in b]
                           for b in assign_buckets(sizes, bucket_size_mb * 2 ** 20)]
                self.buckets = [[params[i] for i in b] for b in forward]
                self.bucket_of = {id(p): b for b, ps in enumerate(self.buckets) for p in ps}
                self.on_train_batch_start()
        """,
        """
        class DDPBucketed(DDPBucketed):   # never resets: the second step synchronizes nothing
            def __init__(self, module, bucket_size_mb):
                self._started = False
                super().__init__(module, bucket_size_mb)
                self._started = True

            def on_train_batch_start(self):
                if not self._started:
                    super().on_train_batch_start()
        """,
    ],
    "test_zero_memory_per_rank": [
        """
        _right = zero_memory_per_rank
        def zero_memory_per_rank(n, p, stage):   # stage 2 shards the parameters too
            return _right(n, p, 3 if stage == 2 else stage)
        """,
        """
        _right = zero_memory_per_rank
        def zero_memory_per_rank(n, p, stage):   # Adam's state counted as one moment
            out = _right(n, p, stage)
            return {**out, "optimizer": out["optimizer"] / 2}
        """,
    ],
    "test_ShardedOptimizer": [
        """
        class ShardedOptimizer(ShardedOptimizer):   # steps its share, never broadcasts
            @torch.no_grad()
            def step(self, closure=None):
                return self.local_optimizer.step(closure)
        """,
        """
        class ShardedOptimizer(ShardedOptimizer):   # every rank steps everything
            def add_param_group(self, param_group):
                torch.optim.Optimizer.add_param_group(self, param_group)
                group = self.param_groups[-1]
                local = dict(group)
                self.owners += [(p, 0) for p in group["params"]]
                if self.local_optimizer is None:
                    self.local_optimizer = self.optimizer_cls([local], **self.kwargs)
                else:
                    self.local_optimizer.add_param_group(local)
        """,
        """
        class ShardedOptimizer(ShardedOptimizer):   # broadcasts from rank 0, not the owner
            @torch.no_grad()
            def step(self, closure=None):
                loss = self.local_optimizer.step(closure)
                for p, owner in self.owners:
                    dist.broadcast(p.data, src=0)
                return loss
        """,
    ],
}
