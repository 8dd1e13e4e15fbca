import asyncio, tracemalloc, sys, gc
import bench.soak as soak
orig_rss = soak._rss
snaps = []
def rss():
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0]
    snap = tracemalloc.take_snapshot() if not snaps else None
    snaps.append((traced, snap))
    print("sample", len(snaps), traced/2**20, flush=True)
    return orig_rss()
soak._rss = rss
tracemalloc.start(1)
s = soak.Soak(devices=1000, seconds=300, fault_share=0.03, seed=1)
r = asyncio.run(s.run())
gc.collect()
last = tracemalloc.take_snapshot()
for stat in last.compare_to(snaps[0][1], "lineno")[:12]:
    print(stat)
