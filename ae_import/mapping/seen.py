"""The table of external_ids already seen in a manifest, and the line (and row) of each.

Pure, and low in the stack: the row source flags a repeated id with the line where it
first appeared, and its spreadsheet row where that differs, in flat memory whatever the
size of the manifest.
"""

from __future__ import annotations

from array import array

__all__ = ["SeenIds"]


class _Rising:
    """A list of numbers that mostly rise by little, in about one byte each.

    Kept as one-byte steps from a full number stored every 256 entries; a step that is
    negative or over 254 goes to a side table.
    """

    __slots__ = ("_big", "_last", "_marks", "_steps")

    _EVERY = 256

    def __init__(self, zeros: int = 0) -> None:
        """Start with ``zeros`` entries that are all 0."""
        self._marks = array("q", [0]) * -(-zeros // self._EVERY)  # every _EVERY-th number
        self._steps = bytearray(zeros)  # each number minus the previous one (255: see _big)
        self._big: dict[int, int] = {}
        self._last = 0

    def append(self, number: int) -> None:
        """Add ``number`` at the end."""
        position = len(self._steps)
        if position % self._EVERY == 0:
            self._marks.append(number)
            self._steps.append(0)
        else:
            step = number - self._last
            if 0 <= step < 255:
                self._steps.append(step)
            else:
                self._steps.append(255)
                self._big[position] = step
        self._last = number

    def __getitem__(self, entry: int) -> int:
        """Return the number at position ``entry``."""
        base = entry - entry % self._EVERY
        number = int(self._marks[base // self._EVERY])
        steps, big = self._steps, self._big
        for at in range(base + 1, entry + 1):
            step = steps[at]
            number += big[at] if step == 255 else step
        return number


class SeenIds:
    """Remember which external_ids were seen, and on which line and row, in about 17 bytes each.

    Laid out like CPython's compact dict: a sparse int32 index into a dense array of
    64-bit string hashes. Line numbers rise through the file, and so does the gap
    between a line and its spreadsheet row, so both are kept as one-byte steps
    (``_Rising``); the gaps only from the first id whose row is not its line. A million
    ids cost about 17 MB (18 with gaps) instead of the 150 MB a dict of strings would.
    Two different ids share a 64-bit hash with odds of about 1 in 10^7 per million
    rows; such a pair would be reported as a duplicate.
    """

    __slots__ = ("_gaps", "_hashes", "_index", "_lines", "_mask")

    def __init__(self, capacity: int = 1024) -> None:
        """Start with room for about ``capacity`` ids; the table grows as needed."""
        size = 8
        while size * 2 < capacity * 3:
            size *= 2
        self._index = array("i", [0]) * size
        self._mask = size - 1
        self._hashes = array("q")
        self._lines = _Rising()
        self._gaps: _Rising | None = None  # each id's line minus its row, once one differs

    def __len__(self) -> int:
        """Return how many distinct ids were added."""
        return len(self._hashes)

    def _find(self, h: int) -> tuple[int, int]:
        """Return (dense position + 1 or 0 when absent, index slot) of hash ``h``."""
        mask = self._mask
        index = self._index
        hashes = self._hashes
        slot = h & mask
        while True:
            entry = index[slot]
            if entry == 0 or hashes[entry - 1] == h:
                return entry, slot
            slot = (slot + 1) & mask

    def add(self, external_id: str, line: int, row: int | None = None) -> int | None:
        """Record ``external_id`` at ``line`` (and spreadsheet ``row``, if it differs).

        Return the line of an earlier one, else None.
        """
        h = hash(external_id)
        mask = self._mask
        index = self._index
        hashes = self._hashes
        slot = h & mask
        while True:  # _find, inlined: this runs once a row
            entry = index[slot]
            if entry == 0:
                break
            if hashes[entry - 1] == h:
                return self._lines[entry - 1]
            slot = (slot + 1) & mask
        position = len(hashes)
        hashes.append(h)
        self._lines.append(line)
        gap = 0 if row is None else line - row
        if gap or self._gaps is not None:
            if self._gaps is None:
                self._gaps = _Rising(zeros=position)
            self._gaps.append(gap)
        index[slot] = position + 1
        if len(hashes) * 3 > len(index) * 2:
            self._grow()
        return None

    def first_row(self, external_id: str) -> int | None:
        """Return the spreadsheet row where ``external_id`` was first seen, if not its line."""
        entry, _slot = self._find(hash(external_id))
        if not entry or self._gaps is None:
            return None
        gap = self._gaps[entry - 1]
        return self._lines[entry - 1] - gap if gap else None

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
