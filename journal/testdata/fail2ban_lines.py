"""Reference oracle for the journal package tests.

Reads a journal directory with python-systemd exactly as fail2ban's systemd
backend opens it, applies a journalmatch through fail2ban's own
FilterSystemd.addJournalMatch, formats every entry with fail2ban's own
FilterSystemd.formatJournalEntry, and prints one JSON object per entry:
{"cursor": ..., "line": ..., "time": seconds since the epoch}.

usage: fail2ban_lines.py JOURNAL_DIR [JOURNALMATCH]
"""
import json
import shlex
import sys

from systemd import journal
from fail2ban.server.filtersystemd import FilterSystemd


class Stub(FilterSystemd):
    """A FilterSystemd built without a jail: just what the methods use."""
    jailName = "test"

    def __init__(self, reader):  # pylint: disable=super-init-not-called
        self._FilterSystemd__journal = reader
        self._FilterSystemd__matches = []

    def getLogEncoding(self):
        return "UTF-8"


def main():
    args = FilterSystemd._getJournalArgs({"journalpath": sys.argv[1]})
    reader = journal.Reader(**args)
    stub = Stub(reader)
    if len(sys.argv) > 2:
        # As fail2ban's filter reader does: one addjournalmatch per line.
        for line in sys.argv[2].split("\n"):
            if line:
                stub.addJournalMatch(shlex.split(line))
    reader.seek_head()
    for entry in reader:
        (_, _, line), tm = stub.formatJournalEntry(entry)
        print(json.dumps({"cursor": entry["__CURSOR"], "line": line, "time": tm}))


main()
