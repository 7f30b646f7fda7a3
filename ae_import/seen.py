"""The table of external_ids already seen in a manifest, and the line of each.

Pure, and low in the stack: the row source flags a repeated id with the line where it
first appeared, in flat memory whatever the size of the manifest.
"""

from __future__ import annotations

from array import array

__all__ = ["SeenIds"]


class SeenIds:
    """Remember which external_ids were seen, and on which line, in about 17 bytes each.

    Laid out like CPython's compact dict: a sparse int32 index into a dense array of
    64-bit string hashes. Line numbers rise through the file, so they are kept as
    one-byte steps from a full line number stored every 256 ids (a larger step goes
    to a side table). A million ids cost about 17 MB instead of the 150 MB a dict of
    strings would. Two different ids share a 64-bit hash with odds of about 1 in 10^7
    per million rows; such a pair would be reported as a duplicate.
    """

    __slots__ = ("_big", "_hashes", "_index", "_last", "_marks", "_mask", "_steps")

    _EVERY = 256

    def __init__(self, capacity: int = 1024) -> None:
        """Start with room for about ``capacity`` ids; the table grows as needed."""
        size = 8
        while size * 2 < capacity * 3:
            size *= 2
        self._index = array("i", [0]) * size
        self._mask = size - 1
        self._hashes = array("q")
        self._marks = array("I")  # the line of every _EVERY-th id
        self._steps = bytearray()  # each id's line minus the previous id's (255: see _big)
        self._big: dict[int, int] = {}
        self._last = 0

    def __len__(self) -> int:
        """Return how many distinct ids were added."""
        return len(self._hashes)

    def _line_of(self, entry: int) -> int:
        """Return the line recorded for the id at dense position ``entry``."""
        base = entry - entry % self._EVERY
        line = int(self._marks[base // self._EVERY])
        steps, big = self._steps, self._big
        for at in range(base + 1, entry + 1):
            step = steps[at]
            line += big[at] if step == 255 else step
        return line

    def add(self, external_id: str, line: int) -> int | None:
        """Record ``external_id`` at ``line``; return the line of an earlier one, else None."""
        h = hash(external_id)
        mask = self._mask
        index = self._index
        hashes = self._hashes
        slot = h & mask
        while True:
            entry = index[slot]
            if entry == 0:
                break
            if hashes[entry - 1] == h:
                return self._line_of(entry - 1)
            slot = (slot + 1) & mask
        position = len(hashes)
        hashes.append(h)
        if position % self._EVERY == 0:
            self._marks.append(line)
            self._steps.append(0)
        else:
            step = line - self._last
            if 0 <= step < 255:
                self._steps.append(step)
            else:
                self._steps.append(255)
                self._big[position] = step
        self._last = line
        index[slot] = position + 1
        if len(hashes) * 3 > len(index) * 2:
            self._grow()
        return None

    def _grow(self) -> None:
        size = len(self._index) * 2
        self._index = array("i")  # let go of the old index before the new one is made
        index = array("i", [0]) * size
        mask = size - 1
        for entry, h in enumerate(self._hashes, start=1):
            slot = h & mask
            while index[slot]:
                slot = (slot + 1) & mask
            index[slot] = entry
        self._index = index
        self._mask = mask
