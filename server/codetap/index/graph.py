"""The file graph of the repo map as arrays (numpy): links, PageRank, and rank flow.

:mod:`codetap.index.rank` describes the links as reference groups: per (name, kind of
reference), the files that may define the name (``targets``), a name weight, and the
referencing files with their counts. Every referencing file links to every target but
itself, with weight ``name weight * sqrt(count)``. At 8.5k files that is ~760k links:
kept as parallel arrays (one entry per group member, links expanded once), the power
iteration is a few vector operations per step instead of a Python loop per link.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FileGraph:
    """Links between ``size`` files (indices), from reference groups.

    ``user_group``/``user_src``/``user_weight``: one entry per (group, referencing file),
    its link weight; ``target_group``/``target_dst``: one entry per (group, target file),
    groups contiguous in both; ``src``/``dst``/``share``: the links with their share of
    the source's out-weight (duplicates not merged); ``out``: each file's out-weight (0
    for files without links).
    """

    size: int
    user_group: Ints
    user_src: Ints
    user_weight: Floats
    target_group: Ints
    target_dst: Ints
    src: Ints
    dst: Ints
    share: Floats
    out: Floats

    @classmethod
    def build(
        cls,
        size: int,
        groups: Sequence[tuple[Sequence[int], float, Sequence[int], Sequence[int]]],
    ) -> FileGraph:
        """``groups``: per group (target file indices, name weight > 0, referencing file
        indices, their reference counts >= 1); indices below ``size``. A link weighs
        ``name weight * sqrt(count)``."""
        u_group, u_src, u_count = array("q"), array("q"), array("d")
        t_group, t_dst = array("q"), array("q")
        weights = array("d")
        for g, (targets, name_weight, srcs, counts) in enumerate(groups):
            t_dst.extend(targets)
            t_group.extend([g] * len(targets))
            u_src.extend(srcs)
            u_count.extend(counts)
            u_group.extend([g] * len(srcs))
            weights.append(name_weight)
        ug = np.frombuffer(u_group, dtype=np.int64)
        us = np.frombuffer(u_src, dtype=np.int64)
        uw = np.frombuffer(weights, dtype=np.float64)[ug] \
            * np.sqrt(np.frombuffer(u_count, dtype=np.float64))
        tg = np.frombuffer(t_group, dtype=np.int64)
        td = np.frombuffer(t_dst, dtype=np.int64)
        per_group: Ints = np.bincount(tg, minlength=len(groups)).astype(np.int64)
        start = np.cumsum(per_group) - per_group
        # Expand each user entry into one link per target of its group.
        repeat = per_group[ug]
        first = np.cumsum(repeat) - repeat
        offset = np.arange(int(repeat.sum()), dtype=np.int64) - np.repeat(first, repeat)
        dst = td[np.repeat(start[ug], repeat) + offset]
        src = np.repeat(us, repeat)
        weight = np.repeat(uw, repeat)
        keep = dst != src
        src, dst, weight = src[keep], dst[keep], weight[keep]
        out: Floats = np.bincount(src, weights=weight, minlength=size).astype(np.float64)
        share = weight / out[src]
        return cls(size, ug, us, uw, tg, td, src, dst, share, out)

    def pagerank(self, teleport: Floats, damping: float, iterations: int,
                 tolerance: float) -> Floats:
        """Personalized PageRank by power iteration (Page et al. 1998; Haveliwala 2002):
        ``teleport`` (sums to 1) is also where dangling files' rank goes. Stops after
        ``iterations`` or once a step moves less than ``tolerance`` per file (L1)."""
        size = self.size
        dangling = self.out == 0
        rank = np.full(size, 1.0 / size)
        for _ in range(iterations):
            base = 1.0 - damping + damping * float(rank[dangling].sum())
            moved = np.bincount(self.dst, weights=self.share * rank[self.src], minlength=size)
            new = base * teleport + damping * moved
            delta = float(np.abs(new - rank).sum())
            rank = new
            if delta < tolerance * size:
                break
        return rank

    def flow(self, rank: Floats) -> tuple[Ints, Ints, Floats]:
        """Each file's rank flowing along its links, per (group, target): arrays of the
        group, the target file and the rank reaching it from the group's other users
        (files without links give nothing)."""
        has_out = self.out[self.user_src] > 0
        term = np.zeros(len(self.user_src))
        term[has_out] = (rank[self.user_src[has_out]] * self.user_weight[has_out]
                         / self.out[self.user_src[has_out]])
        everyone: Floats = np.bincount(
            self.user_group, weights=term, minlength=int(self.target_group.max(initial=-1)) + 1,
        ).astype(np.float64)
        value = everyone[self.target_group]
        # A target that also references the name gets nothing from itself.
        keys = self.user_group * self.size + self.user_src
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        wanted = self.target_group * self.size + self.target_dst
        at = np.searchsorted(sorted_keys, wanted)
        at_ok = np.minimum(at, max(len(sorted_keys) - 1, 0))
        if len(sorted_keys):
            found = sorted_keys[at_ok] == wanted
            value = value.copy()
            value[found] -= term[order[at_ok[found]]]
        return self.target_group, self.target_dst, value
