"""One chunked numpy.sum pass over the float32 bytes of the given files (the baseline)."""

import sys

import numpy as np

buf = np.empty(1 << 20, np.float32)  # 4 MiB, reused
total = 0.0
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        while True:
            n = f.readinto(memoryview(buf).cast("B"))
            if not n:
                break
            total += float(np.sum(buf[: n // 4]))
print(total)
